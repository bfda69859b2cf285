package dev.memmgr.internal.mem;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A bitmap of {@code n} bits in off-heap memory, with two levels of summaries so that finding
 * the next set or clear bit skips whole words, then whole groups of 64 words: the cost of a
 * search grows with the number of runs it crosses, not with {@code n}.
 *
 * <p>Layout (longs, in the segment given to the constructor; all zero at start):
 * <pre>
 *   bits  [W]   bit i of the map                         W  = ceil(n / 64)
 *   any1  [W1]  bit w: word w has a set bit              W1 = ceil(W / 64)
 *   full1 [W1]  bit w: word w has every bit set
 *   any2  [W2]  bit s: any1[s] != 0                      W2 = ceil(W1 / 64)
 *   full2 [W2]  bit s: full1[s] == -1
 * </pre>
 * A fresh bitmap is all zero bits, so memory that is never written (the untouched pages of an
 * anonymous mapping) costs nothing: memory grows with the bits set, not with {@code n}. Bits past
 * {@code n} stay clear forever; searches clamp their answers to the limit they are given, so
 * those bits, and the words and summary bits past the end, are never reported. Words and
 * summaries are written only when they change, so a search (a read) never allocates a page.
 *
 * <p>Not thread-safe: its owner ({@link RunAllocator}) guards it with its lock. After the
 * segment's arena is closed every method throws IllegalStateException.
 */
final class Bitmap {
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG;

    private final MemorySegment seg;
    private final int n;
    private final long any1;
    private final long full1;
    private final long any2;
    private final long full2;

    /**
     * @param seg zeroed memory of at least {@link #bytesFor(int) bytesFor(n)} bytes, 8-byte aligned
     * @param n bits, &gt;= 1
     */
    Bitmap(MemorySegment seg, int n) {
        if (n <= 0 || seg.byteSize() < bytesFor(n)) {
            throw new IllegalArgumentException(n + " bits in " + seg.byteSize() + " bytes");
        }
        long w = words(n);
        long w1 = ceil64(w);
        long w2 = ceil64(w1);
        this.seg = seg;
        this.n = n;
        this.any1 = w * 8;
        this.full1 = any1 + w1 * 8;
        this.any2 = full1 + w1 * 8;
        this.full2 = any2 + w2 * 8;
    }

    /** @return the bytes a bitmap of {@code n} bits needs */
    static long bytesFor(int n) {
        long w = words(n);
        long w1 = ceil64(w);
        return 8 * (w + 2 * w1 + 2 * ceil64(w1));
    }

    private static long words(int n) {
        return ((long) n + 63) >>> 6;
    }

    private static long ceil64(long x) {
        return (x + 63) >>> 6;
    }

    /** @return the number of bits */
    int size() {
        return n;
    }

    // ---- queries -----------------------------------------------------------------------------

    /** @return the first set bit in [from, limit), or limit */
    int nextOne(int from, int limit) {
        return next(from, limit, 0L, any1, any2);
    }

    /** @return the first clear bit in [from, limit), or limit */
    int nextZero(int from, int limit) {
        return next(from, limit, -1L, full1, full2);
    }

    /** @return whether every bit of [start, start + length) is set */
    boolean allOnes(int start, int length) {
        int end = start + length;
        for (int w = start >>> 6; w <= (end - 1) >>> 6; w++) {
            long m = mask(w, start, end);
            if ((word(w) & m) != m) {
                return false;
            }
        }
        return true;
    }

    /** @return whether every bit of [start, start + length) is clear */
    boolean allZeros(int start, int length) {
        int end = start + length;
        for (int w = start >>> 6; w <= (end - 1) >>> 6; w++) {
            if ((word(w) & mask(w, start, end)) != 0) {
                return false;
            }
        }
        return true;
    }

    /** @return the number of set bits in [start, start + length) */
    int count(int start, int length) {
        int end = start + length;
        int c = 0;
        for (int w = start >>> 6; w <= (end - 1) >>> 6; w++) {
            c += Long.bitCount(word(w) & mask(w, start, end));
        }
        return c;
    }

    // ---- updates -----------------------------------------------------------------------------

    /** Sets every bit of [start, start + length). */
    void set(int start, int length) {
        int end = start + length;
        for (int w = start >>> 6; w <= (end - 1) >>> 6; w++) {
            put(w, word(w) | mask(w, start, end));
        }
    }

    /** Clears every bit of [start, start + length). */
    void clear(int start, int length) {
        int end = start + length;
        for (int w = start >>> 6; w <= (end - 1) >>> 6; w++) {
            put(w, word(w) & ~mask(w, start, end));
        }
    }

    // ---- search ------------------------------------------------------------------------------

    /**
     * The first index in [from, limit) whose bit, xor {@code flip}, is set. {@code flip} is 0 to
     * find set bits (through the "any" summaries) or -1 to find clear bits (through the "full"
     * summaries, flipped: a word that is not full has a clear bit).
     */
    private int next(int from, int limit, long flip, long l1, long l2) {
        if (from >= limit) {
            return limit;
        }
        int w = from >>> 6;
        long bits = (word(w) ^ flip) & (-1L << from);
        if (bits == 0) {
            int lastWord = (limit - 1) >>> 6;
            if (w >= lastWord) {
                return limit;
            }
            w = nextWord(w + 1, lastWord, flip, l1, l2);
            if (w < 0) {
                return limit;
            }
            bits = word(w) ^ flip;
        }
        return (int) Math.min(limit, ((long) w << 6) + Long.numberOfTrailingZeros(bits));
    }

    /** @return the first word in [fromWord, lastWord] whose level-1 summary bit (xor flip) is set, or -1 */
    private int nextWord(int fromWord, int lastWord, long flip, long l1, long l2) {
        int s = fromWord >>> 6;
        long bits = (summary(l1, s) ^ flip) & (-1L << fromWord);
        if (bits == 0) {
            int lastS = lastWord >>> 6;
            if (s >= lastS) {
                return -1;
            }
            s = nextSummary(s + 1, lastS, flip, l2);
            if (s < 0) {
                return -1;
            }
            bits = summary(l1, s) ^ flip;
        }
        int w = (s << 6) + Long.numberOfTrailingZeros(bits);
        return w <= lastWord ? w : -1;
    }

    /** @return the first level-1 long in [fromS, lastS] whose level-2 bit (xor flip) is set, or -1 */
    private int nextSummary(int fromS, int lastS, long flip, long l2) {
        int t = fromS >>> 6;
        int lastT = lastS >>> 6;
        long bits = (summary(l2, t) ^ flip) & (-1L << fromS);
        while (bits == 0) {
            if (++t > lastT) {
                return -1;
            }
            bits = summary(l2, t) ^ flip;
        }
        int s = (t << 6) + Long.numberOfTrailingZeros(bits);
        return s <= lastS ? s : -1;
    }

    // ---- words -------------------------------------------------------------------------------

    private long word(int w) {
        return seg.get(LONG, (long) w << 3);
    }

    private long summary(long base, int i) {
        return seg.get(LONG, base + ((long) i << 3));
    }

    /** Writes word w (when it changes) and the summary bits that change with it. */
    private void put(int w, long value) {
        long old = word(w);
        if (old == value) {
            return;
        }
        seg.set(LONG, (long) w << 3, value);
        if ((old != 0) != (value != 0)) {
            flipSummary(any1, any2, w, false);
        }
        if ((old == -1L) != (value == -1L)) {
            flipSummary(full1, full2, w, true);
        }
    }

    /**
     * Toggles bit w of a level-1 summary and, when that changes the level-2 condition (any bit
     * set, or every bit set when {@code full}), bit w / 64 of the level-2 summary.
     */
    private void flipSummary(long l1, long l2, int w, boolean full) {
        int s = w >>> 6;
        long before = summary(l1, s);
        long after = before ^ (1L << w);
        seg.set(LONG, l1 + ((long) s << 3), after);
        boolean was = full ? before == -1L : before != 0;
        boolean is = full ? after == -1L : after != 0;
        if (was != is) {
            int t = s >>> 6;
            seg.set(LONG, l2 + ((long) t << 3), summary(l2, t) ^ (1L << s));
        }
    }

    /** The bits of word {@code w} that fall in {@code [start, end)}. */
    private static long mask(int w, int start, int end) {
        long m = -1L;
        if (w == start >>> 6) {
            m &= -1L << start;
        }
        if (w == (end - 1) >>> 6) {
            m &= -1L >>> (63 - ((end - 1) & 63));
        }
        return m;
    }
}
