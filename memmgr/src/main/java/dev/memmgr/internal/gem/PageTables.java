package dev.memmgr.internal.gem;

import dev.memmgr.internal.mem.ExtentList;

/**
 * An object's page table: for each page, the unit backing it (a frame when the object is
 * resident, a swap slot when evicted) or {@link #NONE} (never written: reads as zero). Stored in
 * one int array in one of two forms, never one object per page:
 * <ul>
 * <li>contiguous: {@code int[]{base}} when every page is backed and page p is unit base + p
 *     (the common case: 4 bytes per object whatever its size);</li>
 * <li>flat: {@code int[pages]}, one unit or NONE per page (4 bytes per page).</li>
 * </ul>
 * A one-page object has a one-element array in both forms. No table (null) means no backing.
 *
 * <p>Stateless helpers; the caller guards the table (the object's reservation).
 */
final class PageTables {
    static final int NONE = -1;

    private PageTables() {
    }

    static boolean isContiguous(int[] table, int pages) {
        return table != null && table.length == 1 && pages > 1;
    }

    /** @return the unit of page p, or NONE */
    static int get(int[] table, int pages, int p) {
        if (table == null) {
            return NONE;
        }
        return table.length == 1 && pages > 1 ? table[0] + p : table[p];
    }

    /** @return the number of unbacked pages in [from, to) */
    static int holes(int[] table, int pages, int from, int to) {
        if (table == null) {
            return to - from;
        }
        if (isContiguous(table, pages)) {
            return 0;
        }
        int n = 0;
        for (int p = from; p < to; p++) {
            if (table[p] == NONE) {
                n++;
            }
        }
        return n;
    }

    /** Appends the units of the backed pages, in page order, as merged extents. */
    static void units(int[] table, int pages, ExtentList out) {
        if (table == null) {
            return;
        }
        if (isContiguous(table, pages)) {
            out.add(table[0], pages);
            return;
        }
        for (int p = 0; p < pages; p++) {
            if (table[p] != NONE) {
                out.add(table[p], 1);
            }
        }
    }

    /**
     * Builds a new table: each backed page of {@code old} takes the next unit of
     * {@code forBacked} (or keeps its unit when that is null), each unbacked page in
     * {@code [from, to)} takes the next unit of {@code forHoles}; other pages stay unbacked.
     * The result is compacted to the contiguous form when possible.
     */
    static int[] remap(int[] old, int pages, ExtentList forBacked, ExtentList forHoles, int from, int to) {
        int[] flat = new int[pages];
        Cursor backed = forBacked == null ? null : new Cursor(forBacked);
        Cursor holes = forHoles == null ? null : new Cursor(forHoles);
        for (int p = 0; p < pages; p++) {
            int u = get(old, pages, p);
            if (u != NONE) {
                flat[p] = backed == null ? u : backed.next();
            } else if (p >= from && p < to && holes != null) {
                flat[p] = holes.next();
            } else {
                flat[p] = NONE;
            }
        }
        if ((backed != null && !backed.done()) || (holes != null && !holes.done())) {
            throw new IllegalStateException("page table remap: units left over");
        }
        return compact(flat, pages);
    }

    /** @return the contiguous form of a flat table when every page is backed in order, else the table */
    static int[] compact(int[] flat, int pages) {
        if (pages <= 1 || flat[0] == NONE) {
            return flat;
        }
        for (int p = 1; p < pages; p++) {
            if (flat[p] != flat[0] + p) {
                return flat;
            }
        }
        return new int[] {flat[0]};
    }

    /** @return the number of backed pages */
    static int backed(int[] table, int pages) {
        return table == null ? 0 : pages - holes(table, pages, 0, pages);
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
