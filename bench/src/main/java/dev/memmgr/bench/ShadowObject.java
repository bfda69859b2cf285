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
