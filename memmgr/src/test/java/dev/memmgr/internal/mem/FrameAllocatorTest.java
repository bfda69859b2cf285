package dev.memmgr.internal.mem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memmgr.MemmgrExtension;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(MemmgrExtension.class)
class FrameAllocatorTest {
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

    private static boolean allZero(MemorySegment s) {
        for (long i = 0; i < s.byteSize(); i += 8) {
            if (s.get(ValueLayout.JAVA_LONG_UNALIGNED, i) != 0) {
                return false;
            }
        }
        return true;
    }

    @Test
    void newFramesReadAsZero() {
        FrameAllocator frames = new FrameAllocator(mem);
        ExtentList out = new ExtentList();
        assertTrue(frames.allocate(256, out));
        assertTrue(allZero(mem.frames(0, 256)));
    }

    @Test
    void reusedFramesAreZeroed() {
        FrameAllocator frames = new FrameAllocator(mem, Integer.MAX_VALUE); // never punch: zero on reuse
        ExtentList out = new ExtentList();
        assertTrue(frames.allocate(16, out));
        mem.frames(out.start(0), 16).fill((byte) 0x5A);
        frames.free(out);
        assertEquals(16, frames.dirtyFreeFrames());
        ExtentList again = new ExtentList();
        assertTrue(frames.allocate(16, again));
        assertEquals(out.toString(), again.toString(), "the same frames come back");
        assertTrue(allZero(mem.frames(again.start(0), 16)));
        assertEquals(0, frames.dirtyFreeFrames());
    }

    @Test
    void framesTheCallerOverwritesAreNotZeroedTheOthersAre() {
        FrameAllocator frames = new FrameAllocator(mem, Integer.MAX_VALUE);
        ExtentList out = new ExtentList();
        assertTrue(frames.allocate(8, out));
        mem.frames(out.start(0), 8).fill((byte) 0x33);
        frames.free(out);
        ExtentList again = new ExtentList();
        assertTrue(frames.allocate(8, again, 3));
        assertEquals(out.toString(), again.toString());
        int first = again.start(0);
        for (int f = 0; f < 8; f++) {
            byte b = mem.frames(first + f, 1).get(java.lang.foreign.ValueLayout.JAVA_BYTE, 100);
            assertEquals(f < 3 ? (byte) 0x33 : (byte) 0, b, "frame " + f);
        }
    }

    @Test
    void punchedFramesReadAsZeroAndReleaseMemory() {
        FrameAllocator frames = new FrameAllocator(mem, Integer.MAX_VALUE);
        ExtentList out = new ExtentList();
        assertTrue(frames.allocate(128, out));
        mem.frames(out.start(0), 128).fill((byte) 1);
        long before = mem.allocatedBytes();
        assertTrue(before >= 128L * PAGE, "written frames occupy memory: " + before);
        frames.free(out);
        assertEquals(128, frames.trim());
        long after = mem.allocatedBytes();
        assertTrue(after <= before - 128L * PAGE, "punching lowers st_blocks: " + before + " -> " + after);
        ExtentList again = new ExtentList();
        assertTrue(frames.allocate(128, again));
        assertTrue(allZero(mem.frames(again.start(0), 128)));
    }

    @Test
    void freesPastTheThresholdArePunchedInABatch() {
        FrameAllocator frames = new FrameAllocator(mem, 64);
        ExtentList out = new ExtentList();
        assertTrue(frames.allocate(200, out));
        mem.frames(0, 200).fill((byte) 7);
        frames.free(0, 50);
        assertEquals(50, frames.dirtyFreeFrames(), "below the threshold: kept for reuse");
        long before = mem.allocatedBytes();
        frames.free(50, 50);
        assertEquals(0, frames.dirtyFreeFrames(), "past the threshold: all punched");
        assertTrue(mem.allocatedBytes() <= before - 100L * PAGE);
    }

    @Test
    void exhaustionIsReported() {
        FrameAllocator frames = new FrameAllocator(mem);
        ExtentList out = new ExtentList();
        assertTrue(frames.allocate(200, out));
        assertFalse(frames.allocate(57, new ExtentList()));
        assertEquals(56, frames.freeFrames());
    }

    @Test
    void directMapIsBoundedByTheCapacity() {
        MemorySegment map = mem.directMap();
        assertEquals(256L * PAGE, map.byteSize());
        assertThrows(IndexOutOfBoundsException.class, () -> map.get(ValueLayout.JAVA_BYTE, 256L * PAGE));
        assertThrows(IndexOutOfBoundsException.class, () -> mem.frames(250, 7));
    }

    @Test
    void directMapAccessAfterCloseThrows() {
        PhysMem other = PhysMem.create(16L * PAGE, PAGE);
        MemorySegment map = other.directMap();
        map.set(ValueLayout.JAVA_INT, 0, 42);
        other.close();
        other.close(); // idempotent
        assertThrows(IllegalStateException.class, () -> map.get(ValueLayout.JAVA_INT, 0));
    }

    @Test
    void badSettingsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> PhysMem.create(0, PAGE));
        assertThrows(IllegalArgumentException.class, () -> PhysMem.create(PAGE + 1, PAGE));
        assertThrows(IllegalArgumentException.class, () -> PhysMem.create(1L << 20, 2048));
        assertThrows(IllegalArgumentException.class, () -> PhysMem.create(1L << 20, 3 * 4096));
        assertThrows(IllegalArgumentException.class, () -> new FrameAllocator(mem, -1));
    }

    @Test
    void largerPagesWork() {
        try (PhysMem big = PhysMem.create(8L << 16, 1 << 16)) {
            FrameAllocator frames = new FrameAllocator(big);
            ExtentList out = new ExtentList();
            assertTrue(frames.allocate(8, out));
            assertEquals(1 << 16, big.pageSize());
            assertEquals(8L << 16, big.frames(0, 8).byteSize());
        }
    }

    @Test
    void allocateRunReturnsOneContiguousRunWithoutZeroingIt() {
        FrameAllocator frames = new FrameAllocator(mem, Integer.MAX_VALUE);
        ExtentList all = new ExtentList();
        assertTrue(frames.allocate(256, all));
        mem.frames(0, 256).fill((byte) 0x42);
        frames.free(10, 30);
        frames.free(100, 12);
        frames.free(200, 3);
        int run = frames.allocateRun(12);
        assertEquals(100, run, "the best fit");
        assertEquals(0x42, mem.frames(run, 12).get(ValueLayout.JAVA_BYTE, 12L * PAGE - 1), "not zeroed: the caller overwrites it");
        assertEquals(33, frames.dirtyFreeFrames(), "the run's frames are no longer dirty");
        assertEquals(-1, frames.allocateRun(31), "no run that long");
        assertEquals(33, frames.freeFrames(), "nothing allocated");
        ExtentList again = new ExtentList();
        assertTrue(frames.allocate(3, again));
        assertEquals("[200+3]", again.toString());
        assertTrue(allZero(mem.frames(200, 3)), "a normal allocation still zeroes");
        assertThrows(IllegalArgumentException.class, () -> frames.allocateRun(0));
    }

    @Test
    void copyMovesScatteredFramesIntoARun() {
        FrameAllocator frames = new FrameAllocator(mem);
        ExtentList scattered = new ExtentList();
        scattered.add(3, 1);
        scattered.add(40, 2);
        scattered.add(7, 1);
        for (int i = 0; i < scattered.size(); i++) {
            for (int f = 0; f < scattered.length(i); f++) {
                int frame = scattered.start(i) + f;
                mem.frames(frame, 1).fill((byte) frame);
            }
        }
        int run = frames.allocateRun(4);
        assertTrue(run >= 0);
        mem.copy(scattered, run);
        int[] expected = {3, 40, 41, 7};
        for (int p = 0; p < 4; p++) {
            MemorySegment page = mem.frames(run + p, 1);
            assertEquals(expected[p], page.get(ValueLayout.JAVA_BYTE, 0), "page " + p);
            assertEquals(expected[p], page.get(ValueLayout.JAVA_BYTE, PAGE - 1), "page " + p);
        }
        assertEquals(40, mem.frames(40, 1).get(ValueLayout.JAVA_BYTE, 0), "the source is left as it was");
        ExtentList overlapping = new ExtentList();
        overlapping.add(run, 3);
        mem.copy(overlapping, run + 1); // memmove semantics
        assertEquals(3, mem.frames(run + 1, 1).get(ValueLayout.JAVA_BYTE, 5));
        assertEquals(41, mem.frames(run + 3, 1).get(ValueLayout.JAVA_BYTE, 5));
        assertThrows(IllegalArgumentException.class, () -> mem.copy(scattered, 253));
        assertThrows(IllegalArgumentException.class, () -> mem.copy(scattered, -1));
        ExtentList outside = new ExtentList();
        outside.add(250, 10);
        assertThrows(IllegalArgumentException.class, () -> mem.copy(outside, 0));
        assertEquals(3, mem.frames(run + 1, 1).get(ValueLayout.JAVA_BYTE, 5), "a refused copy changes nothing");
    }

    @Test
    void aClosedAllocatorRefusesAllocationsAndIgnoresFrees() {
        FrameAllocator frames = new FrameAllocator(mem);
        ExtentList out = new ExtentList();
        assertTrue(frames.allocate(20, out));
        frames.close();
        frames.close();
        assertTrue(frames.isClosed());
        assertThrows(IllegalStateException.class, () -> frames.allocate(1, new ExtentList()));
        assertThrows(IllegalStateException.class, () -> frames.allocateRun(1));
        assertThrows(IllegalStateException.class, () -> frames.trim());
        frames.free(out); // teardown in any order: the frames are gone with the allocator
        frames.free(0, 1);
        assertEquals(236, frames.freeFrames());
        assertEquals(256, frames.capacity());
    }

    @Test
    void allocationAndFreeAllocateNothingOnTheHeap() {
        FrameAllocator frames = new FrameAllocator(mem, Integer.MAX_VALUE); // dirty frames are zeroed on reuse
        ExtentList out = new ExtentList(8);
        for (int i = 0; i < 20_000; i++) {
            cycle(frames, out, i);
        }
        long before = HeapMeter.allocatedBytes();
        for (int i = 0; i < 10_000; i++) {
            cycle(frames, out, i);
        }
        long allocated = HeapMeter.allocatedBytes() - before;
        assertTrue(allocated < 1024, "10,000 allocate/free cycles allocated " + allocated + " bytes");
    }

    private static void cycle(FrameAllocator frames, ExtentList out, int i) {
        out.clear();
        if (!frames.allocate(1 + (i & 15), out, i & 1)) {
            throw new AssertionError("out of frames");
        }
        frames.free(out);
    }

    @Test
    void aTerabyteOfFramesIsOnlyAddressSpaceUntilUsed() {
        long tib = 1L << 40;
        try (PhysMem big = PhysMem.create(tib, PAGE); FrameAllocator frames = new FrameAllocator(big)) {
            assertEquals(1 << 28, big.frames());
            assertEquals(tib, big.directMap().byteSize());
            ExtentList low = new ExtentList();
            assertTrue(frames.allocate(1000, low));
            int high = frames.allocateRun((1 << 28) - 2000);
            assertTrue(high >= 1000, "a run across almost all of it: " + high);
            big.frames(high + (1 << 27), 1).fill((byte) 9); // the middle of the terabyte
            big.copy(low, high);
            assertTrue(allZero(big.frames(high, 1000)));
            assertEquals(9, big.frames(high + (1 << 27), 1).get(ValueLayout.JAVA_BYTE, 17));
            // the 2,001 frames touched (a read of a hole allocates a shmem page too), not the terabyte
            assertTrue(big.allocatedBytes() <= 16L << 20, "only touched frames occupy memory: " + big.allocatedBytes());
            frames.free(high, (1 << 28) - 2000);
            frames.free(low);
            assertEquals(1 << 28, frames.freeFrames());
        }
    }
}
