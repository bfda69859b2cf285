package dev.memmgr;

import static dev.memmgr.Fixture.assertContent;
import static dev.memmgr.Fixture.writePattern;
import static dev.memmgr.GpuVmTestSupport.pg;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Eviction marks and validate (DESIGN.md 4.3, drm_gpuvm_validate): mappings do not pin; reclaim
 * of a mapped object marks its links evicted in every VM it is mapped in; {@code validate()}
 * needs the locks (checked before anything moves), swaps the objects in and empties the list,
 * leaves a purged one listed and throws PurgedException after the others; unmapping drops a link
 * from the list; an object mapped while evicted or purged starts evicted.
 */
@ExtendWith(MemmgrExtension.class)
class GpuVmEvictionTest {
    private MemoryManager mm;
    private Client client;
    private GpuVm vm;

    @BeforeEach
    void setUp(Fixture f) {
        mm = f.manager();
        client = f.client(mm, "evict");
        vm = client.createVm("evict", 0, pg(256));
    }

    private void reclaimAll() {
        mm.reclaim(mm.capacity());
    }

    private static Set<BufferObject> objectsOf(List<VmBo> links) {
        return Set.copyOf(links.stream().map(VmBo::bo).toList());
    }

    @Test
    void reclaimMarksTheLinksInEveryVmTheObjectIsMappedIn(Fixture f) {
        GpuVm second = f.client(mm, "second").createVm("second", pg(1 << 10), pg(64));
        BufferObject shared = client.create(pg(4));
        BufferObject mine = client.create(pg(4));
        BufferObject unmapped = client.create(pg(4));
        writePattern(shared, 1);
        writePattern(mine, 2);
        writePattern(unmapped, 3);
        vm.map(0, pg(4), shared, 0);
        vm.map(pg(8), pg(2), mine, 0);
        vm.map(pg(12), pg(2), mine, pg(2));
        second.map(pg(1 << 10), pg(4), shared, 0);
        assertEquals(0, shared.pinCount(), "mappings do not pin");
        assertEquals(List.of(), vm.evicted());

        reclaimAll();
        assertEquals(List.of(Residency.EVICTED, Residency.EVICTED, Residency.EVICTED),
                List.of(shared.residency(), mine.residency(), unmapped.residency()));
        assertEquals(Set.of(shared, mine), objectsOf(vm.evicted()), "each mapped object once, however many mappings");
        assertEquals(2, vm.evicted().size());
        assertEquals(Set.of(shared), objectsOf(second.evicted()));
        assertTrue(vm.vmBo(shared).orElseThrow().evicted());
        assertTrue(second.vmBo(shared).orElseThrow().evicted());
        assertTrue(vm.evicted().contains(vm.vmBo(mine).orElseThrow()));
    }

    @Test
    void validateWithoutTheLocksThrowsBeforeAnythingMoves() {
        BufferObject a = client.create(pg(4));
        BufferObject b = client.create(pg(4));
        writePattern(a, 1);
        writePattern(b, 2);
        vm.map(0, pg(4), a, 0);
        vm.map(pg(4), pg(4), b, 0);
        reclaimAll();
        List<VmBo> evicted = vm.evicted();
        long swapIns = mm.stats().swapIns();

        assertThrows(IllegalStateException.class, vm::validate, "no lock held");
        try (Exec _ = Exec.lockAll(e -> {
            e.lock(a);
            e.lock(b);
        })) {
            assertThrows(IllegalStateException.class, vm::validate, "objects held but not the VM");
        }
        try (Exec _ = Exec.lockAll(e -> {
            e.lock(vm.resv());
            e.lock(a);
        })) {
            assertThrows(IllegalStateException.class, vm::validate, "the VM and one of two evicted objects held");
        }
        assertEquals(List.of(Residency.EVICTED, Residency.EVICTED), List.of(a.residency(), b.residency()),
                "nothing swapped in: checked before anything moves");
        assertEquals(swapIns, mm.stats().swapIns());
        assertEquals(evicted, vm.evicted());
    }

    @Test
    void validateUnderLockAllSwapsInAndEmptiesTheList() {
        GpuVm second = client.createVm("second", pg(1 << 10), pg(64));
        BufferObject a = client.create(pg(4));
        BufferObject local = vm.createLocal(pg(2));
        byte[] ca = writePattern(a, 1);
        byte[] cl = writePattern(local, 2);
        vm.map(0, pg(4), a, 0);
        vm.map(pg(4), pg(2), local, 0);
        second.map(pg(1 << 10), pg(4), a, 0);
        reclaimAll();
        assertEquals(Set.of(a, local), objectsOf(vm.evicted()), "a local object is marked too");
        long swapIns = mm.stats().swapIns();

        try (Exec _ = vm.lockAll()) {
            vm.validate();
        }
        assertEquals(List.of(), vm.evicted());
        assertFalse(vm.vmBo(a).orElseThrow().evicted());
        assertEquals(List.of(Residency.RESIDENT, Residency.RESIDENT), List.of(a.residency(), local.residency()));
        assertEquals(swapIns + 2, mm.stats().swapIns());
        assertContent(ca, a, "content back");
        assertContent(cl, local, "content back");

        assertEquals(Set.of(a), objectsOf(second.evicted()), "listed in the other VM until that VM validates");
        try (Exec _ = second.lockAll()) {
            second.validate();
        }
        assertEquals(List.of(), second.evicted());
        assertEquals(swapIns + 2, mm.stats().swapIns(), "resident already: nothing to swap in");
    }

    @Test
    void aPurgedObjectThrowsAfterTheOthersAreSwappedInAndStaysListed() {
        BufferObject gone = client.create(pg(4));
        BufferObject kept = client.create(pg(4));
        writePattern(gone, 1);
        byte[] ck = writePattern(kept, 2);
        vm.map(0, pg(4), gone, 0);   // linked first: validate meets it first
        vm.map(pg(4), pg(4), kept, 0);
        assertTrue(gone.madvise(Madvise.DONTNEED));
        reclaimAll();
        assertEquals(Residency.PURGED, gone.residency());
        assertEquals(Residency.EVICTED, kept.residency());
        assertEquals(Set.of(gone, kept), objectsOf(vm.evicted()), "a purge marks the link too");

        try (Exec _ = vm.lockAll()) {
            assertThrows(PurgedException.class, vm::validate);
        }
        assertEquals(Residency.RESIDENT, kept.residency(), "the other one swapped in");
        assertContent(ck, kept, "its content");
        assertEquals(List.of(vm.vmBo(gone).orElseThrow()), vm.evicted(), "the purged one stays listed");
        try (Exec _ = vm.lockAll()) {
            assertThrows(PurgedException.class, vm::validate, "and throws again");
        }
        vm.unmap(0, pg(4));
        assertEquals(List.of(), vm.evicted(), "unmapping drops it from the list");
        try (Exec _ = vm.lockAll()) {
            vm.validate();
        }
    }

    @Test
    void withNothingEvictedValidateDoesNothing() {
        BufferObject a = client.create(pg(4));
        BufferObject b = client.create(pg(4));
        writePattern(a, 1);
        vm.map(0, pg(4), a, 0);
        vm.map(pg(4), pg(4), b, 0);
        MemoryStats before = mm.stats();
        try (Exec _ = vm.lockAll()) {
            vm.validate();
        }
        assertEquals(before, mm.stats());
        assertEquals(List.of(Residency.RESIDENT, Residency.UNPOPULATED), List.of(a.residency(), b.residency()),
                "an unpopulated object is not populated");
    }

    @Test
    void unmappingAnEvictedObjectRemovesItFromTheList() {
        BufferObject a = client.create(pg(4));
        BufferObject b = client.create(pg(4));
        writePattern(a, 1);
        writePattern(b, 2);
        vm.map(0, pg(2), a, 0);
        vm.map(pg(2), pg(2), a, pg(2));
        vm.map(pg(4), pg(4), b, 0);
        reclaimAll();
        vm.unmap(0, pg(2));
        assertEquals(Set.of(a, b), objectsOf(vm.evicted()), "a mapping left: still listed");
        vm.unmap(pg(2), pg(2));
        assertEquals(List.of(vm.vmBo(b).orElseThrow()), vm.evicted());
        vm.map(0, pg(2), a, 0);
        assertTrue(vm.vmBo(a).orElseThrow().evicted(), "mapped again while evicted: starts evicted");
        assertEquals(Set.of(a, b), objectsOf(vm.evicted()));
    }

    @Test
    void anObjectMappedWhileEvictedOrPurgedStartsEvicted() {
        BufferObject evicted = client.create(pg(2));
        BufferObject purged = client.create(pg(2));
        BufferObject resident = client.create(pg(2));
        BufferObject unpopulated = client.create(pg(2));
        byte[] ce = writePattern(evicted, 1);
        writePattern(purged, 2);
        assertTrue(purged.madvise(Madvise.DONTNEED));
        reclaimAll();
        writePattern(resident, 3);
        assertEquals(List.of(Residency.EVICTED, Residency.PURGED, Residency.RESIDENT, Residency.UNPOPULATED),
                List.of(evicted.residency(), purged.residency(), resident.residency(), unpopulated.residency()));

        vm.map(0, pg(2), evicted, 0);
        vm.map(pg(2), pg(2), purged, 0);
        vm.map(pg(4), pg(2), resident, 0);
        vm.map(pg(6), pg(2), unpopulated, 0);
        assertEquals(List.of(true, true, false, false), List.of(vm.vmBo(evicted).orElseThrow().evicted(),
                vm.vmBo(purged).orElseThrow().evicted(), vm.vmBo(resident).orElseThrow().evicted(),
                vm.vmBo(unpopulated).orElseThrow().evicted()));
        assertEquals(Set.of(evicted, purged), objectsOf(vm.evicted()));
        assertEquals(Residency.EVICTED, evicted.residency(), "mapping does not swap in");

        try (Exec _ = vm.lockAll()) {
            assertThrows(PurgedException.class, vm::validate);
        }
        assertContent(ce, evicted, "swapped in by validate");
        assertEquals(Set.of(purged), objectsOf(vm.evicted()));
    }

    @Test
    void aSwapInByOtherMeansKeepsTheLinkListedUntilValidate() {
        BufferObject a = client.create(pg(4));
        byte[] ca = writePattern(a, 1);
        vm.map(0, pg(4), a, 0);
        reclaimAll();
        byte[] through = new byte[(int) pg(4)];
        vm.read(0, MemorySegment.ofArray(through)); // swaps in
        Fixture.assertBytes(ca, through, "read through the VM swaps in");
        assertEquals(Residency.RESIDENT, a.residency());
        assertEquals(List.of(vm.vmBo(a).orElseThrow()), vm.evicted(), "listed until this VM's validate");
        long swapIns = mm.stats().swapIns();
        try (Exec _ = vm.lockAll()) {
            vm.validate();
        }
        assertEquals(List.of(), vm.evicted());
        assertEquals(swapIns, mm.stats().swapIns());
    }

    @Test
    void validateNeedsOnlyTheEvictedObjectsLocks() {
        BufferObject a = client.create(pg(4));
        BufferObject b = client.create(pg(4));
        writePattern(a, 1);
        vm.map(0, pg(4), a, 0);
        reclaimAll();
        writePattern(b, 2);
        vm.map(pg(4), pg(4), b, 0);
        try (Exec _ = Exec.lockAll(e -> {
            e.lock(vm.resv());
            e.lock(a);
        })) {
            vm.validate(); // b is not evicted: its lock is not needed
        }
        assertEquals(List.of(), vm.evicted());
        assertEquals(Residency.RESIDENT, a.residency());
    }

    @Test
    void aFencedObjectIsNotEvictedAndNotMarked() {
        BufferObject a = client.create(pg(4));
        writePattern(a, 1);
        vm.map(0, pg(4), a, 0);
        Fence busy = new Fence();
        a.resv().addFence(busy, FenceUsage.WRITE);
        reclaimAll();
        assertEquals(Residency.RESIDENT, a.residency());
        assertEquals(List.of(), vm.evicted());
        busy.signal();
        reclaimAll();
        assertEquals(List.of(vm.vmBo(a).orElseThrow()), vm.evicted());
    }
}
