package dev.memmgr;

import static dev.memmgr.Fixture.assertContent;
import static dev.memmgr.Fixture.inOtherThread;
import static dev.memmgr.Fixture.writePattern;
import static dev.memmgr.GpuVmTestSupport.pg;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * External and VM-local objects, and {@code lockAll} (DESIGN.md 4.1, 4.3; drm_gpuvm_exec_lock):
 * objects of {@link GpuVm#createLocal} share the VM's reservation and are never external, and stay
 * usable after the VM closes; objects of the client are external; {@code lockAll} locks the VM's
 * reservation, then every external object, then the extra ones, holding them against other
 * threads until closed.
 */
@ExtendWith(MemmgrExtension.class)
class GpuVmLockingTest {
    private MemoryManager mm;
    private Client client;
    private GpuVm vm;

    @BeforeEach
    void setUp(Fixture f) {
        mm = f.manager();
        client = f.client(mm, "lock");
        vm = client.createVm("lock", pg(16), pg(256));
    }

    /** @return whether another thread can take {@code r} now (it gives it back at once) */
    private static boolean freeForOthers(Reservation r) {
        return inOtherThread(() -> {
            boolean got = r.tryLock();
            if (got) {
                r.unlock();
            }
            return got;
        });
    }

    @Test
    void localObjectsShareTheVmsReservationAndAreNeverExternal() {
        BufferObject local = vm.createLocal(pg(3) - 100);
        assertEquals(pg(3), local.size(), "rounded up to pages");
        assertEquals(1, local.refCount());
        assertEquals(client, local.owner(), "an object of the VM's client");
        BufferObject same = client.lookup(local.handle());
        assertTrue(same == local, "with a handle there");
        same.release();
        assertEquals(vm.resv(), local.resv(), "its reservation IS the VM's");
        assertEquals(vm.resv().hashCode(), local.resv().hashCode());

        BufferObject ext = client.create(pg(3));
        assertNotEquals(vm.resv(), ext.resv());
        vm.map(pg(16), pg(3), local, 0);
        vm.map(pg(20), pg(3), ext, 0);
        assertFalse(vm.vmBo(local).orElseThrow().external());
        assertTrue(vm.vmBo(ext).orElseThrow().external());
        assertEquals(List.of(vm.vmBo(ext).orElseThrow()), vm.externalObjects(), "only the client's object");
        assertEquals(2, local.refCount(), "a local object's link holds a reference too");

        // the same local object mapped in another VM is external there: its reservation is not that VM's
        GpuVm other = client.createVm("other", 0, pg(16));
        other.map(0, pg(3), local, 0);
        assertTrue(other.vmBo(local).orElseThrow().external());
        assertEquals(List.of(other.vmBo(local).orElseThrow()), other.externalObjects());
    }

    @Test
    void localObjectsStayUsableAfterVmClose() {
        BufferObject local = vm.createLocal(pg(2));
        byte[] content = writePattern(local, 5);
        vm.map(pg(16), pg(2), local, 0);
        Reservation r = vm.resv();
        vm.close();
        assertEquals(1, local.refCount());
        assertContent(content, local, "after VM close");
        assertEquals(r, local.resv(), "still the VM's reservation");
        assertEquals(r, vm.resv(), "resv() answers after close");
        local.resv().lock();
        assertTrue(vm.resv().isHeldByCurrentThread(), "one lock");
        local.write(0, Fixture.filled(16, (byte) 1)); // the holder's own write does not lock again
        local.resv().unlock();
        GpuVm other = client.createVm("other", 0, pg(16));
        other.map(0, pg(2), local, 0);
        assertThrows(IllegalStateException.class, () -> vm.createLocal(pg(1)), "no new local objects after close");
    }

    @Test
    void lockAllLocksTheVmThenEveryExternalObjectThenExtra(Fixture f) {
        BufferObject e1 = client.create(pg(1));
        BufferObject e2 = f.client(mm, "other").create(pg(1));
        BufferObject local = vm.createLocal(pg(1));
        BufferObject extra = client.create(pg(1));
        BufferObject unmapped = client.create(pg(1));
        vm.map(pg(20), pg(1), e2, 0); // linked first
        vm.map(pg(16), pg(1), local, 0);
        vm.map(pg(18), pg(1), e1, 0);
        List<Reservation> externals = new ArrayList<>();
        for (VmBo l : vm.externalObjects()) {
            externals.add(l.bo().resv());
        }
        assertEquals(2, externals.size());

        List<Reservation> expected = new ArrayList<>();
        expected.add(vm.resv());
        expected.addAll(externals);
        expected.add(extra.resv());
        try (Exec exec = vm.lockAll(extra, local, e1, extra)) {
            assertEquals(expected, exec.locked(), "VM first, then the external objects, then extra; no duplicates");
            for (Reservation r : expected) {
                assertTrue(r.isHeldByCurrentThread());
                assertFalse(freeForOthers(r), "held against other threads: " + r);
            }
            assertTrue(local.resv().isHeldByCurrentThread(), "a local object is locked with the VM");
            assertTrue(freeForOthers(unmapped.resv()), "an object neither mapped nor extra is not locked");
        }
        for (Reservation r : expected) {
            assertFalse(r.isHeldByCurrentThread());
            assertTrue(freeForOthers(r), "unlocked after close: " + r);
        }
    }

    @Test
    void lockAllOfAnEmptyVmLocksItsReservationOnly() {
        try (Exec exec = vm.lockAll()) {
            assertEquals(List.of(vm.resv()), exec.locked());
            assertFalse(freeForOthers(vm.resv()));
        }
        assertTrue(freeForOthers(vm.resv()));
    }

    @Test
    void lockAllWaitsForAnObjectHeldByAnotherThread() {
        BufferObject a = client.create(pg(1));
        vm.map(pg(16), pg(1), a, 0);
        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        var holder = Fixture.startInOtherThread(() -> {
            a.resv().lock();
            held.countDown();
            Fixture.await(release, "release");
            a.resv().unlock();
        });
        Fixture.await(held, "other thread holds the object");
        var locker = Fixture.startInOtherThread(() -> {
            try (Exec exec = vm.lockAll()) {
                return exec.locked();
            }
        });
        Fixture.assertStillBlocked(locker, "lockAll while another thread holds an external object");
        release.countDown();
        assertEquals(List.of(vm.resv(), a.resv()), Fixture.await(locker));
        Fixture.await(holder);
    }

    @Test
    void lockAllRefusesAReservationTheThreadHoldsPlainly() {
        BufferObject a = client.create(pg(1));
        vm.map(pg(16), pg(1), a, 0);
        a.resv().lock();
        try {
            assertThrows(IllegalStateException.class, vm::lockAll);
            assertTrue(freeForOthers(vm.resv()), "nothing stays locked after lockAll throws");
        } finally {
            a.resv().unlock();
        }
    }

    @Test
    void mapUnderLockAllUsesTheHeldReservation() {
        BufferObject a = client.create(pg(2));
        vm.map(pg(16), pg(1), a, 0);
        try (Exec exec = vm.lockAll()) {
            vm.map(pg(17), pg(1), a, pg(1)); // a's reservation is held by this thread: no second lock
            assertEquals(2, exec.locked().size());
        }
        assertEquals(2, vm.vmBo(a).orElseThrow().mappings().size());
    }
}
