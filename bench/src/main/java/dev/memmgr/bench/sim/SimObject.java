package dev.memmgr.bench.sim;

/**
 * One incarnation of a buffer object in the simulator: a trace id names an object across frees and
 * re-creations, an incarnation lives from its first use to its free or purge (what memmgr would
 * create as a new object with a new handle). The state mirrors memmgr's {@code Residency} plus the
 * madvise flag and the pin count; the rest belongs to the policy that runs the simulation.
 *
 * <p>Owned by one {@link Simulator} run (single-threaded): the simulator writes the memmgr state,
 * the policy writes its links, queue and bits.
 */
public final class SimObject {
    /** No frames, no slots (created, never used). */
    public static final byte UNPOPULATED = 0;
    /** Content in frames. */
    public static final byte RESIDENT = 1;
    /** Content in swap slots, no frames. */
    public static final byte EVICTED = 2;
    /** Content destroyed by the shrinker (DONTNEED, then reclaimed). */
    public static final byte PURGED = 3;
    /** Freed by its client. */
    public static final byte FREED = 4;

    /** The object's id in the trace. */
    public final int id;
    /** This incarnation's unique key: what a port would hash (the object's identity). */
    public final long key;
    /** Size in pages. */
    public final int pages;
    /**
     * Whether its client keeps a page use (pagesUseCount &gt; 0, memmgr's ACTIVE list: bound in a
     * GPU VM, uses only set the accessed bit) rather than taking one per use (getPages/putPages
     * around each use, INACTIVE list between uses).
     */
    public final boolean held;

    byte state = UNPOPULATED;
    boolean dontNeed;
    int pins;

    // ---- owned by the policy ----------------------------------------------------------------
    SimObject prev;
    SimObject next;
    ObjectQueue queue;
    /** Policy state: an accessed bit, a frequency counter, the queue to return to... */
    int bits;

    SimObject(int id, long key, int pages, boolean held) {
        this.id = id;
        this.key = key;
        this.pages = pages;
        this.held = held;
    }

    /** @return the memmgr state: {@link #UNPOPULATED}, {@link #RESIDENT}, ... */
    public byte state() {
        return state;
    }

    /** @return madvise(DONTNEED) in force */
    public boolean dontNeed() {
        return dontNeed;
    }

    /** @return the pin count */
    public int pins() {
        return pins;
    }

    @Override
    public String toString() {
        return "obj" + id + "#" + key + "(" + pages + "p)";
    }
}
