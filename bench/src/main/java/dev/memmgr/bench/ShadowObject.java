package dev.memmgr.bench;

import dev.memmgr.BufferObject;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The stress tool's model of one live buffer object: what its content must be, in 4 bytes per
 * page. Every write covers whole pages and fills page {@code p} with bytes computed from
 * {@code (id, stamp, p)}, where the stamp is a number the object never used before; the model
 * keeps the stamp of the last write of each page. A stamp of 0 means never written: the page
 * must read as zeros. So a 16 MiB object costs 16 KiB of heap, and gigabytes of objects a few
 * MiB.
 *
 * <p>Page content for stamp s != 0: the 8-byte little-endian words {@code w[i] = seed(id, s, p)
 * + i * STEP}. Any shifted, stale, swapped or foreign page differs in its first word already.
 *
 * <p>Copies: a GPU copy job ({@link VmJob}) puts another page's content in a page: then the page's
 * content key is that page's {@code (id, stamp, page)}, kept in two arrays made at the first copy
 * (8 more bytes per page, only for objects that received a copy). {@link #check(MemorySegment,
 * long, int)} and {@link #expectedWord(int, long)} follow them; a write with a new stamp makes the
 * page the object's own again.
 *
 * <p>Not thread-safe by itself: the stress tool's slot claims order every access (fields are
 * written only under an exclusive claim, read under a shared or exclusive one).
 */
final class ShadowObject {
    static final ValueLayout.OfLong WORD = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final long STEP = 0x9E3779B97F4A7C15L;

    /** Unique over the run; part of every page's bytes, so no object can pass for another. */
    final int id;
    final Workload.Kind kind;
    final BufferObject bo;
    final int pages;
    final int pageSize;
    /** Stamp of the last write of each page; 0: never written (zeros). */
    final int[] stamps;
    /** The last stamp handed out. */
    int lastStamp;
    /** Per page, the id of the object whose pattern a copy put there (0: the page's own); null until the first copy. */
    private int[] fromId;
    /** Per page with {@code fromId != 0}, the page of that object whose pattern it holds. */
    private int[] fromPage;
    /** madvise(DONTNEED) in force: the content may be purged (then reads throw PurgedException). */
    boolean dontNeed;
    /**
     * The model no longer knows the content (an operation failed in a way the contract does not
     * allow, already reported): the object is no longer verified, only closed.
     */
    boolean unknown;

    ShadowObject(int id, Workload.Kind kind, BufferObject bo, int pageSize) {
        this.id = id;
        this.kind = kind;
        this.bo = bo;
        this.pageSize = pageSize;
        this.pages = (int) (bo.size() / pageSize);
        this.stamps = new int[pages];
    }

    long size() {
        return (long) pages * pageSize;
    }

    int nextStamp() {
        return ++lastStamp;
    }

    /** Records that pages [first, first + n) now hold stamp s. */
    void wrote(int first, int n, int s) {
        java.util.Arrays.fill(stamps, first, first + n, s);
        if (fromId != null) {
            java.util.Arrays.fill(fromId, first, first + n, 0);
        }
    }

    /** @return the id of the object whose pattern page p holds (its own unless a copy put another there) */
    int contentId(int p) {
        return fromId == null || fromId[p] == 0 ? id : fromId[p];
    }

    /** @return the page whose pattern page p holds */
    int contentPage(int p) {
        return fromId == null || fromId[p] == 0 ? p : fromPage[p];
    }

    /**
     * Records that page p now holds the pattern of page {@code srcPage} of object {@code srcId} at
     * stamp {@code stamp} (a copy, or an undone copy); stamp 0 means zeros.
     */
    void setContent(int p, int srcId, int stamp, int srcPage) {
        stamps[p] = stamp;
        if (srcId == id && srcPage == p) {
            if (fromId != null) {
                fromId[p] = 0;
            }
            return;
        }
        if (fromId == null) {
            fromId = new int[pages];
            fromPage = new int[pages];
        }
        fromId[p] = srcId;
        fromPage[p] = srcPage;
    }

    /**
     * Checks page p's bytes at {@code seg[off, off + pageSize)} against the model.
     *
     * @return the offset in the page of the first wrong word, or -1 if the page is right
     */
    long check(MemorySegment seg, long off, int p) {
        return check(seg, off, contentId(p), stamps[p], contentPage(p), pageSize);
    }

    /** @return the word page p must hold at byte {@code offsetInPage} */
    long expectedWord(int p, long offsetInPage) {
        return expectedWord(contentId(p), stamps[p], contentPage(p), offsetInPage);
    }

    @Override
    public String toString() {
        return "object " + id + " (" + kind.label + ", handle " + bo.handle() + ", " + Sizes.format(size())
                + ", " + pages + " pages)";
    }

    // ---- the pattern -------------------------------------------------------------------------

    static long seed(int id, int stamp, int page) {
        long x = ((long) id << 32) ^ (stamp & 0xFFFFFFFFL);
        x = mix(x) ^ (page * 0xC2B2AE3D27D4EB4FL);
        return mix(x);
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** @return the expected word at byte {@code offsetInPage} of a page (offset a multiple of 8) */
    static long expectedWord(int id, int stamp, int page, long offsetInPage) {
        return stamp == 0 ? 0 : seed(id, stamp, page) + (offsetInPage >>> 3) * STEP;
    }

    /** Fills {@code pageSize} bytes of seg at off with the content of page p at stamp s. */
    static void fill(MemorySegment seg, long off, int id, int stamp, int page, int pageSize) {
        long v = stamp == 0 ? 0 : seed(id, stamp, page);
        long step = stamp == 0 ? 0 : STEP;
        for (long o = 0; o < pageSize; o += 8) {
            seg.set(WORD, off + o, v);
            v += step;
        }
    }

    /**
     * Checks {@code pageSize} bytes of seg at off against page p at stamp s.
     *
     * @return the offset in the page of the first wrong word, or -1 if the page is right
     */
    static long check(MemorySegment seg, long off, int id, int stamp, int page, int pageSize) {
        long v = stamp == 0 ? 0 : seed(id, stamp, page);
        long step = stamp == 0 ? 0 : STEP;
        for (long o = 0; o < pageSize; o += 8) {
            if (seg.get(WORD, off + o) != v) {
                return o;
            }
            v += step;
        }
        return -1;
    }
}
