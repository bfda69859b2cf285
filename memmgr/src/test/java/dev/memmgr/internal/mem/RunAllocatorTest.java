package dev.memmgr.internal.mem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memmgr.MemmgrExtension;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(MemmgrExtension.class)
class RunAllocatorTest {
    @Test
    void allocatesOneContiguousRunWhenPossible() {
        RunAllocator a = new RunAllocator(1000, false);
        ExtentList first = new ExtentList();
        ExtentList second = new ExtentList();
        assertTrue(a.allocate(10, first, null));
        assertTrue(a.allocate(300, second, null));
        assertEquals("[0+10]", first.toString());
        assertEquals("[10+300]", second.toString()); // next to the previous one
        ExtentList big = new ExtentList();
        assertTrue(a.allocate(690, big, null));
        assertEquals(1, big.size());
        assertEquals(0, a.freeCount());
    }

    @Test
    void exhaustionIsReportedAndChangesNothing() {
        RunAllocator a = new RunAllocator(100, false);
        ExtentList out = new ExtentList();
        assertTrue(a.allocate(60, out, null));
        ExtentList more = new ExtentList();
        assertFalse(a.allocate(41, more, null));
        assertTrue(more.isEmpty());
        assertEquals(40, a.freeCount());
        assertTrue(a.allocate(40, more, null));
        assertFalse(a.allocate(1, new ExtentList(), null));
    }

    @Test
    void prefersTheShortestRunThatFits() {
        RunAllocator a = new RunAllocator(200, false);
        ExtentList all = new ExtentList();
        assertTrue(a.allocate(200, all, null));
        a.free(10, 50);  // long hole
        a.free(100, 5);  // exact hole
        a.free(150, 8);  // medium hole
        ExtentList out = new ExtentList();
        assertTrue(a.allocate(5, out, null));
        assertEquals("[100+5]", out.toString());
        out.clear();
        assertTrue(a.allocate(7, out, null));
        assertEquals("[150+7]", out.toString());
    }

    @Test
    void fragmentedRequestsTakeTheLongestRunsFirst() {
        RunAllocator a = new RunAllocator(128, false);
        ExtentList all = new ExtentList();
        assertTrue(a.allocate(128, all, null));
        // holes of 1, 2, 3, 10 and 20 units
        a.free(0, 1);
        a.free(5, 2);
        a.free(10, 3);
        a.free(30, 10);
        a.free(60, 20);
        ExtentList out = new ExtentList();
        assertTrue(a.allocate(25, out, null));
        assertEquals("[30+5, 60+20]", out.toString()); // 20 + 5 of the 10-run: two runs, sorted by start
        assertEquals(25, out.units());
        assertEquals(11, a.freeCount());
    }

    @Test
    void doubleFreeIsRejectedAndChangesNothing() {
        RunAllocator a = new RunAllocator(64, false);
        ExtentList out = new ExtentList();
        assertTrue(a.allocate(10, out, null));
        a.free(0, 5);
        assertThrows(IllegalStateException.class, () -> a.free(3, 4));
        assertEquals(59, a.freeCount());
        assertTrue(a.isAllocated(5, 5));
    }

    @Test
    void badArgumentsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new RunAllocator(0, false));
        RunAllocator a = new RunAllocator(64, false);
        assertThrows(IllegalArgumentException.class, () -> a.allocate(0, new ExtentList(), null));
        assertThrows(IllegalArgumentException.class, () -> a.free(-1, 1));
        assertThrows(IllegalArgumentException.class, () -> a.free(60, 5));
        assertThrows(IllegalArgumentException.class, () -> a.free(0, 0));
        assertEquals(64, a.freeCount());
    }

    @Test
    void dirtyUnitsAreReportedOnceAndTrimmed() {
        RunAllocator a = new RunAllocator(256, true);
        ExtentList out = new ExtentList();
        ExtentList dirty = new ExtentList();
        assertTrue(a.allocate(100, out, dirty));
        assertTrue(dirty.isEmpty());
        a.free(10, 20);
        assertEquals(20, a.dirtyFreeCount());
        ExtentList again = new ExtentList();
        assertTrue(a.allocate(5, again, dirty));
        assertEquals("[10+5]", again.toString());
        assertEquals("[10+5]", dirty.toString());
        assertEquals(15, a.dirtyFreeCount());
        ExtentList punched = new ExtentList();
        assertEquals(15, a.trimDirty(punched::add));
        assertEquals("[15+15]", punched.toString());
        assertEquals(0, a.dirtyFreeCount());
    }

    @Test
    void bitmapEdgesAcrossWords() {
        for (int capacity : new int[] {1, 63, 64, 65, 127, 128, 129, 4096 + 7}) {
            RunAllocator a = new RunAllocator(capacity, true);
            ExtentList out = new ExtentList();
            assertTrue(a.allocate(capacity, out, new ExtentList()));
            assertEquals(1, out.size());
            assertEquals(capacity, out.units());
            assertFalse(a.allocate(1, new ExtentList(), new ExtentList()));
            a.free(out);
            assertEquals(capacity, a.freeCount());
            assertEquals(1, a.freeRunCount());
        }
    }

    @Test
    void allocateRunPrefersUnitsStillInMemoryOverPunchedOnes() {
        RunAllocator a = new RunAllocator(300, true);
        assertTrue(a.allocate(300, new ExtentList(), new ExtentList()));
        a.free(0, 20); // will be punched: clean
        a.trimDirty((s, l) -> { });
        a.free(100, 30); // dirty: still in memory, a longer run
        assertEquals(100, a.allocateRun(20), "the dirty run, though longer than the clean exact fit");
        a.free(200, 10);
        a.free(211, 10); // dirty, but not 20 in a row
        assertEquals(0, a.allocateRun(20), "no dirty window of 20: good fit");
    }

    @Test
    void allocateRunTakesTheBestFittingRunAndCleansItsDirtyUnits() {
        RunAllocator a = new RunAllocator(200, true);
        ExtentList all = new ExtentList();
        assertTrue(a.allocate(200, all, new ExtentList()));
        a.free(10, 50);  // long hole
        a.free(100, 6);  // short hole
        a.free(150, 9);  // medium hole
        assertEquals(65, a.dirtyFreeCount());
        assertEquals(150, a.allocateRun(8), "the shortest run that fits");
        assertEquals(57, a.dirtyFreeCount(), "taken units are no longer dirty, and are not reported");
        assertEquals(100, a.allocateRun(6), "an exact fit");
        assertEquals(-1, a.allocateRun(51), "no run is long enough");
        assertEquals(51, a.freeCount(), "nothing allocated by a failed run");
        assertEquals(-1, a.allocateRun(52), "more than free");
        assertEquals(10, a.allocateRun(50));
        assertTrue(a.isAllocated(10, 50));
        assertThrows(IllegalArgumentException.class, () -> a.allocateRun(0));
        ExtentList dirty = new ExtentList();
        a.free(10, 50);
        assertTrue(a.allocate(50, new ExtentList(), dirty));
        assertEquals("[10+50]", dirty.toString(), "freed again: dirty again");
    }

    @Test
    void anAllocatorThatTracksDirtyUnitsNeedsADirtyList() {
        RunAllocator a = new RunAllocator(64, true);
        assertThrows(IllegalArgumentException.class, () -> a.allocate(1, new ExtentList(), null));
        assertEquals(64, a.freeCount(), "refused before anything changed");
    }

    @Test
    void aClosedAllocatorRefusesEveryCallButItsCounters() {
        RunAllocator a = new RunAllocator(256, true);
        ExtentList out = new ExtentList();
        assertTrue(a.allocate(10, out, new ExtentList()));
        a.free(0, 2);
        a.close();
        a.close(); // idempotent
        assertTrue(a.isClosed());
        assertThrows(IllegalStateException.class, () -> a.allocate(1, new ExtentList(), new ExtentList()));
        assertThrows(IllegalStateException.class, () -> a.allocateRun(1));
        assertThrows(IllegalStateException.class, () -> a.free(2, 1));
        assertThrows(IllegalStateException.class, () -> a.free(out));
        assertThrows(IllegalStateException.class, () -> a.trimDirty((s, l) -> { }));
        assertThrows(IllegalStateException.class, () -> a.isAllocated(0, 1));
        assertThrows(IllegalStateException.class, () -> a.freeRunCount());
        assertEquals(256, a.capacity());
        assertEquals(248, a.freeCount());
        assertEquals(2, a.dirtyFreeCount());
    }

    @Test
    void closingWhileOtherThreadsAllocateNeverCrashesThem() throws Exception {
        RunAllocator a = new RunAllocator(1 << 16, true);
        int threads = 3;
        CountDownLatch running = new CountDownLatch(threads);
        List<Future<Throwable>> ends = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        for (int t = 0; t < threads; t++) {
            ends.add(pool.submit(() -> {
                ExtentList out = new ExtentList();
                ExtentList dirty = new ExtentList();
                try {
                    for (long i = 0; ; i++) {
                        out.clear();
                        dirty.clear();
                        if (a.allocate(1 + (int) (i % 37), out, dirty)) {
                            a.free(out);
                        }
                        running.countDown();
                    }
                } catch (Throwable e) {
                    return e;
                }
            }));
        }
        assertTrue(running.await(10, TimeUnit.SECONDS));
        a.close();
        for (Future<Throwable> end : ends) {
            Throwable e = end.get(10, TimeUnit.SECONDS);
            assertTrue(e instanceof IllegalStateException, String.valueOf(e));
        }
        pool.shutdown();
    }

    @Test
    void allocatorsOfAGigaUnitCostHeapAndMemoryByUseNotByCapacity() throws Exception {
        new RunAllocator(1000, true).close(); // classes loaded, nothing of that counted
        long rssBefore = residentBytes();
        long heapBefore = HeapMeter.allocatedBytes();
        int capacity = 1 << 30; // the old on-heap bitmaps: 256 MiB for these two
        try (RunAllocator frames = new RunAllocator(capacity, true);
                RunAllocator slots = new RunAllocator(capacity, false)) {
            ExtentList dirty = new ExtentList(256);
            for (int round = 0; round < 3; round++) {
                for (RunAllocator a : new RunAllocator[] {frames, slots}) {
                    ExtentList out = new ExtentList(256);
                    for (int i = 0; i < 2000; i++) {
                        out.clear();
                        assertTrue(a.allocate(1 + i % 300, out, a == frames ? dirty : null));
                        if (i % 2 == 0) {
                            a.free(out);
                        }
                    }
                }
            }
            ExtentList big = new ExtentList();
            assertTrue(frames.allocate(1 << 20, big, dirty), "a run from the untouched end");
            assertEquals(1, big.size(), "one run: " + big);
            assertTrue(frames.isAllocated(big.start(0), 1 << 20));
            frames.free(big);
            assertEquals(1 << 20, frames.trimDirty((s, l) -> { }));
            ExtentList pieces = new ExtentList(128);
            for (int i = 0; i < 100; i++) {
                assertTrue(slots.allocate(10, pieces, null));
            }
            for (int i = 0; i < 1000; i += 20) {
                slots.free(pieces.start(0) + i, 10);
            }
            assertTrue(slots.freeRunCount() >= 50, "holes: " + slots.freeRunCount());
            long heap = HeapMeter.allocatedBytes() - heapBefore;
            long rss = residentBytes() - rssBefore;
            assertTrue(heap < (4 << 20), "heap allocated: " + heap + " bytes");
            assertTrue(rss < (64 << 20), "resident memory grew by " + rss + " bytes");
            assertEquals(capacity, frames.capacity());
        }
    }

    /** @return VmRSS of this process, in bytes */
    private static long residentBytes() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        throw new IllegalStateException("no VmRSS");
    }
}
