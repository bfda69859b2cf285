package dev.memmgr.internal.swap;

import static dev.memmgr.internal.swap.Pages.extents;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memmgr.MemmgrExtension;
import dev.memmgr.internal.mem.ExtentList;
import dev.memmgr.internal.mem.PhysMem;
import dev.memmgr.internal.sys.Errno;
import dev.memmgr.internal.sys.ErrnoException;
import dev.memmgr.internal.sys.LibC;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(MemmgrExtension.class)
class SwapFailureTest {
    private static final int PAGE = 4096;

    @TempDir
    Path dir;
    private PhysMem mem;
    private SwapSpace swap;
    private SwapFaults faults;

    @BeforeEach
    void setUp() {
        mem = PhysMem.create(16L << 20, PAGE);
        swap = SwapSpace.createTemp(dir, 1024L * PAGE, mem);
        faults = SwapFaults.install(swap);
    }

    @AfterEach
    void tearDown() {
        swap.close();
        mem.close();
    }

    private ExtentList allocate(int n) {
        ExtentList out = new ExtentList();
        assertTrue(swap.allocate(n, out));
        return out;
    }

    /** Writes a pattern from {@code frames} to new slots and zeroes the frames. */
    private ExtentList evict(ExtentList frames, long seed) {
        ExtentList slots = allocate((int) frames.units());
        Pages.fill(mem, frames, seed);
        swap.write(frames, slots);
        Pages.zero(mem, frames);
        return slots;
    }

    @Test
    void checksumMismatchNamesTheSlotAndSparesTheOthers() {
        allocate(7); // the object's slots start at 7
        ExtentList frames = extents(20, 4);
        ExtentList slots = evict(frames, 11);
        assertEquals("[7+4]", slots.toString());
        faults.corruptSlot(9);
        SwapIoException e = assertThrows(SwapIoException.class, () -> swap.read(slots, frames));
        assertTrue(e.getMessage().contains("checksum mismatch in slot 9"), e.getMessage());
        assertTrue(e.getMessage().startsWith("swap read of 4 pages at slot 7 failed: "), e.getMessage());
        assertThrows(SwapIoException.class, () -> swap.read(extents(9, 1), extents(22, 1)), "still bad");
        // the other slots read fine, one by one, into their own frames
        Pages.zero(mem, frames);
        swap.read(extents(7, 2), extents(20, 2));
        swap.read(extents(10, 1), extents(23, 1));
        String bad = Pages.mismatch(mem, frames, 11);
        assertTrue(bad != null && bad.startsWith("page 2 "), bad);
        assertEquals(11, swap.usedSlots(), "a failed read frees nothing");
    }

    @Test
    void corruptionAnywhereInThePageIsCaught() {
        ExtentList frames = extents(0, 1);
        ExtentList slots = evict(frames, 12);
        faults.corruptSlot(slots.start(0), PAGE - 1);
        assertThrows(SwapIoException.class, () -> swap.read(slots, frames));
        faults.corruptSlot(slots.start(0), PAGE - 1); // flip back
        swap.read(slots, frames);
        assertNull(Pages.mismatch(mem, frames, 12));
    }

    @Test
    void injectedWriteFailureLeavesFramesAndSlotsAlone() {
        for (int errno : new int[] {Errno.EIO, Errno.ENOSPC}) {
            ExtentList frames = extents(100, 16);
            ExtentList slots = allocate(16);
            Pages.fill(mem, frames, errno);
            faults.failWrites(1, errno);
            SwapIoException e = assertThrows(SwapIoException.class, () -> swap.write(frames, slots));
            ErrnoException cause = assertInstanceOf(ErrnoException.class, e.getCause());
            assertEquals(errno, cause.errno());
            assertEquals("swap write of 16 pages at slot " + slots.start(0) + " failed: pwritev: "
                    + Errno.name(errno) + " (" + LibC.strerror(errno) + ")", e.getMessage());
            assertNull(Pages.mismatch(mem, frames, errno), "frames untouched");
            assertEquals(16, swap.usedSlots(), "slots stay allocated");
            swap.write(frames, slots); // the fault was for one write only
            Pages.zero(mem, frames);
            swap.read(slots, frames);
            assertNull(Pages.mismatch(mem, frames, errno));
            swap.free(slots);
        }
    }

    @Test
    void injectedReadFailureKeepsTheSlotsReadable() {
        ExtentList frames = extents(40, 8);
        ExtentList slots = evict(frames, 13);
        faults.failReads(2);
        for (int i = 0; i < 2; i++) {
            SwapIoException e = assertThrows(SwapIoException.class, () -> swap.read(slots, frames));
            assertEquals(Errno.EIO, assertInstanceOf(ErrnoException.class, e.getCause()).errno());
            assertTrue(e.getMessage().startsWith("swap read of 8 pages at slot 0 failed: preadv: EIO"), e.getMessage());
        }
        swap.read(slots, frames);
        assertNull(Pages.mismatch(mem, frames, 13));
    }

    @Test
    void injectedShortReadFails() {
        ExtentList frames = extents(40, 8);
        ExtentList slots = evict(frames, 14);
        faults.shortReads(1);
        SwapIoException e = assertThrows(SwapIoException.class, () -> swap.read(slots, frames));
        assertTrue(e.getMessage().contains("short read"), e.getMessage());
        faults.restore();
        swap.read(slots, frames);
        assertNull(Pages.mismatch(mem, frames, 14));
        assertEquals(1, faults.readCalls(), "restore detaches the counters too");
    }

    @Test
    void fileShorterThanItsSlotsIsAShortRead() {
        ExtentList frames = extents(0, 4);
        ExtentList slots = evict(frames, 15);
        LibC.ftruncate(swap.fd(), swap.slotOffset(2) + 100); // a real end of file inside slot 2
        SwapIoException e = assertThrows(SwapIoException.class, () -> swap.read(slots, frames));
        assertTrue(e.getMessage().contains("short read: end of file after " + (2 * PAGE + 100) + " of "
                + (4 * PAGE) + " bytes"), e.getMessage());
        swap.read(extents(0, 2), extents(0, 2)); // the slots before the end are intact
        String bad = Pages.mismatch(mem, frames, 15);
        assertTrue(bad != null && bad.startsWith("page 2 "), bad);
    }

    @Test
    void closedSpaceRefusesIoAndAllocation() {
        ExtentList frames = extents(0, 2);
        ExtentList slots = evict(frames, 16);
        swap.close();
        assertTrue(swap.isClosed());
        assertThrows(IllegalStateException.class, () -> swap.write(frames, slots));
        assertThrows(IllegalStateException.class, () -> swap.read(slots, frames));
        assertThrows(IllegalStateException.class, () -> swap.allocate(1, new ExtentList()));
        assertThrows(IllegalStateException.class, () -> faults.corruptSlot(0));
        swap.free(slots); // teardown in any order: nothing to free once closed
        assertEquals(0, swap.usedSlots());
        assertEquals(swap.capacitySlots(), swap.freeSlots(), "the slot allocator went with the space");
        swap.close(); // idempotent
        assertEquals(1, faults.writeCalls(), "no I/O after close");
    }

    @Test
    void closedPhysMemIsRefusedBeforeAnyIo() {
        PhysMem other = PhysMem.create(1L << 20, PAGE);
        SwapSpace space = SwapSpace.createTemp(dir, 16L * PAGE, other);
        try {
            ExtentList slots = new ExtentList();
            assertTrue(space.allocate(2, slots));
            other.close();
            assertThrows(IllegalStateException.class, () -> space.write(extents(0, 2), slots));
            assertThrows(IllegalStateException.class, () -> space.read(slots, extents(0, 2)));
        } finally {
            space.close();
        }
    }
}
