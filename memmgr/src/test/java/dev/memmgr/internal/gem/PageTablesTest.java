package dev.memmgr.internal.gem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memmgr.internal.mem.ExtentList;
import org.junit.jupiter.api.Test;

class PageTablesTest {
    private static final int NONE = PageTables.NONE;

    @Test
    void flatTablesAreChunkedAcrossTheChunkBoundary() {
        int pages = PageTables.CHUNK + 10;
        ExtentList units = new ExtentList();
        for (int p = 0; p < pages; p++) {
            units.add(2 * p, 1); // every other unit: no contiguous form
        }
        int[][] flat = PageTables.remap(null, NONE, pages, null, units, 0, pages);
        assertEquals(2, flat.length);
        assertEquals(PageTables.CHUNK, flat[0].length);
        assertEquals(10, flat[1].length, "the last chunk is cut to size");
        assertEquals(NONE, PageTables.compactBase(flat));
        assertEquals(2 * (pages - 1), PageTables.get(flat, NONE, pages - 1));
        assertEquals(2 * PageTables.CHUNK, PageTables.get(flat, NONE, PageTables.CHUNK));
        assertEquals(pages, PageTables.backed(flat, NONE, pages));
        ExtentList back = new ExtentList();
        PageTables.units(flat, NONE, pages, back);
        assertEquals(units.toString(), back.toString());
    }

    @Test
    void aTableBackedInOrderCompactsToItsBase() {
        int pages = PageTables.CHUNK + 3;
        ExtentList one = new ExtentList();
        one.add(1000, pages);
        int[][] flat = PageTables.remap(null, NONE, pages, null, one, 0, pages);
        assertEquals(1000, PageTables.compactBase(flat));
        assertTrue(PageTables.isContiguous(null, 1000));
        assertEquals(1000 + pages - 1, PageTables.get(null, 1000, pages - 1));
        ExtentList back = new ExtentList();
        PageTables.units(null, 1000, pages, back);
        assertEquals("[1000+" + pages + "]", back.toString());
    }

    @Test
    void holesStayHolesAndOnlyTheRangeIsFilled() {
        ExtentList two = new ExtentList();
        two.add(50, 2);
        int[][] flat = PageTables.remap(null, NONE, 8, null, two, 3, 5);
        assertEquals(3, PageTables.holes(flat, NONE, 0, 5));
        assertEquals(50, PageTables.get(flat, NONE, 3));
        assertEquals(51, PageTables.get(flat, NONE, 4));
        assertEquals(NONE, PageTables.get(flat, NONE, 5));
        assertEquals(6, PageTables.holes(flat, NONE, 0, 8));
        // eviction: backed pages get slots in order, holes stay
        ExtentList slots = new ExtentList();
        slots.add(7, 2);
        int[][] evicted = PageTables.remap(flat, NONE, 8, slots, null, 0, 0);
        assertEquals(7, PageTables.get(evicted, NONE, 3));
        assertEquals(8, PageTables.get(evicted, NONE, 4));
        assertEquals(NONE, PageTables.get(evicted, NONE, 0));
    }

    @Test
    void remapChecksItsUnitCounts() {
        ExtentList three = new ExtentList();
        three.add(0, 3);
        assertThrows(IllegalStateException.class, () -> PageTables.remap(null, NONE, 2, null, three, 0, 2));
        assertThrows(IllegalStateException.class, () -> PageTables.remap(null, NONE, 4, null, three, 0, 4));
    }
}
