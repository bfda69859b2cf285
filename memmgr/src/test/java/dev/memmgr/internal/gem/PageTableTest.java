package dev.memmgr.internal.gem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memmgr.MemmgrExtension;
import dev.memmgr.internal.mem.ExtentList;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The page table: both forms, holes, units in page order, remapping for population, swap-in and
 * eviction, and heap in proportion to the pages populated rather than to the object's size.
 */
@ExtendWith(MemmgrExtension.class)
class PageTableTest {
    private static ExtentList extents(int... startLength) {
        ExtentList l = new ExtentList();
        for (int i = 0; i < startLength.length; i += 2) {
            l.add(startLength[i], startLength[i + 1]);
        }
        return l;
    }

    @Test
    void populatingAWholeObjectFromOneRunGivesTheContiguousForm() {
        PageTable t = PageTable.remap(null, 10, null, extents(100, 10), 0, 10);
        assertTrue(t.isContiguous());
        assertEquals(100, t.base());
        assertEquals(10, t.backed());
        assertEquals(105, t.get(5));
        assertEquals(10, t.runLength(0, 10));
        assertEquals(0, PageTable.holes(t, 0, 10));
    }

    @Test
    void partialPopulationLeavesHolesThatReadAsNone() {
        PageTable t = PageTable.remap(null, 300, null, extents(7, 2), 140, 142);
        assertFalse(t.isContiguous());
        assertEquals(2, t.backed());
        assertEquals(PageTable.NONE, t.get(0));
        assertEquals(7, t.get(140));
        assertEquals(8, t.get(141));
        assertEquals(PageTable.NONE, t.get(299));
        assertEquals(298, PageTable.holes(t, 0, 300));
        assertEquals(0, PageTable.holes(t, 140, 142));
        assertEquals(140, t.runLength(0, 300), "a run of holes up to the first backed page");
        assertEquals(2, t.runLength(140, 160));
        ExtentList units = new ExtentList();
        t.units(units);
        assertEquals("[7+2]", units.toString());
    }

    @Test
    void fillingTheRemainingHolesCanCompleteTheContiguousForm() {
        PageTable t = PageTable.remap(null, 4, null, extents(11, 2), 1, 3);
        PageTable full = PageTable.remap(t, 4, null, extents(10, 1, 13, 1), 0, 4);
        assertTrue(full.isContiguous(), full.toString());
        assertEquals(10, full.base());
    }

    @Test
    void remappingBackedPagesKeepsTheHolesAndMovesEveryUnit() {
        PageTable resident = PageTable.remap(null, 200, null, extents(50, 3, 90, 1), 0, 4);
        assertEquals(4, resident.backed());
        PageTable evicted = PageTable.remap(resident, 200, extents(1000, 4), null, 0, 0);
        assertEquals(4, evicted.backed());
        assertEquals(1000, evicted.get(0));
        assertEquals(1003, evicted.get(3));
        assertEquals(PageTable.NONE, evicted.get(4));
        PageTable back = PageTable.remap(evicted, 200, extents(5, 4), extents(9, 1), 150, 151);
        assertEquals(5, back.backed());
        assertEquals(5, back.get(0));
        assertEquals(9, back.get(150));
    }

    @Test
    void contiguousTablesMoveToOneRunWithoutWalkingPages() {
        PageTable t = PageTable.contiguous(1 << 28, 0); // a 1 TiB object of 4 KiB pages
        PageTable moved = PageTable.remap(t, 1 << 28, extents(5, 1 << 28), null, 0, 0);
        assertTrue(moved.isContiguous());
        assertEquals(5, moved.base());
    }

    @Test
    void unitsLeftOverOrMissingAreRefused() {
        assertThrows(IllegalStateException.class, () -> PageTable.remap(null, 4, null, extents(0, 5), 0, 4));
        assertThrows(IllegalStateException.class, () -> PageTable.remap(null, 4, null, extents(0, 3), 0, 4));
        assertNull(PageTable.remap(null, 4, null, null, 0, 4), "nothing backed: no table");
    }

    @Test
    void aOnePageWriteIntoATebibyteObjectCostsOneChunk() {
        int pages = 1 << 28;
        PageTable t = PageTable.remap(null, pages, null, extents(3, 1), 1, 2);
        assertEquals(1, t.backed());
        assertEquals(3, t.get(1));
        assertEquals(pages - 1, PageTable.holes(t, 0, pages));
        PageTable two = PageTable.remap(t, pages, null, extents(4, 1), pages - 1, pages);
        assertEquals(4, two.get(pages - 1));
        assertEquals(2, two.backed());
        assertEquals(pages - 2, PageTable.holes(two, 0, pages));
    }

    @Test
    void randomTablesAgreeWithAFlatModel() {
        long seed = Long.getLong("memmgr.seed", 42L);
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int round = 0; round < 200; round++) {
            int pages = 1 + rnd.nextInt(700);
            int[] model = new int[pages];
            java.util.Arrays.fill(model, PageTable.NONE);
            PageTable t = null;
            int nextUnit = 0;
            for (int step = 0; step < 6; step++) {
                int from = rnd.nextInt(pages);
                int to = from + 1 + rnd.nextInt(pages - from);
                int holes = PageTable.holes(t, from, to);
                int expectHoles = 0;
                for (int p = from; p < to; p++) {
                    if (model[p] == PageTable.NONE) {
                        expectHoles++;
                    }
                }
                assertEquals(expectHoles, holes, "seed " + seed + " round " + round);
                if (holes == 0) {
                    continue;
                }
                ExtentList fill = new ExtentList();
                for (int i = 0; i < holes; i++) {
                    nextUnit += 1 + (rnd.nextInt(3) == 0 ? 1 : 0); // mostly consecutive, some gaps
                    fill.add(nextUnit, 1);
                }
                ExtentList copy = new ExtentList();
                copy.addAll(fill);
                int k = 0;
                int[] units = new int[holes];
                for (int i = 0; i < copy.size(); i++) {
                    for (int j = 0; j < copy.length(i); j++) {
                        units[k++] = copy.start(i) + j;
                    }
                }
                k = 0;
                for (int p = from; p < to; p++) {
                    if (model[p] == PageTable.NONE) {
                        model[p] = units[k++];
                    }
                }
                t = PageTable.remap(t, pages, null, fill, from, to);
                for (int p = 0; p < pages; p++) {
                    assertEquals(model[p], t.get(p), "seed " + seed + " round " + round + " page " + p);
                }
                int backed = 0;
                for (int u : model) {
                    backed += u == PageTable.NONE ? 0 : 1;
                }
                assertEquals(backed, t.backed());
            }
        }
    }
}
