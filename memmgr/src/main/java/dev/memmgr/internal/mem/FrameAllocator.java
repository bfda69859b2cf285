package dev.memmgr.internal.mem;

/**
 * Page frames of one {@link PhysMem}: allocation in extents (see {@link RunAllocator}) with the
 * guarantee that every frame handed out reads as zero.
 *
 * <p>Freed frames are remembered as dirty. A dirty frame that is allocated again is zeroed by
 * the allocating thread, outside the allocator lock, before it is returned. When the dirty free
 * frames exceed {@code trimThreshold}, they are returned to the OS in one batch with
 * fallocate(PUNCH_HOLE) under the allocator lock: a punched frame is zero for free and costs no
 * memory until written. A freed frame is never read or written through the direct map (even a
 * read would allocate it again).
 *
 * <p>The allocator's bitmaps live off the Java heap and cost memory in proportion to the frames
 * in use (see {@link RunAllocator}): a manager of a terabyte runs in a small heap. Allocation
 * and free allocate nothing on the Java heap (the dirty extents go to a per-thread scratch list).
 *
 * <p>Locking: the allocator lock only (innermost); thread-safe. Zeroing happens outside it.
 * After {@link #close()}: allocations throw IllegalStateException and frees do nothing (the
 * frames are gone with the allocator, so teardown may run in any order); the counters answer.
 */
public final class FrameAllocator implements AutoCloseable {
    /** Dirty extents found by an allocation, zeroed by the allocating thread. */
    private static final ThreadLocal<ExtentList> DIRTY = ThreadLocal.withInitial(() -> new ExtentList(4));
    /** Extents of a scratch list kept between calls; a larger one is dropped after use. */
    private static final int SCRATCH_KEPT = 64;

    private final PhysMem mem;
    private final RunAllocator runs;
    private final int trimThreshold;
    private final RunAllocator.Punch punch;

    /**
     * @param mem the frames
     * @param trimThreshold dirty free frames that trigger a batch punch; 0 punches at every free
     */
    public FrameAllocator(PhysMem mem, int trimThreshold) {
        if (trimThreshold < 0) {
            throw new IllegalArgumentException("trimThreshold < 0");
        }
        this.mem = mem;
        this.runs = new RunAllocator(mem.frames(), true);
        this.trimThreshold = trimThreshold;
        this.punch = mem::punch;
    }

    /** A threshold of half the frames: idle memory goes back to the OS, churn reuses frames. */
    public FrameAllocator(PhysMem mem) {
        this(mem, Math.max(1, mem.frames() / 2));
    }

    /** @return the frames */
    public PhysMem mem() {
        return mem;
    }

    /** @return total frames */
    public int capacity() {
        return runs.capacity();
    }

    /** @return free frames (a snapshot) */
    public int freeFrames() {
        return runs.freeCount();
    }

    /** @return free frames that still hold old data and will be zeroed on reuse or punched (a snapshot) */
    public int dirtyFreeFrames() {
        return runs.dirtyFreeCount();
    }

    /**
     * Allocates {@code n} zeroed frames.
     *
     * @param out receives the extents, sorted by frame (appended)
     * @return false, with nothing allocated, when fewer than n frames are free: the caller may
     *     reclaim and retry
     */
    public boolean allocate(int n, ExtentList out) {
        return allocate(n, out, 0);
    }

    /**
     * Allocates {@code n} frames of which the first {@code unzeroed} (in the order of the
     * extents returned) are left as they are, because the caller overwrites them completely
     * before anyone can read them (a swap-in); the others read as zero.
     *
     * @param out receives the extents, sorted by frame (appended)
     * @return false, with nothing allocated, when fewer than n frames are free
     * @throws IllegalStateException once closed
     */
    public boolean allocate(int n, ExtentList out, int unzeroed) {
        long before = out.units();
        ExtentList dirty = DIRTY.get();
        dirty.clear();
        try {
            if (!runs.allocate(n, out, dirty)) {
                return false;
            }
            for (int d = 0; d < dirty.size(); d++) {
                int start = dirty.start(d);
                int length = dirty.length(d);
                int skip = unzeroed <= 0 ? 0 : (int) Math.max(0, unzeroed - (positionOf(out, start) - before));
                if (skip < length) {
                    mem.zero(start + skip, length - skip);
                }
            }
            return true;
        } finally {
            if (dirty.size() > SCRATCH_KEPT) {
                DIRTY.remove();
            }
        }
    }

    /**
     * Allocates one contiguous run of {@code n} frames (good fit), for a caller that overwrites
     * every frame before anyone can read it (compaction copies an object into it): the frames are
     * not zeroed. No reclaim: a shortage is the caller's to handle.
     *
     * @return the first frame of the run, or -1, with nothing allocated, when no free run is that long
     * @throws IllegalArgumentException when n &lt;= 0
     * @throws IllegalStateException once closed
     */
    public int allocateRun(int n) {
        return runs.allocateRun(n);
    }

    /** @return the index of a frame in the sequence of frames of the extents */
    private static long positionOf(ExtentList extents, int frame) {
        long position = 0;
        for (int i = 0; i < extents.size(); i++) {
            int start = extents.start(i);
            if (frame >= start && frame < start + extents.length(i)) {
                return position + (frame - start);
            }
            position += extents.length(i);
        }
        throw new IllegalStateException("frame " + frame + " not in " + extents);
    }

    /**
     * Frees one extent of frames the caller owns; they become dirty (see class comment). Does
     * nothing once closed.
     */
    public void free(int frame, int count) {
        if (runs.isClosed()) {
            return;
        }
        try {
            runs.free(frame, count);
        } catch (IllegalStateException e) {
            if (!runs.isClosed()) {
                throw e; // a double free, not a race with close
            }
            return;
        }
        maybeTrim();
    }

    /** Frees every extent of a list (see {@link #free(int, int)}). */
    public void free(ExtentList frames) {
        if (runs.isClosed()) {
            return;
        }
        try {
            runs.free(frames);
        } catch (IllegalStateException e) {
            if (!runs.isClosed()) {
                throw e;
            }
            return;
        }
        maybeTrim();
    }

    /**
     * Returns every dirty free frame to the OS now.
     *
     * @return frames punched
     * @throws IllegalStateException once closed
     */
    public int trim() {
        return runs.trimDirty(punch);
    }

    /** @return whether every frame of the extent is allocated (assertions, tests) */
    public boolean isAllocated(int frame, int count) {
        return runs.isAllocated(frame, count);
    }

    /** @return whether {@link #close()} has run */
    public boolean isClosed() {
        return runs.isClosed();
    }

    /**
     * Unmaps the allocator's bitmaps (not the frames: the {@link PhysMem} is closed by its
     * owner). Waits for calls in progress. Idempotent; any thread.
     */
    @Override
    public void close() {
        runs.close();
    }

    private void maybeTrim() {
        if (runs.dirtyFreeCount() > trimThreshold) {
            try {
                trim();
            } catch (IllegalStateException e) {
                if (!runs.isClosed()) {
                    throw e;
                }
            }
        }
    }
}
