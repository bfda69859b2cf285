package dev.memmgr.internal.mem;

import java.util.Arrays;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Allocates units (page frames, swap slots) out of {@code [0, capacity)} as extents, preferring
 * one contiguous run per request and, when no run is long enough, as few runs as possible (the
 * longest ones first). A shortage is reported to the caller ({@code false} or -1), never hidden,
 * so the caller can reclaim and retry.
 *
 * <p>Bookkeeping is two {@link Bitmap}s and nothing per unit, both off the Java heap in one
 * anonymous mapping: {@code used} (1 bit per allocated unit) and, with {@code trackDirty},
 * {@code dirty} (1 bit per freed unit that may still hold data; {@link #allocate} reports those
 * so the caller zeroes them, {@link #trimDirty} hands them to a punch callback). Both start all
 * zero, a fresh allocator being all free and clean, so the mapping costs memory only where units
 * have been used: a manager of 2^28 frames or a swap of 2^30 slots runs in a small heap. Each
 * bitmap keeps summaries (a word has a set bit / every bit set) on two levels, so that walking
 * the free runs skips whole words and groups of words: a search costs in proportion to the runs
 * it crosses, not to the capacity.
 *
 * <p>Placement: an address-ordered good fit (the shortest of the first {@value #FIT_SCAN_LIMIT}
 * runs that fit, an exact fit at once), else the longest runs, chosen with a bounded heap whose
 * size is the number of runs taken. The common paths allocate nothing on the Java heap (the
 * caller's {@link ExtentList} may grow); the fragmented path uses a scratch array kept between
 * calls up to {@value #SCRATCH_KEPT} runs.
 *
 * <p>Locking: every method but the counters takes the allocator's own lock, the innermost of the
 * locking order: nothing is called out while it is held but the {@link Punch} callback.
 * {@link #close()} takes it too, so it waits for calls in progress; afterwards every method but
 * {@link #capacity()}, {@link #freeCount()}, {@link #dirtyFreeCount()} and {@link #isClosed()}
 * throws IllegalStateException.
 */
public final class RunAllocator implements AutoCloseable {
    /** Receives dirty free runs to return to the OS; called with the allocator lock held. */
    @FunctionalInterface
    public interface Punch {
        void punch(int start, int length);
    }

    /** Runs inspected after the first fit before settling for the best seen (good fit). */
    private static final int FIT_SCAN_LIMIT = 32;
    /** Entries of the fragmented path's scratch kept between calls. */
    private static final int SCRATCH_KEPT = 256;

    private final ReentrantLock lock = new ReentrantLock();
    private final int capacity;
    private final AnonymousMemory memory;
    private final Bitmap used;
    private final Bitmap dirty;
    /** Written with the lock held, read without it (snapshots). */
    private volatile int freeCount;
    private volatile int dirtyFreeCount;
    private volatile boolean closed;
    /** Scratch for the fragmented path: a min-heap of {@code (length << 32 | start)}, then {@code (start << 32 | length)}. */
    private long[] runs = new long[16];

    /**
     * @param capacity number of units, &gt;= 1
     * @param trackDirty whether freed units are remembered as dirty until reused or trimmed
     * @throws dev.memmgr.internal.sys.ErrnoException when the bitmaps cannot be mapped
     */
    public RunAllocator(int capacity, boolean trackDirty) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("capacity must be positive: " + capacity);
        }
        this.capacity = capacity;
        long bytes = Bitmap.bytesFor(capacity);
        this.memory = AnonymousMemory.map(trackDirty ? 2 * bytes : bytes);
        this.used = new Bitmap(memory.segment().asSlice(0, bytes), capacity);
        this.dirty = trackDirty ? new Bitmap(memory.segment().asSlice(bytes, bytes), capacity) : null;
        this.freeCount = capacity;
    }

    /** @return the number of units managed. Any thread, no lock. */
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

    /** @return whether {@link #close()} has run (no lock) */
    public boolean isClosed() {
        return closed;
    }

    /**
     * Allocates {@code n} units.
     *
     * @param n units wanted, &gt; 0
     * @param out receives the extents, sorted by start (appended)
     * @param dirtyOut receives the sub-extents that held data and must be zeroed before use
     *     (appended; may be null when the allocator does not track dirty units)
     * @return false, with nothing allocated, when fewer than {@code n} units are free
     * @throws IllegalStateException once closed
     */
    public boolean allocate(int n, ExtentList out, ExtentList dirtyOut) {
        if (n <= 0) {
            throw new IllegalArgumentException("allocation of " + n + " units");
        }
        if (dirty != null && dirtyOut == null) {
            throw new IllegalArgumentException("an allocator that tracks dirty units needs a dirtyOut list");
        }
        lock.lock();
        try {
            checkOpenLocked();
            if (n > freeCount) {
                return false;
            }
            int start = findFit(n);
            if (start >= 0) {
                take(start, n, out, dirtyOut);
            } else {
                takeLongestRuns(n, out, dirtyOut);
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Allocates one contiguous run of {@code n} units and marks it clean: the caller overwrites
     * every unit, so dirty ones are not reported. Prefers n dirty units in a row: they are still
     * in memory, while a fresh or punched unit costs the OS a page allocation and zeroing on first
     * touch (measured: 256 pages copied into punched memfd pages took 600 us, into resident ones
     * 20 us); else good fit, as {@link #allocate}.
     *
     * @return the first unit of the run, or -1, with nothing allocated, when no free run is that long
     * @throws IllegalStateException once closed
     */
    public int allocateRun(int n) {
        if (n <= 0) {
            throw new IllegalArgumentException("allocation of " + n + " units");
        }
        lock.lock();
        try {
            checkOpenLocked();
            if (n > freeCount) {
                return -1;
            }
            int start = dirty == null ? -1 : findDirtyWindow(n);
            if (start < 0) {
                start = findFit(n);
            }
            if (start >= 0) {
                take(start, n, null, null);
            }
            return start;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Frees one extent.
     *
     * @throws IllegalArgumentException when the extent is outside the allocator
     * @throws IllegalStateException when any unit of it is already free (double free; nothing is
     *     freed then), or once closed
     */
    public void free(int start, int length) {
        lock.lock();
        try {
            checkOpenLocked();
            freeLocked(start, length);
        } finally {
            lock.unlock();
        }
    }

    /** Frees every extent of a list (see {@link #free(int, int)}); all-or-nothing per extent. */
    public void free(ExtentList extents) {
        lock.lock();
        try {
            checkOpenLocked();
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
     * @throws IllegalStateException once closed
     */
    public int trimDirty(Punch punch) {
        if (dirty == null) {
            return 0;
        }
        lock.lock();
        try {
            checkOpenLocked();
            int trimmed = 0;
            int pos = 0;
            while (dirtyFreeCount > 0 && pos < capacity) {
                int a = dirty.nextOne(pos, capacity);
                if (a >= capacity) {
                    break;
                }
                int b = Math.min(dirty.nextZero(a, capacity), used.nextOne(a, capacity));
                if (b > a) { // dirty units are free units: b == a would mean a corrupted bitmap
                    punch.punch(a, b - a);
                    dirty.clear(a, b - a);
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

    /**
     * @return whether every unit of the extent is allocated (for assertions and tests)
     * @throws IllegalStateException once closed
     */
    public boolean isAllocated(int start, int length) {
        checkRange(start, length);
        lock.lock();
        try {
            checkOpenLocked();
            return used.allOnes(start, length);
        } finally {
            lock.unlock();
        }
    }

    /**
     * @return the number of maximal free runs (a fragmentation measure; walks the bitmap)
     * @throws IllegalStateException once closed
     */
    public int freeRunCount() {
        lock.lock();
        try {
            checkOpenLocked();
            int count = 0;
            for (int pos = nextFree(0); pos < capacity; pos = nextFree(nextUsed(pos))) {
                count++;
            }
            return count;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Unmaps the bitmaps; later calls throw IllegalStateException (the counters keep their last
     * values). Waits for calls in progress. Idempotent; any thread.
     */
    @Override
    public void close() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            memory.close();
        } finally {
            lock.unlock();
        }
    }

    private void checkOpenLocked() {
        if (closed) {
            throw new IllegalStateException("allocator is closed");
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

    /**
     * Good fit among the free runs that hold n dirty units in a row: the shortest such run of the
     * first {@value #FIT_SCAN_LIMIT} that fit (at once on an exact fit).
     *
     * @return the first unit of the dirty window in that run, or -1 when no run holds one
     */
    private int findDirtyWindow(int n) {
        int best = -1;
        int bestLength = Integer.MAX_VALUE;
        int fits = 0;
        for (int a = nextFree(0); a < capacity; ) {
            int b = nextUsed(a);
            int length = b - a;
            if (length >= n) {
                if (length < bestLength) {
                    int w = dirtyWindow(a, b, n);
                    if (w >= 0) {
                        best = w;
                        bestLength = length;
                        if (length == n) {
                            return w;
                        }
                    }
                }
                if (++fits >= FIT_SCAN_LIMIT) {
                    break;
                }
            }
            a = nextFree(b);
        }
        return best;
    }

    /** @return the first of n dirty units in a row within [a, b), or -1 */
    private int dirtyWindow(int a, int b, int n) {
        for (int d = dirty.nextOne(a, b); d < b; ) {
            int e = dirty.nextZero(d, b);
            if (e - d >= n) {
                return d;
            }
            d = e < b ? dirty.nextOne(e, b) : b;
        }
        return -1;
    }

    /**
     * No run is long enough: takes the longest runs until n units are found, the shortest of
     * them partly (its first units). Walks every free run once, keeping in a min-heap (by length,
     * then start) only the runs that are still needed: a run leaves the heap as soon as the
     * others cover n without it. Among runs of equal length the later ones are kept.
     */
    private void takeLongestRuns(int n, ExtentList out, ExtentList dirtyOut) {
        int size = 0;
        long sum = 0;
        for (int a = nextFree(0); a < capacity; ) {
            int b = nextUsed(a);
            size = heapPush(size, ((long) (b - a) << 32) | a);
            sum += b - a;
            while (sum - (runs[0] >>> 32) >= n) {
                sum -= runs[0] >>> 32;
                size = heapPopMin(size);
            }
            a = nextFree(b);
        }
        int partialStart = (int) runs[0];
        int partialUse = (int) (n - (sum - (runs[0] >>> 32)));
        for (int i = 0; i < size; i++) { // re-key by start: extents come out sorted
            runs[i] = (runs[i] << 32) | (runs[i] >>> 32);
        }
        Arrays.sort(runs, 0, size);
        for (int i = 0; i < size; i++) {
            int start = (int) (runs[i] >>> 32);
            int length = (int) runs[i];
            take(start, start == partialStart ? partialUse : length, out, dirtyOut);
        }
        if (runs.length > SCRATCH_KEPT) {
            runs = new long[SCRATCH_KEPT]; // do not keep megabytes of scratch after a fragmented allocation
        }
    }

    private int heapPush(int size, long key) {
        if (size == runs.length) {
            runs = Arrays.copyOf(runs, size * 2);
        }
        int i = size;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (runs[parent] <= key) {
                break;
            }
            runs[i] = runs[parent];
            i = parent;
        }
        runs[i] = key;
        return size + 1;
    }

    private int heapPopMin(int size) {
        long last = runs[--size];
        int i = 0;
        while (true) {
            int child = 2 * i + 1;
            if (child >= size) {
                break;
            }
            if (child + 1 < size && runs[child + 1] < runs[child]) {
                child++;
            }
            if (runs[child] >= last) {
                break;
            }
            runs[i] = runs[child];
            i = child;
        }
        if (size > 0) {
            runs[i] = last;
        }
        return size;
    }

    /**
     * Marks a free run used; appends it to {@code out} and its dirty parts to {@code dirtyOut}
     * (with {@code out == null}, for {@link #allocateRun}, dirty parts are just cleaned).
     */
    private void take(int start, int length, ExtentList out, ExtentList dirtyOut) {
        if (!used.allZeros(start, length)) {
            throw new IllegalStateException("allocator corrupted: run " + start + "+" + length + " not free");
        }
        used.set(start, length);
        freeCount -= length;
        if (out != null) {
            out.add(start, length);
        }
        if (dirty != null) {
            int end = start + length;
            for (int a = dirty.nextOne(start, end); a < end; a = dirty.nextOne(a, end)) {
                int b = dirty.nextZero(a, end);
                if (dirtyOut != null) {
                    dirtyOut.add(a, b - a);
                }
                dirty.clear(a, b - a);
                dirtyFreeCount -= b - a;
                a = b;
            }
        }
    }

    private void freeLocked(int start, int length) {
        checkRange(start, length);
        if (!used.allOnes(start, length)) {
            throw new IllegalStateException("double free: extent " + start + "+" + length + " is (partly) free");
        }
        used.clear(start, length);
        freeCount += length;
        if (dirty != null) {
            int before = dirty.count(start, length);
            dirty.set(start, length);
            dirtyFreeCount += length - before;
        }
    }

    private void checkRange(int start, int length) {
        if (start < 0 || length <= 0 || (long) start + length > capacity) {
            throw new IllegalArgumentException("extent " + start + "+" + length + " outside [0, " + capacity + ")");
        }
    }

    /** First free unit at or after {@code from}, or capacity. */
    private int nextFree(int from) {
        return used.nextZero(from, capacity);
    }

    /** First used unit at or after {@code from}, or capacity. */
    private int nextUsed(int from) {
        return used.nextOne(from, capacity);
    }
}
