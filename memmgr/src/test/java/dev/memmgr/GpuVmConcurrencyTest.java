package dev.memmgr;

import static dev.memmgr.Fixture.MiB;
import static dev.memmgr.Fixture.await;
import static dev.memmgr.Fixture.writePattern;
import static dev.memmgr.GpuVmTestSupport.PAGE;
import static dev.memmgr.GpuVmTestSupport.pg;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * GPU VMs under concurrency (DESIGN.md 4.3 "every method is thread-safe", 4.1): map and unmap
 * racing reclaim of the mapped objects (background and direct), with content checked through the
 * VM; {@code lockAll} from several threads on overlapping sets of external objects in different
 * orders; VM close racing handle close, unmaps, maps and reads; validate racing the unmap that
 * frees an evicted object. Threads start together ({@link Workers}), waits are bounded, nothing
 * sleeps for synchronisation. Random choices come from seeds printed in every failure message;
 * {@code -Dmemmgr.seed=N} replaces the base seed (the interleaving itself cannot be replayed).
 */
@ExtendWith(MemmgrExtension.class)
class GpuVmConcurrencyTest {
    private static final long SEED = Long.getLong(ModelRunner.SEED, 0x5EED_0001L);

    private static byte[] slice(byte[] a, long from, long length) {
        return Arrays.copyOfRange(a, (int) from, (int) (from + length));
    }

    private static byte[] readVm(GpuVm vm, long va, long length) {
        byte[] out = new byte[(int) length];
        vm.read(va, MemorySegment.ofArray(out));
        return out;
    }

    /** Reads every mapping of the VM and compares it with the object's content. */
    private static void assertMappingsShow(GpuVm vm, Map<BufferObject, byte[]> content, String when) {
        for (GpuVa m : vm.mappings()) {
            Fixture.assertBytes(slice(content.get(m.bo()), m.offset(), m.range()), readVm(vm, m.va(), m.range()),
                    when + ": " + m);
        }
    }

    @Test
    void mapAndUnmapRacingReclaimOfTheMappedObjects(Fixture f) {
        MemoryManager mm = f.build(MemoryManager.builder().capacity(2 * MiB).pageSize(PAGE).watermarks(0.3, 0.5));
        Client c = f.client(mm, "race");
        GpuVm vm = c.createVm("race", 0, pg(1024));
        int objectPages = 48;
        List<BufferObject> objs = new ArrayList<>();
        Map<BufferObject, byte[]> content = new HashMap<>();
        for (int i = 0; i < 6; i++) {
            BufferObject bo = c.create(pg(objectPages));
            content.put(bo, writePattern(bo, 100 + i));
            objs.add(bo);
        }
        BufferObject scratch = c.create(pg(192));
        BufferObject fixed = objs.get(0);
        vm.map(0, pg(objectPages), fixed, 0); // region 1: never changes, read by the reader
        long region2 = pg(256);                // region 2: [256, 320) pages, changed by the mapper only
        String seeds = " (seed " + SEED + ")";

        Workers w = f.workers();
        w.add("mapper", () -> {
            SplittableRandom rnd = new SplittableRandom(SEED);
            for (int i = 0; i < 300; i++) {
                BufferObject bo = objs.get(1 + rnd.nextInt(5));
                int range = 1 + rnd.nextInt(16);
                long va = region2 + pg(rnd.nextInt(64 - range + 1));
                long off = pg(rnd.nextInt(objectPages - range + 1));
                List<VaOp> ops = vm.map(va, pg(range), bo, off);
                assertEquals(new VaOp.Map(new GpuVa(va, pg(range), bo, off)), ops.get(ops.size() - 1), "map" + seeds);
                assertEquals(Optional.of(new GpuVa(va, pg(range), bo, off)), vm.find(va), "find" + seeds);
                Fixture.assertBytes(slice(content.get(bo), off, pg(range)), readVm(vm, va, pg(range)),
                        "read back through the VM at step " + i + seeds);
                if (i % 3 == 0) {
                    int r = 1 + rnd.nextInt(16);
                    vm.unmap(region2 + pg(rnd.nextInt(64 - r + 1)), pg(r));
                }
            }
        });
        w.add("reader", () -> {
            SplittableRandom rnd = new SplittableRandom(SEED + 1);
            byte[] fc = content.get(fixed);
            for (int i = 0; i < 300; i++) {
                long from = rnd.nextLong(pg(objectPages) - 1);
                long length = 1 + rnd.nextLong(Math.min(pg(8), pg(objectPages) - from));
                Fixture.assertBytes(slice(fc, from, length), readVm(vm, from, length), "region 1 at " + from + seeds);
            }
        });
        w.add("pressure", () -> {
            for (int i = 0; i < 60; i++) {
                Fixture.fill(scratch, (byte) (i + 1));
                if (i % 10 == 9) {
                    mm.reclaim(pg(128));
                }
            }
        });
        w.start().join();
        assertTrue(mm.stats().evictions() > 0, "the race had reclaim evict objects");

        // holding every lock, nothing can be evicted: the marks must cover every evicted mapped object
        try (Exec exec = vm.lockAll()) {
            assertEquals(vm.externalObjects().size() + 1, exec.locked().size());
            Set<VmBo> evicted = Set.copyOf(vm.evicted());
            for (VmBo l : vm.externalObjects()) {
                if (l.bo().residency() == Residency.EVICTED) {
                    assertTrue(evicted.contains(l), "an evicted mapped object is listed: " + l + seeds);
                }
            }
            vm.validate();
            assertEquals(List.of(), vm.evicted());
            for (VmBo l : vm.externalObjects()) {
                assertEquals(Residency.RESIDENT, l.bo().residency(), l + " after validate");
            }
            assertMappingsShow(vm, content, "after the race, under lockAll");
        }
        for (BufferObject bo : objs) {
            assertEquals(vm.vmBo(bo).isPresent() ? 2 : 1, bo.refCount(), "one reference per link: " + bo);
        }

        // and once more without the race: everything mapped is evicted, listed, and comes back
        mm.reclaim(mm.capacity());
        assertEquals(Set.copyOf(vm.externalObjects()), Set.copyOf(vm.evicted()), "every mapped object marked");
        try (Exec exec = vm.lockAll()) {
            assertNotEquals(List.of(), exec.locked());
            vm.validate();
        }
        assertMappingsShow(vm, content, "after reclaim and validate");
        vm.close();
        for (BufferObject bo : objs) {
            assertEquals(1, bo.refCount());
        }
    }

    @Test
    void lockAllFromSeveralThreadsOnOverlappingSetsInDifferentOrders(Fixture f) {
        MemoryManager mm = f.manager();
        Client c = f.client(mm, "locks");
        List<BufferObject> o = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            o.add(c.create(pg(1)));
        }
        GpuVm vm0 = c.createVm("vm0", 0, pg(64));
        GpuVm vm1 = c.createVm("vm1", 0, pg(64));
        GpuVm vm2 = c.createVm("vm2", 0, pg(64));
        int[][] links = {{0, 1, 2, 3}, {3, 2, 4, 1}, {5, 4, 0, 2}};
        GpuVm[] vms = {vm0, vm1, vm2};
        for (int v = 0; v < 3; v++) {
            for (int k = 0; k < links[v].length; k++) {
                vms[v].map(pg(k), pg(1), o.get(links[v][k]), 0);
            }
        }
        // per thread: its VM and its extra objects (overlapping the others' sets, in other orders)
        GpuVm[] threadVm = {vm0, vm1, vm2, vm0};
        BufferObject[][] extra = {{o.get(5), o.get(4)}, {o.get(0), o.get(5)}, {o.get(1), o.get(3)}, {o.get(4), o.get(2), o.get(5)}};
        ConcurrentHashMap<Reservation, String> owners = new ConcurrentHashMap<>();
        AtomicInteger rounds = new AtomicInteger();
        Workers w = f.workers();
        for (int t = 0; t < threadVm.length; t++) {
            GpuVm vm = threadVm[t];
            BufferObject[] ex = extra[t];
            String name = "locker-" + t;
            w.add(name, () -> {
                for (int i = 0; i < 150; i++) {
                    try (Exec exec = vm.lockAll(ex)) {
                        List<Reservation> locked = exec.locked();
                        assertEquals(vm.resv(), locked.get(0), "the VM first");
                        for (Reservation r : locked) {
                            assertTrue(r.isHeldByCurrentThread());
                            assertNull(owners.putIfAbsent(r, name), "two threads hold " + r);
                        }
                        for (BufferObject b : ex) {
                            assertTrue(b.resv().isHeldByCurrentThread(), "extra held");
                        }
                        vm.validate(); // nothing evicted: does nothing
                        ex[0].write(0, MemorySegment.ofArray(new byte[] {(byte) i})); // held: no second lock
                        for (Reservation r : locked) {
                            owners.remove(r, name);
                        }
                    }
                    rounds.incrementAndGet();
                }
            });
        }
        // a plain user of single reservations, in the other direction
        w.add("plain", () -> {
            for (int i = 0; i < 150; i++) {
                BufferObject b = o.get(5 - i % 6);
                b.resv().lock();
                try {
                    assertNull(owners.putIfAbsent(b.resv(), "plain"), "two threads hold " + b);
                    owners.remove(b.resv(), "plain");
                } finally {
                    b.resv().unlock();
                }
            }
        });
        w.start().join();
        assertEquals(4 * 150, rounds.get());
        for (BufferObject b : o) {
            assertTrue(b.resv().tryLock(), "nothing left locked: " + b);
            b.resv().unlock();
        }
        for (GpuVm vm : vms) {
            assertTrue(vm.resv().tryLock());
            vm.resv().unlock();
        }
    }

    @Test
    void vmCloseRacingHandleCloseUnmapsMapsAndReads(Fixture f) {
        MemoryManager mm = f.manager();
        Client c = f.client(mm, "close");
        long capacity = mm.capacity();
        Random shuffle = new Random(SEED);
        for (int round = 0; round < 40; round++) {
            GpuVm vm = c.createVm("round-" + round, 0, pg(64));
            List<BufferObject> objs = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                BufferObject bo = c.create(pg(4));
                writePattern(bo, round * 10 + i);
                objs.add(bo);
                vm.map(pg(8 * i), pg(2), bo, 0);
                vm.map(pg(8 * i + 2), pg(2), bo, pg(2));
            }
            BufferObject local = vm.createLocal(pg(2));
            writePattern(local, round);
            vm.map(pg(40), pg(2), local, 0);
            objs.add(local);
            List<BufferObject> closeOrder = new ArrayList<>(objs);
            Collections.shuffle(closeOrder, shuffle);
            String where = " (round " + round + ", seed " + SEED + ")";

            Workers w = f.workers();
            w.add("vm-close", vm::close);
            w.add("handle-close", () -> closeOrder.forEach(BufferObject::close));
            w.add("unmap", () -> {
                for (int i = 0; i < 8; i++) {
                    try {
                        vm.unmap(pg(4 * i), pg(3));
                    } catch (IllegalStateException closed) {
                        return;
                    }
                }
            });
            w.add("map", () -> {
                for (int i = 0; i < objs.size(); i++) {
                    try {
                        vm.map(pg(48 + 2 * i), pg(2), objs.get(i), 0);
                    } catch (IllegalStateException closedOrFreed) {
                        // the VM is closed, or the object freed (handle closed, last mapping gone)
                    }
                }
            });
            w.add("read", () -> {
                for (int i = 0; i < 8; i++) {
                    try {
                        readVm(vm, pg(4 * i), pg(1) + 1);
                    } catch (IllegalStateException | GpuPageFaultException closedOrUnmapped) {
                        // the VM is closed, or the unmapper was there first
                    }
                }
            });
            w.start().join();

            assertThrows(IllegalStateException.class, vm::mappings, "closed" + where);
            for (BufferObject bo : objs) {
                assertEquals(0, bo.refCount(), "handle and link gone: freed " + bo + where);
            }
            assertEquals(capacity, mm.stats().free(), "every frame back" + where);
        }
    }

    /**
     * validate() swaps in a list it took under the VM lock; an unmap by another thread (which needs
     * no reservation) may meanwhile drop the last reference of a listed object. The object to go
     * is marked last, and the unmap waits until validate has swapped the first object in, so it
     * lands while validate works through the list.
     */
    @Test
    void validateRacingTheUnmapThatFreesAnEvictedObject(Fixture f) {
        MemoryManager mm = f.manager();
        Client c = f.client(mm, "validate");
        int n = 6;
        for (int round = 0; round < 8; round++) {
            GpuVm vm = c.createVm("round-" + round, 0, pg(1024));
            List<BufferObject> objs = new ArrayList<>();
            Map<BufferObject, byte[]> content = new HashMap<>();
            for (int i = 0; i < n; i++) {
                BufferObject bo = c.create(pg(128));
                vm.map(pg(128 * i), pg(128), bo, 0);
                objs.add(bo);
            }
            for (BufferObject bo : objs.subList(0, n - 1)) {
                content.put(bo, writePattern(bo, round * 10 + objs.indexOf(bo)));
            }
            mm.reclaim(mm.capacity()); // the others marked first
            BufferObject last = objs.get(n - 1);
            content.put(last, writePattern(last, round * 10 + n));
            mm.reclaim(mm.capacity()); // then this one
            last.close();              // the link holds it alone now
            assertEquals(n, vm.evicted().size());
            long swapIns = mm.stats().swapIns();
            String where = " (round " + round + ")";

            CountDownLatch locked = new CountDownLatch(1);
            Workers w = f.workers();
            w.add("validate", () -> {
                try (Exec exec = vm.lockAll()) {
                    assertEquals(n + 1, exec.locked().size());
                    locked.countDown();
                    vm.validate(); // the unmapped one may or may not be swapped in: no error either way
                }
            });
            w.add("unmap", () -> {
                await(locked, "validate holds its locks");
                Fixture.awaitCondition(() -> mm.stats().swapIns() > swapIns, "validate swapped an object in");
                vm.unmap(pg(128 * (n - 1)), pg(128)); // frees `last`, whose reservation validate holds
            });
            w.start().join();
            assertEquals(0, last.refCount(), "freed by the unmap" + where);
            assertEquals(List.of(), vm.evicted(), where);
            content.remove(last);
            assertMappingsShow(vm, content, "after validate" + where);
            vm.close();
            objs.forEach(BufferObject::close);
            assertEquals(mm.capacity(), mm.stats().free(), "every frame back" + where);
        }
    }
}
