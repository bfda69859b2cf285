package dev.memmgr.internal.mem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class MapBudgetTest {
    private static final int PAGE = 4096;
    private PhysMem mem;

    @BeforeEach
    void setUp() {
        mem = PhysMem.create(256L * PAGE, PAGE);
    }

    @AfterEach
    void tearDown() {
        mem.close();
    }

    /** {@code extents} one-frame extents from {@code first}, every other frame. */
    private static ExtentList scattered(int first, int extents) {
        ExtentList l = new ExtentList();
        for (int i = 0; i < extents; i++) {
            l.add(first + 2 * i, 1);
        }
        return l;
    }

    /** @return vm.max_map_count, read independently of the class under test */
    private static int maxMapCount() {
        try (BufferedReader r = Files.newBufferedReader(Path.of("/proc/sys/vm/max_map_count"))) {
            return Integer.parseInt(r.readLine().trim());
        } catch (IOException e) {
            return MapBudget.DEFAULT_MAX_MAP_COUNT;
        }
    }

    /** @return the areas of /proc/self/maps that map this test's memfd (the direct map's file) */
    private int areasOfMemfd() {
        List<String> direct = VmappingTeardownTest.areasIn(mem.directMap().address(), 1);
        String inode = direct.get(0).trim().split("\\s+")[4];
        int n = 0;
        for (String line : VmappingTeardownTest.areasIn(0, Long.MAX_VALUE)) {
            String[] f = line.trim().split("\\s+");
            if (f.length > 5 && f[4].equals(inode) && f[5].contains("memfd")) {
                n++;
            }
        }
        return n;
    }

    /** A callback that tears the mapping down and records the order of the calls. */
    private static BooleanSupplier releaser(Vmapping v, List<Vmapping> order) {
        return () -> {
            synchronized (order) {
                order.add(v);
            }
            v.unmap();
            return true;
        };
    }

    @Test
    void theDefaultIsHalfOfMaxMapCountUnlessThePropertySaysOtherwise() {
        assertEquals(32765, MapBudget.defaultLimit(null, "65530\n"));
        assertEquals(500, MapBudget.defaultLimit(null, "1000"));
        assertEquals(32765, MapBudget.defaultLimit(null, null), "unreadable: half of 65530");
        assertEquals(32765, MapBudget.defaultLimit(null, "garbage"));
        assertEquals(123, MapBudget.defaultLimit("123", "65530"));
        assertEquals(7, MapBudget.defaultLimit(" 7 ", null));
        for (String bad : new String[] {"0", "-5", "many", ""}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> MapBudget.defaultLimit(bad, "65530"));
            assertTrue(e.getMessage().contains(MapBudget.PROPERTY), e.getMessage());
        }
        MapBudget global = MapBudget.global();
        assertTrue(global == MapBudget.global());
        if (System.getProperty(MapBudget.PROPERTY) == null) {
            assertEquals(maxMapCount() / 2, global.limit(), "half of this machine's vm.max_map_count");
        }
        assertThrows(IllegalArgumentException.class, () -> new MapBudget(0));
        assertThrows(IllegalArgumentException.class, () -> global.setLimit(-1));
    }

    @Test
    void aMappingHoldsOneAreaPerExtentUntilUnmapped() {
        MapBudget budget = new MapBudget(50);
        Vmapping one = Vmapping.map(mem, scattered(0, 1), budget);
        Vmapping five = Vmapping.map(mem, scattered(10, 5), budget);
        assertEquals(1, one.areas());
        assertEquals(5, five.areas());
        assertEquals(6, budget.used());
        assertEquals(6, budget.heldByOpenViews());
        assertEquals(5, VmappingTeardownTest.areasIn(five.segment().address(), five.segment().byteSize()).size(),
                "the kernel's count agrees");
        five.unmap();
        assertEquals(1, budget.used());
        one.unmap();
        one.unmap();
        assertEquals(0, budget.used());
    }

    @Test
    void aMappingThatDoesNotFitMapsNothingAndSaysWhy() {
        MapBudget budget = new MapBudget(10);
        Vmapping open = Vmapping.map(mem, scattered(0, 6), budget);
        Vmapping idle = Vmapping.map(mem, scattered(20, 2), budget);
        idle.markIdle(() -> false); // cannot be released now
        int areasBefore = areasOfMemfd();
        assertEquals(1 + 6 + 2, areasBefore, "the direct map and one area per extent");
        MapBudgetExceededException e = assertThrows(MapBudgetExceededException.class,
                () -> Vmapping.map(mem, scattered(40, 3), budget));
        assertEquals(3, e.needed());
        String m = e.getMessage();
        assertTrue(m.contains("needs 3 memory-mapping areas") && m.contains("budget of 10 areas")
                && m.contains("6 held by open views") && m.contains("2 by idle cached views"), m);
        assertEquals(8, budget.used(), "nothing reserved");
        assertEquals(1, budget.idleMappings(), "the idle one that refused stays cached");
        assertFalse(idle.isUnmapped());
        assertEquals(areasBefore, areasOfMemfd(), "nothing mapped");
        open.unmap();
        idle.unmap();
        assertEquals(0, budget.used());
    }

    @Test
    void idleMappingsAreReleasedLeastRecentlyIdledFirstAndOnlyAsFarAsNeeded() {
        MapBudget budget = new MapBudget(10);
        List<Vmapping> released = new ArrayList<>();
        Vmapping a = Vmapping.map(mem, scattered(0, 3), budget);
        Vmapping b = Vmapping.map(mem, scattered(10, 3), budget);
        Vmapping c = Vmapping.map(mem, scattered(20, 3), budget);
        c.markIdle(releaser(c, released));
        a.markIdle(releaser(a, released));
        b.markIdle(releaser(b, released));
        a.markIdle(releaser(a, released)); // idled again: now the most recent
        assertEquals(3, budget.idleMappings());
        assertEquals(9, budget.idleAreas());
        assertEquals(0, budget.heldByOpenViews());

        Vmapping d = Vmapping.map(mem, scattered(40, 5), budget); // needs 4 more: c, then b
        assertEquals(List.of(c, b), released);
        assertTrue(c.isUnmapped() && b.isUnmapped());
        assertFalse(a.isUnmapped());
        assertEquals(8, budget.used());
        assertEquals(1, budget.idleMappings());

        a.markInUse(); // reused: no longer a candidate
        MapBudgetExceededException e = assertThrows(MapBudgetExceededException.class,
                () -> Vmapping.map(mem, scattered(60, 3), budget));
        assertEquals(3, e.needed());
        assertEquals(List.of(c, b), released, "a mapping in use is never released");
        a.unmap();
        d.unmap();
        assertEquals(0, budget.used());
    }

    @Test
    void aCallbackThatCannotReleaseIsSkippedAndKeptAsTheMostRecent() {
        MapBudget budget = new MapBudget(6);
        List<Vmapping> released = new ArrayList<>();
        Vmapping busy = Vmapping.map(mem, scattered(0, 2), budget);
        Vmapping free = Vmapping.map(mem, scattered(10, 2), budget);
        int[] busyCalls = {0};
        busy.markIdle(() -> {
            busyCalls[0]++;
            return false;
        });
        free.markIdle(releaser(free, released));
        Vmapping third = Vmapping.map(mem, scattered(20, 4), budget);
        assertEquals(1, busyCalls[0], "tried once, first (least recently idled)");
        assertEquals(List.of(free), released);
        assertEquals(1, budget.idleMappings());
        third.unmap();
        // a request that cannot fit even if every idle mapping went evicts nothing
        MapBudgetExceededException e = assertThrows(MapBudgetExceededException.class,
                () -> Vmapping.map(mem, scattered(30, 7), budget));
        assertEquals(7, e.needed());
        assertEquals(1, busyCalls[0]);
        assertFalse(busy.isUnmapped());
        busy.unmap();
        assertEquals(0, budget.used());
        assertEquals(0, budget.idleMappings());
    }

    @Test
    void callbacksRunOutsideTheBudgetsLock() throws Exception {
        MapBudget budget = new MapBudget(4);
        Vmapping idle = Vmapping.map(mem, scattered(0, 3), budget);
        boolean[] otherThreadGotIn = {false};
        idle.markIdle(() -> {
            // another thread must be able to use the budget while the callback runs
            Thread t = Thread.ofPlatform().start(() -> otherThreadGotIn[0] = budget.used() >= 0);
            try {
                t.join(TimeUnit.SECONDS.toMillis(10));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            idle.unmap(); // takes the budget's lock from the callback
            return !t.isAlive();
        });
        Vmapping next = Vmapping.map(mem, scattered(20, 3), budget);
        assertTrue(otherThreadGotIn[0]);
        assertTrue(idle.isUnmapped());
        next.unmap();
        assertEquals(0, budget.used());
    }

    @Test
    void aLoweredLimitIsEnforcedOnTheNextReservation() {
        MapBudget budget = new MapBudget(100);
        Vmapping a = Vmapping.map(mem, scattered(0, 4), budget);
        List<Vmapping> released = new ArrayList<>();
        a.markIdle(releaser(a, released));
        budget.setLimit(3);
        assertEquals(3, budget.limit());
        Vmapping b = Vmapping.map(mem, scattered(20, 2), budget);
        assertEquals(List.of(a), released);
        assertEquals(2, budget.used());
        b.unmap();
    }

    @Test
    void markingATornDownMappingDoesNothing() {
        MapBudget budget = new MapBudget(10);
        Vmapping v = Vmapping.map(mem, scattered(0, 2), budget);
        v.unmap();
        v.markIdle(() -> true);
        v.markInUse();
        assertEquals(0, budget.idleMappings());
        assertEquals(0, budget.used());
        assertThrows(NullPointerException.class, () -> Vmapping.map(mem, scattered(0, 1), budget).markIdle(null));
    }

    @Test
    void reservingAndMarkingAllocateNothing() {
        MapBudget budget = new MapBudget(1000);
        Vmapping v = Vmapping.map(mem, scattered(0, 2), budget);
        BooleanSupplier never = () -> false;
        for (int i = 0; i < 20_000; i++) { // warm up
            cycle(budget, v, never);
        }
        long before = HeapMeter.allocatedBytes();
        for (int i = 0; i < 10_000; i++) {
            cycle(budget, v, never);
        }
        long allocated = HeapMeter.allocatedBytes() - before;
        assertTrue(allocated < 1024, "10,000 reserve/release/idle/in-use cycles allocated " + allocated + " bytes");
        v.unmap();
    }

    private static void cycle(MapBudget budget, Vmapping v, BooleanSupplier cb) {
        budget.reserve(3);
        v.markIdle(cb);
        v.markInUse();
        budget.release(3);
    }

    @Test
    void concurrentMapIdleReuseAndUnmapKeepTheCountExact() throws Exception {
        MapBudget budget = new MapBudget(24);
        int threads = 4;
        int rounds = 400;
        long seed = Long.getLong("memmgr.seed", 0x3AB5L);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CyclicBarrier start = new CyclicBarrier(threads);
        List<Future<Integer>> results = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int id = t;
            results.add(pool.submit(() -> {
                Random rnd = new Random(seed + id);
                List<Vmapping> mine = new ArrayList<>();
                int refused = 0;
                start.await(10, TimeUnit.SECONDS);
                for (int r = 0; r < rounds; r++) {
                    int op = rnd.nextInt(4);
                    if (op == 0 || mine.isEmpty()) {
                        try {
                            Vmapping v = Vmapping.map(mem, scattered(64 * id, 1 + rnd.nextInt(4)), budget);
                            v.segment().set(ValueLayout.JAVA_BYTE, 0, (byte) r);
                            mine.add(v);
                        } catch (MapBudgetExceededException e) {
                            refused++;
                        }
                    } else {
                        Vmapping v = mine.get(rnd.nextInt(mine.size()));
                        switch (op) {
                            case 1 -> v.markIdle(() -> {
                                v.unmap();
                                return true;
                            });
                            case 2 -> v.markInUse();
                            default -> {
                                v.unmap();
                                mine.remove(v);
                            }
                        }
                    }
                    mine.removeIf(Vmapping::isUnmapped);
                }
                for (Vmapping v : mine) {
                    v.unmap();
                }
                return refused;
            }));
        }
        for (Future<Integer> f : results) {
            assertNotNull(f.get(60, TimeUnit.SECONDS));
        }
        pool.shutdown();
        assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS));
        assertEquals(0, budget.used(), "seed " + seed);
        assertEquals(0, budget.idleMappings(), "seed " + seed);
        assertEquals(0, budget.idleAreas(), "seed " + seed);
        assertEquals(0, budget.deferredAreas(), "seed " + seed);
    }

    @Test
    void theBudgetNeverExceedsItsLimitUnderConcurrency() throws Exception {
        MapBudget budget = new MapBudget(10);
        int threads = 3;
        CountDownLatch done = new CountDownLatch(threads);
        int[] maxSeen = {0};
        List<Throwable> failures = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int id = t;
            Thread.ofPlatform().start(() -> {
                try {
                    for (int r = 0; r < 300; r++) {
                        Vmapping v;
                        try {
                            v = Vmapping.map(mem, scattered(64 * id, 3), budget);
                        } catch (MapBudgetExceededException e) {
                            continue;
                        }
                        int used = budget.used();
                        synchronized (maxSeen) {
                            maxSeen[0] = Math.max(maxSeen[0], used);
                        }
                        MemorySegment s = v.segment();
                        s.set(ValueLayout.JAVA_INT, 0, r);
                        v.markIdle(() -> {
                            v.unmap();
                            return true;
                        });
                        if (r % 3 == 0) {
                            v.unmap();
                        }
                    }
                } catch (Throwable e) {
                    synchronized (failures) {
                        failures.add(e);
                    }
                } finally {
                    done.countDown();
                }
            });
        }
        assertTrue(done.await(60, TimeUnit.SECONDS));
        assertEquals(List.of(), failures);
        assertTrue(maxSeen[0] <= 10, "used " + maxSeen[0]);
        budget.setLimit(1);
        Vmapping last = Vmapping.map(mem, scattered(200, 1), budget); // evicts every idle one
        last.unmap();
        assertEquals(0, budget.used());
        assertEquals(0, budget.idleMappings());
    }
}
