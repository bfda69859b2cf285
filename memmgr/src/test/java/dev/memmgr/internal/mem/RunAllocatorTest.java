package dev.memmgr.internal.mem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memmgr.MemmgrExtension;
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
}
