package dev.memmgr.internal.reclaim;

/**
 * What the shrinker sees of a reclaimable object: intrusive LRU links and the narrow interface
 * it calls (get a reference unless dying, try-lock, purge or evict, unlock, put the reference).
 * Buffer objects extend it; the links are owned by {@link Lru} and guarded by its lock.
 *
 * <p>Recency is recorded two ways. Transitions (population, first pin, last unpin...) move the
 * object to the tail of its list under the LRU lock, which clears its flag: the position says
 * it was just used. Uses that are not transitions (the lock-free fast paths, reads, writes,
 * fences) only set the flag, without any lock, and the evict passes of the shrinker give a
 * flagged object a second chance (clear the flag, leave it in place) instead of evicting it.
 */
public abstract class LruNode {
    /** Reclaim mode: destroy the content of a DONTNEED object. */
    public static final int PURGE = 1;
    /** Reclaim mode: write the content of a WILLNEED object to swap and free its frames. */
    public static final int EVICT = 2;
    /** {@link #reclaimLocked} result: skipped because busy (an unsignaled fence). */
    public static final int SKIP_BUSY = -1;

    LruNode prev;
    LruNode next;
    /** The list this node is on, or null; guarded by the LRU lock. */
    LruList list;
    /** Frames accounted to that list for this node; guarded by the LRU lock. */
    int listFrames;
    /** Recently used; set without a lock, cleared by the shrinker. A benign race. */
    private boolean accessed;
    /** ARC: the object was on T2 when it left the evictable lists (pin, DONTNEED); LRU lock. */
    boolean wasT2;

    /**
     * @return whether the node is on T1 or T2 (INACTIVE or ACTIVE), where a hit can move it: a
     *     racy read without the LRU lock, for deciding whether a hit is worth offering (a stale
     *     answer drops or offers one hit; the accessed bit stays either way)
     */
    public final boolean isOnReclaimList() {
        LruList l = list;
        return l != null && (l.id == Lru.INACTIVE || l.id == Lru.ACTIVE);
    }

    /**
     * Records a use for the LRU (pin, getPages, vmap, read, write, fence). Any thread, no lock.
     *
     * @return whether this use set the flag (the first since the object last moved): ARC then
     *     records it as a hit ({@link Lru#offer})
     */
    public final boolean markAccessed() {
        if (!accessed) {
            accessed = true;
            return true;
        }
        return false;
    }

    final void clearAccessed() {
        accessed = false;
    }

    final boolean testAndClearAccessed() {
        boolean was = accessed;
        if (was) {
            accessed = false;
        }
        return was;
    }

    /**
     * kref_get_unless_zero: takes a transient reference unless the object is already dying.
     * Called with the LRU lock held; must not block or take locks.
     */
    protected abstract boolean reclaimGet();

    /** Drops the reference taken by {@link #reclaimGet()}; may free the object. LRU lock not held. */
    protected abstract void reclaimPut();

    /** Try-locks the object's reservation; never blocks. LRU lock not held. */
    protected abstract boolean reclaimTryLock();

    /** Unlocks the reservation taken by {@link #reclaimTryLock()}. */
    protected abstract void reclaimUnlock();

    /**
     * With the reservation held: purges ({@link #PURGE}) or evicts ({@link #EVICT}) the object if
     * its state allows it now (not pinned, not vmapped, not busy, the right madvise state, swap
     * room for eviction), updating its LRU list. Must not throw: a failure leaves the object as
     * it was and returns 0.
     *
     * @return frames freed; 0 when the object was skipped or nothing was freed;
     *     {@link #SKIP_BUSY} when it was skipped because it is busy
     */
    protected abstract int reclaimLocked(int mode);

    /**
     * Waits until the object is idle (every fence signaled), at most {@code nanos}; no lock held
     * by this call. For a reclaim allowed to wait for busy objects.
     *
     * @return whether it is idle
     */
    protected abstract boolean reclaimAwaitIdle(long nanos);
}
