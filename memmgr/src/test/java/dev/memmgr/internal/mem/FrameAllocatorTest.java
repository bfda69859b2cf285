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
}
