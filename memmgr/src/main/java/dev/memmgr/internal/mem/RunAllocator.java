package dev.memmgr.internal.mem;

import java.util.Arrays;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Allocates units (page frames, swap slots) out of {@code [0, capacity)} as extents, preferring
 * one contiguous run per request and, when no run is long enough, as few runs as possible (the
 * longest ones first). A shortage is reported to the caller ({@code false}), never hidden, so the
 * caller can reclaim and retry.
 *
 * <p>Bookkeeping is three bitmaps and nothing per unit: {@code free} (1 bit per unit) and two
 * summaries with 1 bit per 64-unit word ({@code nonEmpty}: the word has a free unit; {@code
 * notFull}: the word has a used unit), so that walking the free runs skips whole words and the
 * cost of a search grows with the number of runs, not of units. With {@code trackDirty} a fourth
 * bitmap marks freed units that may still hold data; {@link #allocate} reports them so the caller
 * zeroes them, and {@link #trimDirty} hands them to a punch callback.
 *
 * <p>Locking: every public method takes the allocator's own lock (the innermost lock of the
 * locking order: nothing is called out while it is held but the {@link Punch} callback).
 */
public final class RunAllocator {
    /** Receives dirty free runs to return to the OS; called with the allocator lock held. */
    @FunctionalInterface
    public interface Punch {
        void punch(int start, int length);
    }

    /** Runs inspected after the first fit before settling for the best seen (good fit). */
    private static final int FIT_SCAN_LIMIT = 32;

    private final ReentrantLock lock = new ReentrantLock();
    private final int capacity;
    private final int words;
    private final long[] free;
    private final long[] nonEmpty;
    private final long[] notFull;
    private final long[] dirty;
    /** Written with the lock held, read without it (snapshots). */
    private volatile int freeCount;
    private volatile int dirtyFreeCount;
    /** Free runs the fragmented path's scratch keeps room for between calls. */
    private static final int SCRATCH_KEPT = 256;
    /** Scratch for the fragmented path: {@code (length << 32) | start} per free run. */
    private long[] runs = new long[16];

    /**
     * @param capacity number of units, &gt;= 1
     * @param trackDirty whether freed units are remembered as dirty until reused or trimmed
     */
    public RunAllocator(int capacity, boolean trackDirty) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("capacity must be positive: " + capacity);
        }
        this.capacity = capacity;
        this.words = (capacity + 63) >>> 6;
        this.free = new long[words];
        this.nonEmpty = new long[(words + 63) >>> 6];
        this.notFull = new long[(words + 63) >>> 6];
        this.dirty = trackDirty ? new long[words] : null;
        for (int w = 0; w < words; w++) {
            notFull[w >>> 6] |= 1L << w; // every unit starts used, then the range is freed
        }
        setFree(0, capacity);
        freeCount = capacity;
    }

    /** @return the number of units managed */
    public int capacity() {
        return capacity;
    }

    /** @return the number of free units (a snapshot; no lock) */
    public int freeCount() {
        return freeCount;
    }

    /** @return the number of free units that may still hold old data (a snapshot; no lock) */
    public int dirtyFreeCount() {
        return dirtyFreeCount;
    }

    /**
     * Allocates {@code n} units.
     *
     * @param n units wanted, &gt; 0
     * @param out receives the extents, sorted by start (appended)
     * @param dirtyOut receives the sub-extents that held data and must be zeroed before use
     *     (appended; may be null when the allocator does not track dirty units)
     * @return false, with nothing allocated, when fewer than {@code n} units are free
     */
    public boolean allocate(int n, ExtentList out, ExtentList dirtyOut) {
        if (n <= 0) {
            throw new IllegalArgumentException("allocation of " + n + " units");
        }
        lock.lock();
        try {
            if (n > freeCount) {
                return false;
            }
            int start = findFit(n);
            if (start >= 0) {
                take(start, n, out, dirtyOut);
                return true;
            }
            takeLongestRuns(n, out, dirtyOut);
            return true;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Frees one extent.
     *
     * @throws IllegalArgumentException when the extent is outside the allocator
     * @throws IllegalStateException when any unit of it is already free (double free); nothing
     *     is freed then
     */
    public void free(int start, int length) {
        lock.lock();
        try {
            freeLocked(start, length);
        } finally {
            lock.unlock();
        }
    }

    /** Frees every extent of a list (see {@link #free(int, int)}); all-or-nothing per extent. */
    public void free(ExtentList extents) {
        lock.lock();
        try {
            for (int i = 0; i < extents.size(); i++) {
                freeLocked(extents.start(i), extents.length(i));
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Hands every dirty free run to {@code punch} and marks it clean. The callback runs with the
     * allocator lock held, so nobody can allocate a unit while it is being punched.
     *
     * @return the number of units trimmed
     */
    public int trimDirty(Punch punch) {
        if (dirty == null) {
            return 0;
        }
        lock.lock();
        try {
            int trimmed = 0;
            int pos = 0;
            while (dirtyFreeCount > 0 && pos < capacity) {
                int a = nextSet(dirty, pos);
                if (a >= capacity) {
                    break;
                }
                int b = Math.min(nextClear(dirty, a), nextUsed(a));
                if (b > a && isFreeRange(a, b - a)) {
                    punch.punch(a, b - a);
                    clearBits(dirty, a, b - a);
                    dirtyFreeCount -= b - a;
                    trimmed += b - a;
                }
                pos = Math.max(b, a + 1);
            }
            return trimmed;
        } finally {
            lock.unlock();
        }
    }

    /** @return whether every unit of the extent is allocated (for assertions and tests) */
    public boolean isAllocated(int start, int length) {
        checkRange(start, length);
        lock.lock();
        try {
            for (int u = start; u < start + length; u++) {
                if ((free[u >>> 6] & (1L << u)) != 0) {
                    return false;
                }
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** @return the number of maximal free runs (a fragmentation measure; walks the bitmap) */
    public int freeRunCount() {
        lock.lock();
        try {
            int count = 0;
            for (int pos = nextFree(0); pos < capacity; pos = nextFree(nextUsed(pos))) {
                count++;
            }
            return count;
        } finally {
            lock.unlock();
        }
    }

    // ---- search --------------------------------------------------------------------------

    /**
     * Address-ordered good fit: walks the free runs from unit 0 and returns the start of the
     * shortest run of at least n units among the first {@value #FIT_SCAN_LIMIT} that fit (at
     * once on an exact fit), or -1 when no run fits. Low addresses first means recently freed
     * frames, already faulted in, are reused before untouched ones.
     */
    private int findFit(int n) {
        int bestStart = -1;
        int bestLength = Integer.MAX_VALUE;
        int fits = 0;
        for (int a = nextFree(0); a < capacity; ) {
            int b = nextUsed(a);
            int length = b - a;
            if (length >= n) {
                if (length < bestLength) {
                    bestStart = a;
                    bestLength = length;
                    if (length == n) {
                        return a;
                    }
                }
                if (++fits >= FIT_SCAN_LIMIT) {
                    break;
                }
            }
            a = nextFree(b);
        }
        return bestStart;
    }

    /** No run is long enough: take the longest runs until n units are found. */
    private void takeLongestRuns(int n, ExtentList out, ExtentList dirtyOut) {
        int count = 0;
        for (int pos = nextFree(0); pos < capacity; ) {
            int end = nextUsed(pos);
            if (count == runs.length) {
                runs = Arrays.copyOf(runs, count * 2);
            }
            runs[count++] = ((long) (end - pos) << 32) | pos;
            pos = nextFree(end);
        }
        Arrays.sort(runs, 0, count);
        ExtentList taken = new ExtentList(8);
        int remaining = n;
        for (int i = count - 1; i >= 0 && remaining > 0; i--) {
            int length = (int) (runs[i] >>> 32);
            int start = (int) runs[i];
            int use = Math.min(length, remaining);
            taken.add(start, use);
            remaining -= use;
        }
        taken.sortAndMerge();
        for (int i = 0; i < taken.size(); i++) {
            take(taken.start(i), taken.length(i), out, dirtyOut);
        }
        if (runs.length > SCRATCH_KEPT) {
            runs = new long[SCRATCH_KEPT]; // do not keep megabytes of scratch after a fragmented allocation
        }
    }

    private void take(int start, int length, ExtentList out, ExtentList dirtyOut) {
        if (!isFreeRange(start, length)) {
            throw new IllegalStateException("allocator corrupted: run " + start + "+" + length + " not free");
        }
        clearFree(start, length);
        freeCount -= length;
        out.add(start, length);
        if (dirty != null) {
            int end = start + length;
            for (int a = nextSet(dirty, start, end); a < end; a = nextSet(dirty, a, end)) {
                int b = Math.min(end, nextClear(dirty, a));
                if (dirtyOut == null) {
                    throw new IllegalArgumentException("dirty units need a dirtyOut list");
                }
                dirtyOut.add(a, b - a);
                clearBits(dirty, a, b - a);
                dirtyFreeCount -= b - a;
                a = b;
            }
        }
    }

    private void freeLocked(int start, int length) {
        checkRange(start, length);
        if (!isUsedRange(start, length)) {
            throw new IllegalStateException("double free: extent " + start + "+" + length + " is (partly) free");
        }
        setFree(start, length);
        freeCount += length;
        if (dirty != null) {
            int before = countBits(dirty, start, length);
            setBits(dirty, start, length);
            dirtyFreeCount += length - before;
        }
    }

    private void checkRange(int start, int length) {
        if (start < 0 || length <= 0 || (long) start + length > capacity) {
            throw new IllegalArgumentException("extent " + start + "+" + length + " outside [0, " + capacity + ")");
        }
    }

    // ---- bitmaps -------------------------------------------------------------------------

    /** First free unit at or after {@code from}, or capacity. */
    private int nextFree(int from) {
        if (from >= capacity) {
            return capacity;
        }
        int w = from >>> 6;
        long bits = free[w] & (-1L << from);
        if (bits != 0) {
            return (w << 6) + Long.numberOfTrailingZeros(bits);
        }
        int nw = nextWord(nonEmpty, w + 1);
        return nw < 0 ? capacity : (nw << 6) + Long.numberOfTrailingZeros(free[nw]);
    }

    /** First used unit at or after {@code from}, or capacity. */
    private int nextUsed(int from) {
        if (from >= capacity) {
            return capacity;
        }
        int w = from >>> 6;
        long bits = ~free[w] & (-1L << from);
        if (bits != 0) {
            return Math.min(capacity, (w << 6) + Long.numberOfTrailingZeros(bits));
        }
        int nw = nextWord(notFull, w + 1);
        return nw < 0 ? capacity : Math.min(capacity, (nw << 6) + Long.numberOfTrailingZeros(~free[nw]));
    }

    /** First word index at or after {@code fromWord} whose summary bit is set, or -1. */
    private int nextWord(long[] summary, int fromWord) {
        if (fromWord >= words) {
            return -1;
        }
        int s = fromWord >>> 6;
        long bits = summary[s] & (-1L << fromWord);
        while (bits == 0) {
            if (++s >= summary.length) {
                return -1;
            }
            bits = summary[s];
        }
        int w = (s << 6) + Long.numberOfTrailingZeros(bits);
        return w < words ? w : -1;
    }

    private void setFree(int start, int length) {
        int end = start + length;
        for (int w = start >>> 6; w <= (end - 1) >>> 6; w++) {
            free[w] |= mask(w, start, end);
            summarize(w);
        }
    }

    private void clearFree(int start, int length) {
        int end = start + length;
        for (int w = start >>> 6; w <= (end - 1) >>> 6; w++) {
            free[w] &= ~mask(w, start, end);
            summarize(w);
        }
    }

    private void summarize(int w) {
        long bit = 1L << w;
        if (free[w] != 0) {
            nonEmpty[w >>> 6] |= bit;
        } else {
            nonEmpty[w >>> 6] &= ~bit;
        }
        if (free[w] != -1L) {
            notFull[w >>> 6] |= bit;
        } else {
            notFull[w >>> 6] &= ~bit;
        }
    }

    private boolean isFreeRange(int start, int length) {
        int end = start + length;
        for (int w = start >>> 6; w <= (end - 1) >>> 6; w++) {
            long m = mask(w, start, end);
            if ((free[w] & m) != m) {
                return false;
            }
        }
        return true;
    }

    private boolean isUsedRange(int start, int length) {
        int end = start + length;
        for (int w = start >>> 6; w <= (end - 1) >>> 6; w++) {
            if ((free[w] & mask(w, start, end)) != 0) {
                return false;
            }
        }
        return true;
    }

    private int nextSet(long[] bitmap, int from) {
        return nextSet(bitmap, from, capacity);
    }

    /** First set bit in [from, limit), or limit: the scan stops at the limit's word. */
    private int nextSet(long[] bitmap, int from, int limit) {
        if (from >= limit) {
            return limit;
        }
        int w = from >>> 6;
        int lastWord = (limit - 1) >>> 6;
        long bits = bitmap[w] & (-1L << from);
        while (bits == 0) {
            if (++w > lastWord) {
                return limit;
            }
            bits = bitmap[w];
        }
        return Math.min(limit, (w << 6) + Long.numberOfTrailingZeros(bits));
    }

    private int nextClear(long[] bitmap, int from) {
        if (from >= capacity) {
            return capacity;
        }
        int w = from >>> 6;
        long bits = ~bitmap[w] & (-1L << from);
        while (bits == 0) {
            if (++w >= words) {
                return capacity;
            }
            bits = ~bitmap[w];
        }
        return Math.min(capacity, (w << 6) + Long.numberOfTrailingZeros(bits));
    }

    private static void setBits(long[] bitmap, int start, int length) {
        int end = start + length;
        for (int w = start >>> 6; w <= (end - 1) >>> 6; w++) {
            bitmap[w] |= mask(w, start, end);
        }
    }

    private static void clearBits(long[] bitmap, int start, int length) {
        int end = start + length;
        for (int w = start >>> 6; w <= (end - 1) >>> 6; w++) {
            bitmap[w] &= ~mask(w, start, end);
        }
    }

    private static int countBits(long[] bitmap, int start, int length) {
        int end = start + length;
        int n = 0;
        for (int w = start >>> 6; w <= (end - 1) >>> 6; w++) {
            n += Long.bitCount(bitmap[w] & mask(w, start, end));
        }
        return n;
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
