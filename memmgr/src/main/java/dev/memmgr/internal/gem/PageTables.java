package dev.memmgr.internal.gem;

import dev.memmgr.internal.mem.ExtentList;

/**
 * An object's page table: for each page, the unit backing it (a frame when the object is
 * resident, a swap slot when evicted) or {@link #NONE} (never written: reads as zero). Kept in
 * one of two forms, never one object per page:
 * <ul>
 * <li>contiguous: no array, a base in an int field, when every page is backed and page p is
 *     unit base + p (the common case: nothing on the heap whatever the size);</li>
 * <li>flat: one unit or NONE per page (4 bytes per page), in chunks of {@value #CHUNK} ints
 *     (256 KiB) so that no array of a large object is a humongous object of G1, which would
 *     waste up to half its regions (measured: a 1 GiB scattered object cost 8 bytes per page
 *     with one array, 4 with chunks).</li>
 * </ul>
 * No array and base NONE means no backing. Methods take the pair (flat, base); {@link #remap}
 * returns a flat array that the owner stores with {@link #compactBase}.
 *
 * <p>Stateless helpers; the caller guards the table (the object's reservation).
 */
final class PageTables {
    static final int NONE = -1;
    static final int CHUNK_SHIFT = 16;
    static final int CHUNK = 1 << CHUNK_SHIFT;
    private static final int CHUNK_MASK = CHUNK - 1;

    private PageTables() {
    }

    static boolean isContiguous(int[][] flat, int base) {
        return flat == null && base != NONE;
    }

    /** @return the unit of page p, or NONE */
    static int get(int[][] flat, int base, int p) {
        if (flat != null) {
            return flat[p >>> CHUNK_SHIFT][p & CHUNK_MASK];
        }
        return base == NONE ? NONE : base + p;
    }

    /** @return the number of unbacked pages in [from, to) */
    static int holes(int[][] flat, int base, int from, int to) {
        if (flat == null) {
            return base == NONE ? to - from : 0;
        }
        int n = 0;
        for (int p = from; p < to; p++) {
            if (flat[p >>> CHUNK_SHIFT][p & CHUNK_MASK] == NONE) {
                n++;
            }
        }
        return n;
    }

    /** @return the number of backed pages */
    static int backed(int[][] flat, int base, int pages) {
        return pages - holes(flat, base, 0, pages);
    }

    /** Appends the units of the backed pages, in page order, as merged extents. */
    static void units(int[][] flat, int base, int pages, ExtentList out) {
        if (flat == null) {
            if (base != NONE) {
                out.add(base, pages);
            }
            return;
        }
        for (int p = 0; p < pages; p++) {
            int u = flat[p >>> CHUNK_SHIFT][p & CHUNK_MASK];
            if (u != NONE) {
                out.add(u, 1);
            }
        }
    }

    /**
     * Builds a new flat table: each backed page of the old one takes the next unit of
     * {@code forBacked} (or keeps its unit when that is null), each unbacked page in
     * {@code [from, to)} takes the next unit of {@code forHoles}; other pages stay unbacked.
     */
    static int[][] remap(int[][] flat, int base, int pages, ExtentList forBacked, ExtentList forHoles, int from, int to) {
        int[][] out = newFlat(pages);
        Cursor backed = forBacked == null ? null : new Cursor(forBacked);
        Cursor holes = forHoles == null ? null : new Cursor(forHoles);
        for (int p = 0; p < pages; p++) {
            int u = get(flat, base, p);
            int v;
            if (u != NONE) {
                v = backed == null ? u : backed.next();
            } else if (p >= from && p < to && holes != null) {
                v = holes.next();
            } else {
                v = NONE;
            }
            out[p >>> CHUNK_SHIFT][p & CHUNK_MASK] = v;
        }
        if ((backed != null && !backed.done()) || (holes != null && !holes.done())) {
            throw new IllegalStateException("page table remap: units left over");
        }
        return out;
    }

    /**
     * @return the base of a flat table in which every page is backed in order (it can be kept
     *     in the contiguous form), or NONE
     */
    static int compactBase(int[][] flat) {
        int base = flat[0][0];
        if (base == NONE) {
            return NONE;
        }
        int p = 0;
        for (int[] chunk : flat) {
            for (int u : chunk) {
                if (u != base + p) {
                    return NONE;
                }
                p++;
            }
        }
        return base;
    }

    /** @return a flat table for {@code pages} pages: full chunks, the last one cut to size */
    static int[][] newFlat(int pages) {
        int chunks = (pages + CHUNK - 1) >>> CHUNK_SHIFT;
        int[][] flat = new int[chunks][];
        for (int c = 0; c < chunks; c++) {
            flat[c] = new int[Math.min(CHUNK, pages - (c << CHUNK_SHIFT))];
        }
        return flat;
    }

    /** Walks the units of an extent list one by one. */
    private static final class Cursor {
        private final ExtentList list;
        private int extent;
        private int offset;

        Cursor(ExtentList list) {
            this.list = list;
        }

        int next() {
            if (extent >= list.size()) {
                throw new IllegalStateException("page table remap: not enough units");
            }
            int u = list.start(extent) + offset;
            if (++offset == list.length(extent)) {
                extent++;
                offset = 0;
            }
            return u;
        }

        boolean done() {
            return extent >= list.size();
        }
    }
}
