package dev.memmgr;

import static dev.memmgr.Fixture.KiB;
import static dev.memmgr.Fixture.MiB;
import static dev.memmgr.Fixture.PAGE;
import static dev.memmgr.Fixture.assertBytes;
import static dev.memmgr.Fixture.assertContent;
import static dev.memmgr.Fixture.bytesOf;
import static dev.memmgr.Fixture.contentOf;
import static dev.memmgr.Fixture.count;
import static dev.memmgr.Fixture.fill;
import static dev.memmgr.Fixture.filled;
import static dev.memmgr.Fixture.pages;
import static dev.memmgr.Fixture.pattern;
import static dev.memmgr.Fixture.states;
import static dev.memmgr.Fixture.writePattern;
import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Memory pressure: direct reclaim in the allocating thread and {@link MemoryManager#reclaim(long)},
 * with background reclaim off so that every figure is exact. Purge before evict, LRU order, what
 * is never touched (pinned, busy), swap-in by every operation that needs content, swap and
 * frame exhaustion, and the statistics.
 */
@ExtendWith(MemmgrExtension.class)
class ReclaimTest {
    /** 8 MiB of frames: 2048 pages. */
    private static final long CAP = 8 * MiB;
    /** Swap of 32 MiB: room for everything these tests evict. */
    private static final long SWAP = 32 * MiB;

    private Fixture fx;
    private MemoryManager mm;
    private Client client;

    @BeforeEach
    void setUp(Fixture fx) {
        this.fx = fx;
        mm = fx.manager(CAP, SWAP);
        client = mm.openClient("reclaim");
    }

    /** This test is about the LRU policy: a manager of its own with it. */
    private void useLru() {
        mm = fx.build(fx.builder(CAP, SWAP).reclaimPolicy(ReclaimPolicy.LRU));
        client = mm.openClient("reclaim-lru");
    }

    private BufferObject written(long size, long seed, Map<BufferObject, byte[]> expected) {
        BufferObject bo = client.create(size);
        expected.put(bo, writePattern(bo, seed));
        return bo;
    }

    private static void assertAllContent(Map<BufferObject, byte[]> expected) {
        for (Map.Entry<BufferObject, byte[]> e : expected.entrySet()) {
            assertContent(e.getValue(), e.getKey(), "object " + e.getKey().handle());
        }
    }

    // ---- overcommit --------------------------------------------------------------------------

    @Test
    void overcommitOfThreeTimesTheCapacityKeepsEveryByte() {
        int n = 24; // 24 x 1 MiB in 8 MiB of frames
        List<BufferObject> bos = new ArrayList<>();
        List<byte[]> expected = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            BufferObject bo = client.create(MiB);
            expected.add(writePattern(bo, i));
            bos.add(bo);
            assertEquals(Residency.RESIDENT, bo.residency(), "just written");
        }
        MemoryStats s = mm.stats();
        assertAll("after writing 24 MiB into 8 MiB (each new MiB evicts exactly one old MiB)",
                () -> assertEquals(16, s.evictions()),
                () -> assertEquals(0, s.swapIns()),
                () -> assertEquals(0, s.purges()),
                () -> assertEquals(16 * MiB, s.swapUsed()),
                () -> assertEquals(16 * MiB, s.evicted()),
                () -> assertEquals(0, s.free()),
                () -> assertEquals(CAP, s.resident()),
                () -> assertEquals(8, count(bos, Residency.RESIDENT)),
                () -> assertEquals(16, count(bos, Residency.EVICTED)));

        long swapIns = 0;
        for (int pass = 0; pass < 2; pass++) {
            for (int k = 0; k < n; k++) {
                int i = pass == 0 ? k : n - 1 - k;
                BufferObject bo = bos.get(i);
                if (bo.residency() == Residency.EVICTED) {
                    swapIns++;
                }
                assertContent(expected.get(i), bo, "pass " + pass + ", object " + i);
                assertEquals(Residency.RESIDENT, bo.residency(), "read swaps in");
            }
        }
        MemoryStats t = mm.stats();
        long ins = swapIns;
        assertAll("after reading everything back twice",
                () -> assertEquals(ins, t.swapIns(), "one swap-in per read of an evicted object"),
                () -> assertEquals(16 + ins, t.evictions(), "each swap-in of a MiB into full memory evicts one MiB"),
                () -> assertEquals(16 * MiB, t.swapUsed()),
                () -> assertEquals(16 * MiB, t.evicted()),
                () -> assertEquals(0, t.free()),
                () -> assertEquals(CAP, t.resident() + t.free()),
                () -> assertEquals(8, count(bos, Residency.RESIDENT)),
                () -> assertEquals(16, count(bos, Residency.EVICTED)));
        assertTrue(swapIns >= 16, "the first pass alone finds 16 evicted objects: " + swapIns);
    }

    // ---- what reclaim never touches ------------------------------------------------------------

    @Test
    void pinnedObjectsSurviveHeavyPressure() {
        Map<BufferObject, byte[]> pinnedContent = new HashMap<>();
        BufferObject pinnedOnce = written(512 * KiB, 100, pinnedContent);
        BufferObject pinnedTwice = written(512 * KiB, 101, pinnedContent);
        BufferObject vmapped = written(512 * KiB, 102, pinnedContent);
        pinnedOnce.pin();
        pinnedTwice.pin();
        pinnedTwice.pin();
        Vmap view = vmapped.vmap();
        List<BufferObject> pinned = List.of(pinnedOnce, pinnedTwice, vmapped);
        List<Fixture.State> before = states(pinned);
        assertEquals(1536 * KiB, mm.stats().pinned());

        Map<BufferObject, byte[]> others = new HashMap<>();
        for (int i = 0; i < 40; i++) { // 20 MiB through the 6.5 MiB left
            written(512 * KiB, i, others);
        }
        assertAllContent(others); // and everything swapped in and out again

        assertTrue(mm.stats().evictions() >= 40 - 13, "pressure happened: " + mm.stats());
        assertEquals(before, states(pinned), "pinned objects: counts and residency unchanged");
        for (BufferObject bo : pinned) {
            assertEquals(Residency.RESIDENT, bo.residency());
        }
        assertAllContent(pinnedContent);
        assertBytes(pinnedContent.get(vmapped), bytesOf(view.segment()), "through the open vmap");
        assertEquals(1536 * KiB, mm.stats().pinned());
        view.close();
    }

    @ParameterizedTest
    @EnumSource(FenceUsage.class)
    void busyObjectIsSkippedUntilItsFenceSignals(FenceUsage usage) {
        Map<BufferObject, byte[]> expected = new HashMap<>();
        BufferObject busy = written(256 * KiB, 1, expected);
        BufferObject idle = written(256 * KiB, 2, expected);
        Fence fence = new Fence();
        busy.resv().addFence(fence, usage);

        assertEquals(256 * KiB, mm.reclaim(Long.MAX_VALUE), "only the idle object goes");
        assertEquals(Residency.EVICTED, idle.residency());
        assertEquals(Residency.RESIDENT, busy.residency());

        for (int i = 0; i < 24; i++) { // 12 MiB of direct reclaim around the busy object
            written(512 * KiB, 10 + i, expected);
        }
        assertEquals(Residency.RESIDENT, busy.residency(), "busy under direct reclaim too");
        mm.reclaim(Long.MAX_VALUE);
        assertEquals(Residency.RESIDENT, busy.residency(), "a full reclaim leaves it too");
        assertEquals(CAP - 256 * KiB, mm.stats().free(), "everything else is evicted: only the busy object's frames remain");

        fence.signal();
        long free0 = mm.stats().free();
        long freed = mm.reclaim(Long.MAX_VALUE);
        assertEquals(Residency.EVICTED, busy.residency(), "reclaimable once its fence signaled");
        assertEquals(free0 + freed, mm.stats().free());
        assertEquals(CAP, mm.stats().free(), "everything is idle now: everything evicted");
        assertAllContent(expected);
    }

    @Test
    void busyDontNeedObjectIsNotPurgedUntilItsFenceSignals() {
        BufferObject junk = client.create(256 * KiB);
        writePattern(junk, 1);
        junk.madvise(Madvise.DONTNEED);
        Fence fence = new Fence();
        junk.resv().addFence(fence, FenceUsage.BOOKKEEP);
        assertEquals(0, mm.reclaim(Long.MAX_VALUE));
        assertEquals(Residency.RESIDENT, junk.residency());
        assertEquals(0, mm.stats().purges());
        fence.signal();
        assertEquals(256 * KiB, mm.reclaim(Long.MAX_VALUE));
        assertEquals(Residency.PURGED, junk.residency());
        assertEquals(1, mm.stats().purges());
    }

    @Test
    void objectsLockedByTheAllocatingThreadOrAnotherAreSkippedNotWaitedFor() throws Exception {
        Map<BufferObject, byte[]> expected = new HashMap<>();
        BufferObject mine = written(MiB, 1, expected);
        BufferObject theirs = written(MiB, 2, expected);
        Reservation my = mine.resv();
        CountDownLatch locked = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Thread holder = new Thread(() -> {
            Reservation r = theirs.resv();
            r.lock();
            try {
                locked.countDown();
                Fixture.await(release, "the end of the test");
            } finally {
                r.unlock();
            }
        }, "lock-holder");
        holder.setDaemon(true);
        holder.start();
        Fixture.await(locked, "the other thread holds its object's reservation");
        my.lock();
        try {
            for (int i = 0; i < 16; i++) { // 16 MiB through the 6 MiB the locked objects leave
                written(MiB, 10 + i, expected);
            }
            assertEquals(Residency.RESIDENT, mine.residency(), "locked by the allocating thread: skipped");
            assertEquals(Residency.RESIDENT, theirs.residency(), "locked by another thread: skipped, not waited for");
            mine.write(0, MemorySegment.ofArray(expected.get(mine))); // operations under the held lock still work
        } finally {
            my.unlock();
            release.countDown();
        }
        holder.join(Fixture.DEADLINE.toMillis());
        assertFalse(holder.isAlive());
        assertAllContent(expected);
    }

    @Test
    void writeToAnEvictedSparseObjectSwapsInAndFillsOnlyWhatItWrites() {
        BufferObject bo = client.create(8L * PAGE);
        byte[] exp = new byte[8 * PAGE];
        byte[] a = pattern(1, PAGE);
        bo.write(PAGE, MemorySegment.ofArray(a)); // page 1 backed
        System.arraycopy(a, 0, exp, PAGE, PAGE);
        byte[] b = pattern(2, 2 * PAGE);
        bo.write(5L * PAGE, MemorySegment.ofArray(b)); // pages 5, 6 backed
        System.arraycopy(b, 0, exp, 5 * PAGE, 2 * PAGE);
        assertEquals(3L * PAGE, mm.reclaim(Long.MAX_VALUE));
        assertEquals(Residency.EVICTED, bo.residency());
        assertEquals(3L * PAGE, mm.stats().swapUsed());

        byte[] c = pattern(3, PAGE + 200);
        bo.write(PAGE + 3000, MemorySegment.ofArray(c)); // the end of page 1 (backed), into page 2 (a hole)
        System.arraycopy(c, 0, exp, PAGE + 3000, c.length);
        assertEquals(Residency.RESIDENT, bo.residency());
        assertEquals(4L * PAGE, mm.stats().resident(), "3 pages swapped in, 1 hole filled; the other holes stay");
        assertEquals(0, mm.stats().swapUsed());
        assertEquals(1, mm.stats().swapIns());
        assertContent(exp, bo, "sparse object after the write");

        try (Vmap v = bo.vmap()) { // vmap backs every page: the holes read as zero
            assertBytes(exp, bytesOf(v.segment()), "through the vmap");
        }
        assertEquals(8L * PAGE, mm.stats().resident());
    }

    // ---- purge before evict --------------------------------------------------------------------

    @Test
    void dontNeedObjectsArePurgedBeforeAnyWillNeedObjectIsEvicted() {
        Map<BufferObject, byte[]> needed = new HashMap<>();
        for (int i = 0; i < 4; i++) {
            written(MiB, i, needed);
        }
        List<BufferObject> junk = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            BufferObject bo = client.create(MiB);
            writePattern(bo, 50 + i);
            assertTrue(bo.madvise(Madvise.DONTNEED));
            junk.add(bo);
        }
        assertEquals(0, mm.stats().free(), "memory is full");
        assertEquals(4 * MiB, mm.stats().purgeable());
        assertEquals(4 * MiB, client.stats().purgeable());

        for (int k = 1; k <= 4; k++) {
            written(MiB, 10 + k, needed);
            MemoryStats s = mm.stats();
            int kk = k;
            assertAll("allocation " + k + " of 1 MiB into full memory",
                    () -> assertEquals(0, s.evictions(), "nothing evicted while purgeable objects remain"),
                    () -> assertEquals(kk, s.purges()),
                    () -> assertEquals((4 - kk) * MiB, s.purgeable()),
                    () -> assertEquals(0, s.swapUsed()));
        }
        assertEquals(4, count(junk, Residency.PURGED));
        written(MiB, 20, needed);
        MemoryStats s = mm.stats();
        assertEquals(1, s.evictions(), "evicts once nothing is purgeable");
        assertEquals(4, s.purges());
        assertEquals(MiB, s.swapUsed());
        assertAllContent(needed);
        for (BufferObject bo : junk) {
            assertThrows(PurgedException.class, () -> contentOf(bo));
            assertFalse(bo.madvise(Madvise.WILLNEED), "purged: not retained");
        }
    }

    @Test
    void reclaimRequestPurgesBeforeEvicting() {
        Map<BufferObject, byte[]> needed = new HashMap<>();
        BufferObject w1 = written(MiB, 1, needed);
        BufferObject d1 = client.create(MiB);
        BufferObject d2 = client.create(MiB);
        writePattern(d1, 2);
        writePattern(d2, 3);
        BufferObject w2 = written(MiB, 4, needed);
        d1.madvise(Madvise.DONTNEED);
        d2.madvise(Madvise.DONTNEED);

        assertEquals(2 * MiB, mm.reclaim(1536 * KiB), "two purges cover 1.5 MiB (objects go whole)");
        assertEquals(0, mm.stats().evictions());
        assertEquals(2, mm.stats().purges());
        assertEquals(Residency.RESIDENT, w1.residency());
        assertEquals(Residency.RESIDENT, w2.residency());
        assertEquals(MiB, mm.reclaim(PAGE), "then eviction");
        assertEquals(1, mm.stats().evictions());
        assertAllContent(needed);
    }

    @Test
    void evictedObjectMarkedDontNeedIsPurgedAndItsSlotsFreed() {
        BufferObject bo = client.create(MiB);
        writePattern(bo, 1);
        assertEquals(MiB, mm.reclaim(Long.MAX_VALUE));
        assertEquals(Residency.EVICTED, bo.residency());
        assertEquals(MiB, mm.stats().swapUsed());
        assertTrue(bo.madvise(Madvise.DONTNEED));
        assertEquals(0, mm.stats().purgeable(), "purgeable counts frames; an evicted object has none");
        assertEquals(0, mm.reclaim(Long.MAX_VALUE), "a purge of swap slots frees no frames");
        assertEquals(Residency.PURGED, bo.residency());
        assertEquals(0, mm.stats().swapUsed(), "its slots are free");
        assertEquals(1, mm.stats().purges());
        assertEquals(CAP, mm.stats().free());
    }

    // ---- LRU order -----------------------------------------------------------------------------

    /** Every use that refreshes recency for the LRU. */
    enum Use {
        PIN, GET_PAGES, VMAP, READ, WRITE, FENCE;

        void on(BufferObject bo) {
            switch (this) {
                case PIN -> {
                    bo.pin();
                    bo.unpin();
                }
                case GET_PAGES -> {
                    bo.getPages();
                    bo.putPages();
                }
                case VMAP -> {
                    try (Vmap v = bo.vmap()) {
                        v.segment().get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0);
                    }
                }
                case READ -> bo.read(0, MemorySegment.ofArray(new byte[16]));
                case WRITE -> {
                    byte[] one = new byte[16];
                    bo.read(PAGE, MemorySegment.ofArray(one)); // rewrite the same bytes: content unchanged
                    bo.write(PAGE, MemorySegment.ofArray(one));
                }
                case FENCE -> {
                    Fence f = new Fence();
                    bo.resv().addFence(f, FenceUsage.WRITE);
                    f.signal(); // the GPU work is done: the object is idle again
                }
            }
        }
    }

    /**
     * Four objects populated in order 0..3, then object 0 used: the least recently used is now
     * object 1, which a reclaim of one page (objects go whole) must evict, and nothing else.
     */
    @ParameterizedTest
    @EnumSource(Use.class)
    void useRefreshesRecency(Use use) {
        Map<BufferObject, byte[]> expected = new HashMap<>();
        List<BufferObject> bos = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            bos.add(written(64 * KiB, i, expected));
        }
        use.on(bos.get(0));

        assertEquals(64 * KiB, mm.reclaim(PAGE));
        assertEquals(List.of(Residency.RESIDENT, Residency.EVICTED, Residency.RESIDENT, Residency.RESIDENT),
                bos.stream().map(BufferObject::residency).toList(),
                "object 0 was used after 1, 2, 3 were populated: object 1 is the least recently used");
        assertAllContent(expected);
    }

    /**
     * Eight objects populated in order 0..7, then 3, 0, 5 and 1 used (pin, getPages, vmap, read),
     * 2, 4, 6 and 7 not: reclaims of one page evict the untouched ones in population order, then
     * the used ones in the order of their use.
     *
     * <p>Reading of the contract: DESIGN.md section 2 lets recency be recorded "without a global
     * lock on hot paths (an accessed bit and second chance, or buffered moves)". An accessed bit
     * cannot order several objects that were only flagged (read, write, fence) between two scans,
     * so this test has one flag-only use; the uses that are transitions (pin and unpin, getPages
     * and putPages, vmap and its close) move objects on the lists, and every order here is the
     * same for exact LRU and for a correct second chance.
     */
    @Test
    void evictionFollowsTheOrderOfLastUse() {
        useLru();
        Map<BufferObject, byte[]> expected = new HashMap<>();
        List<BufferObject> bos = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            bos.add(written(64 * KiB, i, expected));
        }
        Use.PIN.on(bos.get(3));
        Use.GET_PAGES.on(bos.get(0));
        Use.VMAP.on(bos.get(5));
        Use.READ.on(bos.get(1));

        List<Integer> evictedOrder = new ArrayList<>();
        for (int k = 0; k < bos.size(); k++) {
            assertEquals(64 * KiB, mm.reclaim(PAGE), "one object per reclaim of a page");
            for (int i = 0; i < bos.size(); i++) {
                if (bos.get(i).residency() == Residency.EVICTED && !evictedOrder.contains(i)) {
                    evictedOrder.add(i);
                }
            }
        }
        assertEquals(List.of(2, 4, 6, 7, 3, 0, 5, 1), evictedOrder,
                "least recently used first: the untouched objects, then those used, in the order of use");
        assertAllContent(expected);
    }

    /**
     * The same uses under ARC (the default): objects seen once (population, a pin, a vmap) go
     * before objects seen again (a page use, a read), whatever the order of the uses.
     */
    @Test
    void underArcObjectsSeenOnceGoBeforeObjectsSeenAgain() {
        Map<BufferObject, byte[]> expected = new HashMap<>();
        List<BufferObject> bos = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            bos.add(written(64 * KiB, i, expected));
        }
        Use.PIN.on(bos.get(3));
        Use.GET_PAGES.on(bos.get(0));
        Use.VMAP.on(bos.get(5));
        Use.READ.on(bos.get(1));

        List<Integer> evictedOrder = new ArrayList<>();
        for (int k = 0; k < bos.size(); k++) {
            assertEquals(64 * KiB, mm.reclaim(PAGE), "one object per reclaim of a page");
            for (int i = 0; i < bos.size(); i++) {
                if (bos.get(i).residency() == Residency.EVICTED && !evictedOrder.contains(i)) {
                    evictedOrder.add(i);
                }
            }
        }
        assertEquals(List.of(2, 4, 6, 7, 3, 5, 0, 1), evictedOrder,
                "T1 (seen once, in order of last move) before T2 (seen again: the page use, then the read's hit)");
        assertAllContent(expected);
    }

    @Test
    void idleObjectsAreEvictedBeforeWeaklyUsedOnes() {
        Map<BufferObject, byte[]> expected = new HashMap<>();
        BufferObject used = written(64 * KiB, 1, expected);
        used.getPages(); // older, but in use
        BufferObject idle = written(64 * KiB, 2, expected);
        assertEquals(64 * KiB, mm.reclaim(PAGE));
        assertEquals(Residency.EVICTED, idle.residency(), "the inactive list is scanned before the active one");
        assertEquals(Residency.RESIDENT, used.residency());
        used.putPages();
        assertAllContent(expected);
    }

    @Test
    void weakUserDoesNotPreventEvictionAndItsNextGetPagesSwapsIn() {
        BufferObject bo = client.create(256 * KiB);
        byte[] p = writePattern(bo, 7);
        bo.getPages();
        assertEquals(1, bo.pagesUseCount());

        assertEquals(256 * KiB, mm.reclaim(Long.MAX_VALUE), "a weak use does not keep the object in memory");
        assertEquals(Residency.EVICTED, bo.residency());
        assertEquals(1, bo.pagesUseCount(), "eviction keeps the use count");
        assertEquals(0, bo.pinCount());

        bo.getPages();
        assertEquals(Residency.RESIDENT, bo.residency(), "the next getPages swaps in");
        assertEquals(2, bo.pagesUseCount());
        assertEquals(1, mm.stats().swapIns());
        assertEquals(0, mm.stats().swapUsed());
        assertContent(p, bo, "after swap-in");
        bo.putPages();
        bo.putPages();
        assertEquals(0, bo.pagesUseCount());
        assertThrows(IllegalStateException.class, bo::putPages, "balanced");
    }

    // ---- nothing reclaimable -------------------------------------------------------------------

    @Test
    void allPinnedMeansOutOfMemoryForANewPopulationAndNothingChanges() {
        Map<BufferObject, byte[]> expected = new HashMap<>();
        List<BufferObject> pinned = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            BufferObject bo = written(MiB, i, expected);
            bo.pin();
            pinned.add(bo);
        }
        pinned.get(0).pin();
        pinned.get(1).getPages();
        Vmap view = pinned.get(2).vmap();
        assertEquals(0, mm.stats().free());

        BufferObject extra = client.create(PAGE);
        BufferObject big = client.create(2 * MiB);
        List<Fixture.State> before = states(pinned);
        MemoryStats statsBefore = mm.stats();
        ClientStats clientBefore = client.stats();

        assertThrows(GpuOutOfMemoryException.class, () -> extra.write(0, filled(PAGE, (byte) 1)));
        assertThrows(GpuOutOfMemoryException.class, extra::getPages);
        assertThrows(GpuOutOfMemoryException.class, extra::pin);
        assertThrows(GpuOutOfMemoryException.class, extra::vmap);
        assertThrows(GpuOutOfMemoryException.class, () -> big.write(MiB, filled(PAGE, (byte) 1)));
        assertEquals(0, mm.reclaim(Long.MAX_VALUE));

        for (BufferObject bo : List.of(extra, big)) {
            assertEquals(new Fixture.State(Residency.UNPOPULATED, 1, 0, 0, 0), Fixture.State.of(bo));
        }
        assertEquals(before, states(pinned), "counts and residency of the pinned objects");
        assertEquals(statsBefore, mm.stats(), "manager statistics");
        assertEquals(clientBefore, client.stats(), "client statistics");
        assertAllContent(expected);
        assertBytes(expected.get(pinned.get(2)), bytesOf(view.segment()), "through the vmap");
        Fixture.assertAllBytes((byte) 0, contentOf(extra), "the failed object still reads as zero");
        view.close();
        pinned.get(1).putPages();
    }

    @Test
    void withoutSwapNothingIsEvictedOnlyPurged() {
        MemoryManager ns = fx.managerNoSwap(CAP);
        Client c = ns.openClient("noswap");
        Map<BufferObject, byte[]> needed = new HashMap<>();
        for (int i = 0; i < 6; i++) {
            BufferObject bo = c.create(MiB);
            needed.put(bo, writePattern(bo, i));
        }
        List<BufferObject> junk = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            BufferObject bo = c.create(MiB);
            writePattern(bo, 10 + i);
            bo.madvise(Madvise.DONTNEED);
            junk.add(bo);
        }
        for (int i = 0; i < 2; i++) {
            BufferObject bo = c.create(MiB);
            needed.put(bo, writePattern(bo, 20 + i));
            assertEquals(i + 1, ns.stats().purges());
        }
        BufferObject tooMuch = c.create(MiB);
        MemoryStats before = ns.stats();
        assertThrows(GpuOutOfMemoryException.class, () -> tooMuch.write(0, filled(MiB, (byte) 3)));
        assertEquals(Residency.UNPOPULATED, tooMuch.residency());
        assertEquals(0, ns.reclaim(Long.MAX_VALUE), "nothing purgeable, and eviction is disabled");
        MemoryStats s = ns.stats();
        assertEquals(before, s);
        assertAll(() -> assertEquals(0, s.evictions()),
                () -> assertEquals(0, s.evicted()),
                () -> assertEquals(0, s.swapCapacity()),
                () -> assertEquals(0, s.swapUsed()),
                () -> assertEquals(2, s.purges()),
                () -> assertEquals(0, s.free()));
        assertEquals(2, count(junk, Residency.PURGED));
        for (BufferObject bo : needed.keySet()) {
            assertEquals(Residency.RESIDENT, bo.residency());
        }
        assertAllContent(needed);
    }

    @Test
    void swapExhaustionStopsEvictionAndNothingIsLost() {
        // 600 slots: room for two objects of 256 pages, not three
        MemoryManager small = fx.manager(CAP, 600L * PAGE);
        Client c = small.openClient("small");
        Map<BufferObject, byte[]> expected = new HashMap<>();
        List<BufferObject> bos = new ArrayList<>();
        for (int i = 0; i < 10; i++) { // 8 fill memory, 2 more evict 2
            BufferObject bo = c.create(MiB);
            expected.put(bo, writePattern(bo, i));
            bos.add(bo);
        }
        assertEquals(2, small.stats().evictions());
        assertEquals(2 * MiB, small.stats().swapUsed());

        BufferObject tooMuch = c.create(MiB);
        List<Fixture.State> before = states(bos);
        MemoryStats statsBefore = small.stats();
        assertThrows(GpuOutOfMemoryException.class, () -> tooMuch.write(0, filled(MiB, (byte) 1)),
                "88 free slots cannot take an object of 256 pages");
        assertEquals(0, small.reclaim(Long.MAX_VALUE));
        assertEquals(Residency.UNPOPULATED, tooMuch.residency());
        assertEquals(before, states(bos), "objects stay resident (or evicted) as they were");
        assertEquals(statsBefore, small.stats());
        assertEquals(8, count(bos, Residency.RESIDENT));
        assertEquals(2, count(bos, Residency.EVICTED));

        // every resident object is intact; then make room and check the evicted ones too
        for (BufferObject bo : bos) {
            if (bo.residency() == Residency.RESIDENT) {
                assertContent(expected.get(bo), bo, "resident object " + bo.handle());
            }
        }
        BufferObject gone = bos.stream().filter(b -> b.residency() == Residency.RESIDENT).findFirst().orElseThrow();
        gone.close();
        expected.remove(gone);
        assertAllContent(expected);
    }

    // ---- statistics ----------------------------------------------------------------------------

    @Test
    void statisticsAreExact() {
        BufferObject a = client.create(MiB);
        byte[] pa = writePattern(a, 1);
        BufferObject sparse = client.create(16L * PAGE); // pages 0, 3 and 7 written: 3 frames
        byte[] ps = new byte[16 * PAGE];
        for (int p : new int[] {0, 3, 7}) {
            byte[] one = pattern(10 + p, PAGE);
            System.arraycopy(one, 0, ps, p * PAGE, PAGE);
            sparse.write((long) p * PAGE, MemorySegment.ofArray(one));
        }
        BufferObject junk = client.create(512 * KiB);
        writePattern(junk, 2);
        junk.madvise(Madvise.DONTNEED);
        BufferObject pinned = client.create(MiB);
        byte[] pp = writePattern(pinned, 3);
        pinned.pin();

        long residentBytes = MiB + 3 * PAGE + 512 * KiB + MiB;
        MemoryStats s0 = mm.stats();
        assertEquals(new MemoryStats(CAP, CAP - residentBytes, residentBytes, MiB, 512 * KiB, 0, SWAP, 0, 0, 0, 0, 0,
                residentBytes), s0);
        assertEquals(new ClientStats(MiB + 16 * PAGE + 512 * KiB + MiB, 0, residentBytes, 512 * KiB, 0, 0),
                client.stats());

        long freed = mm.reclaim(Long.MAX_VALUE);
        assertEquals(MiB + 3 * PAGE + 512 * KiB, freed, "a and sparse evicted, junk purged: their frames");
        MemoryStats s1 = mm.stats();
        assertEquals(s0.free() + freed, s1.free(), "free grows by what reclaim returned");
        long evictedBytes = MiB + 3 * PAGE;
        assertEquals(new MemoryStats(CAP, CAP - MiB, MiB, MiB, 0, evictedBytes, SWAP, evictedBytes, 2, 0, 1, 0, residentBytes), s1);
        assertEquals(new ClientStats(MiB + 16 * PAGE + 512 * KiB + MiB, 0, MiB, 0, 0, evictedBytes), client.stats());

        assertContent(ps, sparse, "sparse object after swap-in: holes read as zero");
        MemoryStats s2 = mm.stats();
        assertEquals(new MemoryStats(CAP, CAP - MiB - 3 * PAGE, MiB + 3 * PAGE, MiB, 0, MiB, SWAP, MiB, 2, 1, 1, 0, residentBytes), s2,
                "reading swaps in the 3 backed pages only");
        assertEquals(new ClientStats(MiB + 16 * PAGE + 512 * KiB + MiB, 0, MiB + 3 * PAGE, 0, 0, MiB), client.stats());

        Fence f = new Fence();
        a.resv().addFence(f, FenceUsage.READ);
        assertEquals(MiB, client.stats().active(), "active: the size of busy objects");
        f.signal();
        assertEquals(0, client.stats().active());
        assertContent(pa, a, "a");
        assertContent(pp, pinned, "pinned");
        assertEquals(2, mm.stats().swapIns());
        pinned.unpin();
    }

    @Test
    void reclaimReturnsExactlyTheFrameBytesFreed() {
        List<BufferObject> bos = new ArrayList<>();
        Map<BufferObject, Long> backed = new HashMap<>();
        Map<BufferObject, byte[]> expected = new HashMap<>();
        for (int pages : new int[] {3, 5, 7, 1, 12}) {
            BufferObject bo = written((long) pages * PAGE, pages, expected);
            bos.add(bo);
            backed.put(bo, (long) pages * PAGE);
        }
        BufferObject sparse = client.create(9L * PAGE);
        sparse.write(2L * PAGE, filled(2 * PAGE, (byte) 9)); // two of nine pages backed
        bos.add(sparse);
        backed.put(sparse, 2L * PAGE);
        BufferObject pinned = written(4L * PAGE, 99, expected);
        pinned.pin();

        assertEquals(0, mm.reclaim(0), "nothing asked, nothing freed");
        assertEquals(0, mm.stats().evictions());
        assertThrows(IllegalArgumentException.class, () -> mm.reclaim(-1));

        int rounds = 0;
        while (true) {
            long free0 = mm.stats().free();
            List<Residency> before = bos.stream().map(BufferObject::residency).toList();
            long got = mm.reclaim(PAGE);
            long free1 = mm.stats().free();
            assertEquals(free0 + got, free1, "free grows by exactly what reclaim returned");
            long went = 0;
            for (int i = 0; i < bos.size(); i++) {
                if (before.get(i) == Residency.RESIDENT && bos.get(i).residency() == Residency.EVICTED) {
                    went += backed.get(bos.get(i));
                }
            }
            assertEquals(went, got, "the frame bytes of the objects evicted by this call");
            if (got == 0) {
                break;
            }
            assertTrue(++rounds <= bos.size(), "each call evicts at least one object");
        }
        assertEquals(bos.size(), rounds, "a page at a time: one object per call");
        assertEquals(bos.size(), count(bos, Residency.EVICTED));
        assertEquals(Residency.RESIDENT, pinned.residency());
        assertEquals(CAP - 4 * PAGE, mm.stats().free());
        assertAllContent(expected);
        byte[] sp = new byte[9 * PAGE];
        java.util.Arrays.fill(sp, 2 * PAGE, 4 * PAGE, (byte) 9);
        assertContent(sp, sparse, "sparse");
        pinned.unpin();
    }

    // ---- swap-in by every operation that needs content -----------------------------------------

    enum SwapInOp {
        GET_PAGES, PIN, VMAP, READ, WRITE
    }

    @ParameterizedTest
    @EnumSource(SwapInOp.class)
    void operationOnEvictedObjectSwapsItIn(SwapInOp op) {
        BufferObject bo = client.create(64L * PAGE);
        byte[] p = writePattern(bo, 5);
        BufferObject other = client.create(16L * PAGE);
        byte[] po = writePattern(other, 6);
        assertEquals(80L * PAGE, mm.reclaim(Long.MAX_VALUE));
        assertEquals(Residency.EVICTED, bo.residency());
        assertEquals(80L * PAGE, mm.stats().swapUsed());

        switch (op) {
            case GET_PAGES -> {
                bo.getPages();
                assertEquals(Residency.RESIDENT, bo.residency());
                assertContent(p, bo, "after getPages");
                bo.putPages();
            }
            case PIN -> {
                bo.pin();
                assertEquals(Residency.RESIDENT, bo.residency());
                assertEquals(64L * PAGE, mm.stats().pinned());
                assertContent(p, bo, "after pin");
                bo.unpin();
            }
            case VMAP -> {
                try (Vmap v = bo.vmap()) {
                    assertEquals(Residency.RESIDENT, bo.residency());
                    assertBytes(p, bytesOf(v.segment()), "through the vmap");
                }
            }
            case READ -> {
                byte[] part = new byte[3 * PAGE + 17];
                bo.read(10L * PAGE + 5, MemorySegment.ofArray(part));
                assertBytes(java.util.Arrays.copyOfRange(p, 10 * PAGE + 5, 13 * PAGE + 22), part, "the range read");
            }
            case WRITE -> {
                byte[] patch = pattern(77, 2 * PAGE);
                bo.write(5L * PAGE + 100, MemorySegment.ofArray(patch));
                System.arraycopy(patch, 0, p, 5 * PAGE + 100, patch.length);
            }
        }
        assertEquals(Residency.RESIDENT, bo.residency());
        assertEquals(new Fixture.State(Residency.RESIDENT, 1, 0, 0, 0), Fixture.State.of(bo));
        MemoryStats s = mm.stats();
        assertEquals(1, s.swapIns());
        assertEquals(16L * PAGE, s.swapUsed(), "the object's slots are freed; the other's remain");
        assertEquals(16L * PAGE, s.evicted());
        assertEquals(64L * PAGE, s.resident());
        assertContent(p, bo, "content after " + op);
        assertEquals(Residency.EVICTED, other.residency());
        assertContent(po, other, "the other object");
    }
}
