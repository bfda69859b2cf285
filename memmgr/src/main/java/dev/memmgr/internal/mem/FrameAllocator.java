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
 * <p>Locking: the allocator lock only (innermost); thread-safe.
 */
public final class FrameAllocator {
    private final PhysMem mem;
    private final RunAllocator runs;
    private final int trimThreshold;

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
     */
    public boolean allocate(int n, ExtentList out, int unzeroed) {
        ExtentList got = out.isEmpty() ? out : new ExtentList(2); // positions count from the first unit
        ExtentList dirty = new ExtentList(2);
        if (!runs.allocate(n, got, dirty)) {
            return false;
        }
        for (int d = 0; d < dirty.size(); d++) {
            int start = dirty.start(d);
            int length = dirty.length(d);
            int skip = Math.max(0, unzeroed - positionOf(got, start));
            if (skip < length) {
                mem.zero(start + skip, length - skip);
            }
        }
        if (got != out) {
            out.addAll(got);
        }
        return true;
    }

    /** @return the index of a frame in the sequence of frames of the extents */
    private static int positionOf(ExtentList extents, int frame) {
        int position = 0;
        for (int i = 0; i < extents.size(); i++) {
            int start = extents.start(i);
            if (frame >= start && frame < start + extents.length(i)) {
                return position + (frame - start);
            }
            position += extents.length(i);
        }
        throw new IllegalStateException("frame " + frame + " not in " + extents);
    }

    /** Frees one extent of frames the caller owns; they become dirty (see class comment). */
    public void free(int frame, int count) {
        runs.free(frame, count);
        maybeTrim();
    }

    /** Frees every extent of a list. */
    public void free(ExtentList frames) {
        runs.free(frames);
        maybeTrim();
    }

    /**
     * Returns every dirty free frame to the OS now.
     *
     * @return frames punched
     */
    public int trim() {
        return runs.trimDirty(mem::punch);
    }

    /** Shim until the real one lands: no contiguous run. */
    public int allocateRun(int n) {
        return -1;
    }

    /** Shim: nothing to release yet. */
    public void close() {
    }

    /** @return whether every frame of the extent is allocated (assertions, tests) */
    public boolean isAllocated(int frame, int count) {
        return runs.isAllocated(frame, count);
    }

    private void maybeTrim() {
        if (runs.dirtyFreeCount() > trimThreshold) {
            trim();
        }
    }
}
