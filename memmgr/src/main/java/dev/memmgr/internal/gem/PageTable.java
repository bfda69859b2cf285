package dev.memmgr.internal.gem;

import dev.memmgr.internal.mem.ExtentList;
import java.util.Arrays;

/**
 * An object's page table: for each page, the unit backing it (a frame when the object is
 * resident, a swap slot when evicted) or {@link #NONE} (never written: reads as zero). Immutable:
 * a change builds a new table, which the object's state transition installs. An object without
 * backing has no table at all (null). Never one object per page; two forms:
 * <ul>
 * <li>contiguous: every page backed and page p is unit base + p (the common case: a few bytes
 *     whatever the size);</li>
 * <li>chunked: a sorted array of chunk numbers and, per chunk present, {@value #CHUNK} units
 *     (512 bytes): heap grows with the pages populated, not with the object's size. A one-page
 *     write into a 1 TiB object costs one chunk; a fully scattered object costs about 4.1 bytes
 *     per page (the unit, plus a chunk's header and index spread over its pages).</li>
 * </ul>
 *
 * <p>Thread-safe (immutable); the owner publishes it through a volatile field.
 */
final class PageTable {
    static final int NONE = -1;
    static final int CHUNK_SHIFT = 7;
    static final int CHUNK = 1 << CHUNK_SHIFT;
    private static final int CHUNK_MASK = CHUNK - 1;

    private final int pages;
    /** The first unit of the contiguous form; {@code -1 - backed} in the chunked form. */
    private final int base;
    /**
     * Chunked form: the units per page of each chunk present, then, as the last element, the
     * chunk numbers present, ascending (see {@link #ids()}); null when contiguous. Three fields
     * rather than five: a table per object, so its size counts (24 bytes).
     */
    private final int[][] chunks;

    private PageTable(int pages, int base, int[][] chunks) {
        this.pages = pages;
        this.base = base;
        this.chunks = chunks;
    }

    /** A chunked table: {@code ids.length} chunks present, {@code backed} pages backed. */
    private static PageTable chunked(int pages, int[] ids, int[][] chunksPresent, int backed) {
        int[][] all = Arrays.copyOf(chunksPresent, ids.length + 1);
        all[ids.length] = ids;
        return new PageTable(pages, -1 - backed, all);
    }

    /** @return the chunk numbers present, ascending (chunked form), or null when contiguous */
    private int[] ids() {
        int[][] c = chunks;
        return c == null ? null : c[c.length - 1];
    }

    /** @return a table in which page p is unit base + p, every page backed */
    static PageTable contiguous(int pages, int base) {
        if (pages <= 0 || base < 0 || (long) base + pages > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("contiguous table " + base + "+" + pages);
        }
        return new PageTable(pages, base, null);
    }

    /** @return the number of pages the table covers (the object's) */
    int pages() {
        return pages;
    }

    /** @return pages backed by a unit */
    int backed() {
        return chunks == null ? pages : -1 - base;
    }

    boolean isContiguous() {
        return chunks == null;
    }

    /** @return the first unit of a contiguous table */
    int base() {
        assert chunks == null;
        return base;
    }

    /** @return the unit of page p, or NONE */
    int get(int p) {
        if (chunks == null) {
            return base + p;
        }
        int i = Arrays.binarySearch(ids(), p >>> CHUNK_SHIFT);
        return i < 0 ? NONE : chunks[i][p & CHUNK_MASK];
    }

    /**
     * @return how many pages from p (at most {@code limit}, at least 1) continue the run that
     *     starts at p: consecutive units (u, u + 1, ...) or consecutive holes
     */
    int runLength(int p, int limit) {
        if (chunks == null) {
            return limit;
        }
        int u = get(p);
        int n = 1;
        while (n < limit) {
            int v = get(p + n);
            if (u == NONE ? v != NONE : v != u + n) {
                break;
            }
            n++;
        }
        return n;
    }

    /** @return the number of unbacked pages in [from, to) of a table, or of no table (null) */
    static int holes(PageTable t, int from, int to) {
        if (t == null) {
            return to - from;
        }
        int[] ids = t.ids();
        if (ids == null) {
            return 0;
        }
        int backedIn = 0;
        int first = from >>> CHUNK_SHIFT;
        int last = (to - 1) >>> CHUNK_SHIFT;
        int i = lowerBound(ids, first);
        for (; i < ids.length && ids[i] <= last; i++) {
            int c = ids[i];
            int lo = Math.max(from, c << CHUNK_SHIFT);
            int hi = Math.min(to, (c << CHUNK_SHIFT) + t.chunks[i].length);
            int[] chunk = t.chunks[i];
            for (int p = lo; p < hi; p++) {
                if (chunk[p & CHUNK_MASK] != NONE) {
                    backedIn++;
                }
            }
        }
        return (to - from) - backedIn;
    }

    /** Appends the units of the backed pages, in page order, as merged extents. */
    void units(ExtentList out) {
        if (chunks == null) {
            out.add(base, pages);
            return;
        }
        for (int i = 0; i < chunks.length - 1; i++) {
            for (int u : chunks[i]) {
                if (u != NONE) {
                    out.add(u, 1);
                }
            }
        }
    }

    /**
     * Builds a table from an old one (or none): each backed page of the old table takes the
     * next unit of {@code forBacked} (or keeps its unit when that is null); each unbacked page
     * in {@code [from, to)} takes the next unit of {@code forHoles} (when not null); other pages
     * stay unbacked. Both lists must be used up exactly. Work is proportional to the chunks
     * present and the chunks of [from, to), not to the object's size.
     *
     * @return the new table, in the contiguous form when it allows; null when nothing is backed
     */
    static PageTable remap(PageTable old, int pages, ExtentList forBacked, ExtentList forHoles, int from, int to) {
        Cursor b = forBacked == null ? null : new Cursor(forBacked);
        Cursor h = forHoles == null ? null : new Cursor(forHoles);
        if (h == null || from >= to) {
            from = 0;
            to = 0;
        }
        PageTable t;
        if (old != null && old.chunks == null && b != null && forBacked.size() == 1 && (h == null || from == to)) {
            t = contiguous(pages, forBacked.start(0)); // contiguous moved to one run: the common eviction and swap-in
            b.skip(pages);
        } else if (old == null && h != null && from == 0 && to == pages && forHoles.size() == 1) {
            t = contiguous(pages, forHoles.start(0)); // a whole object populated from one run
            h.skip(pages);
        } else {
            t = build(old, pages, b, h, from, to);
        }
        if ((b != null && !b.done()) || (h != null && !h.done())) {
            throw new IllegalStateException("page table remap: units left over");
        }
        return t;
    }

    private static PageTable build(PageTable old, int pages, Cursor b, Cursor h, int from, int to) {
        int lastChunk = (pages - 1) >>> CHUNK_SHIFT;
        int[] ids = new int[8];
        int[][] chunks = new int[8][];
        int n = 0;
        int backed = 0;
        int oi = 0; // next chunk of a chunked old table
        int[] oldIds = old == null ? null : old.ids();
        int holeChunk = from < to ? from >>> CHUNK_SHIFT : Integer.MAX_VALUE;
        int holeLast = from < to ? (to - 1) >>> CHUNK_SHIFT : -1;
        int c = nextChunk(old, oi, holeChunk, holeLast, -1, lastChunk);
        while (c >= 0) {
            while (oldIds != null && oi < oldIds.length && oldIds[oi] < c) {
                oi++;
            }
            int lo = c << CHUNK_SHIFT;
            int len = Math.min(CHUNK, pages - lo);
            int[] chunk = new int[len];
            int used = 0;
            for (int k = 0; k < len; k++) {
                int p = lo + k;
                int u = old == null ? NONE : oldIds == null ? old.base + p
                        : oi < oldIds.length && oldIds[oi] == c ? old.chunks[oi][k] : NONE;
                int v;
                if (u != NONE) {
                    v = b == null ? u : b.next();
                } else if (p >= from && p < to) {
                    v = h.next();
                } else {
                    v = NONE;
                }
                chunk[k] = v;
                if (v != NONE) {
                    used++;
                }
            }
            if (used > 0) {
                if (n == ids.length) {
                    ids = Arrays.copyOf(ids, n * 2);
                    chunks = Arrays.copyOf(chunks, n * 2);
                }
                ids[n] = c;
                chunks[n] = chunk;
                n++;
                backed += used;
            }
            c = nextChunk(old, oi, holeChunk, holeLast, c, lastChunk);
        }
        if (backed == 0) {
            return null;
        }
        if (backed == pages) {
            int first = chunks[0][0];
            if (isRun(chunks, n, first)) {
                return contiguous(pages, first);
            }
        }
        return chunked(pages, Arrays.copyOf(ids, n), chunks, backed);
    }

    /** @return the next chunk after {@code after} that the old table or the hole range touches, or -1 */
    private static int nextChunk(PageTable old, int oi, int holeFirst, int holeLast, int after, int lastChunk) {
        int candidate = Integer.MAX_VALUE;
        if (old != null) {
            int[] ids = old.ids();
            if (ids == null) {
                candidate = after + 1 <= lastChunk ? after + 1 : Integer.MAX_VALUE;
            } else {
                int i = oi;
                while (i < ids.length && ids[i] <= after) {
                    i++;
                }
                if (i < ids.length) {
                    candidate = ids[i];
                }
            }
        }
        if (holeLast >= 0 && after + 1 <= holeLast) {
            candidate = Math.min(candidate, Math.max(after + 1, holeFirst));
        }
        return candidate == Integer.MAX_VALUE ? -1 : candidate;
    }

    private static boolean isRun(int[][] chunks, int n, int first) {
        int expected = first;
        for (int i = 0; i < n; i++) {
            for (int u : chunks[i]) {
                if (u != expected++) {
                    return false;
                }
            }
        }
        return true;
    }

    /** @return the index of the first element >= key */
    private static int lowerBound(int[] a, int key) {
        int i = Arrays.binarySearch(a, key);
        return i >= 0 ? i : -i - 1;
    }

    @Override
    public String toString() {
        return chunks == null ? "PageTable[" + pages + " pages at " + base + "]"
                : "PageTable[" + pages + " pages, " + backed() + " backed in " + (chunks.length - 1) + " chunks]";
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

        void skip(int n) {
            for (int left = n; left > 0; ) {
                if (extent >= list.size()) {
                    throw new IllegalStateException("page table remap: not enough units");
                }
                int take = Math.min(left, list.length(extent) - offset);
                offset += take;
                left -= take;
                if (offset == list.length(extent)) {
                    extent++;
                    offset = 0;
                }
            }
        }

        boolean done() {
            return extent >= list.size();
        }
    }
}
