package dev.memmgr.bench.sim;

/**
 * A reclaim policy: which resident objects the shrinker evicts to swap when an object must become
 * resident and its pages do not fit. The simulator owns memmgr's semantics (what is resident,
 * pinned, DONTNEED; purge of DONTNEED objects before any eviction; whole-object population and
 * swap-in); a policy only sees the objects that memmgr would keep on its evictable LRU lists
 * (resident, WILLNEED, unpinned) and the uses of every object.
 *
 * <p>Call order for a use (access or pin) of an object: {@link #onUse} always; then
 * {@link #onHit} when it is resident and listed, or {@link #onMiss}, {@link #evict} (only when
 * frames are short after purging) and {@link #onAdmit} (unless the use pins it) when it is not
 * resident. Objects leave the lists by {@link #onRemove} (pinned, DONTNEED, freed) or by the
 * policy's own eviction, and come back by {@link #onReturn} (unpinned, WILLNEED again) or
 * {@link #onAdmit}. {@link #onForget} says an evicted object's content is gone (freed or purged),
 * so that ghost entries can go.
 *
 * <p>Single-threaded: a port decides what its hot paths record without a lock (see
 * bench/RESULTS.md).
 */
public interface Policy {
    /** @return a short name for tables */
    String name();

    /** Any use of an object, resident or not, before the simulator acts on it. */
    default void onUse(SimObject o) {
    }

    /** A use of an object that is resident and on the lists. */
    void onHit(SimObject o);

    /** A use of an object that is not resident (unpopulated or evicted), before room is made. */
    default void onMiss(SimObject o) {
    }

    /**
     * Evicts listed objects through {@code evictor} until at least {@code need} pages are freed or
     * nothing listed is left. An object is taken off every queue before it is handed to the
     * evictor (a ghost list may take it after).
     *
     * @param incoming the object room is made for (not resident, not listed)
     */
    void evict(long need, SimObject incoming, Evictor evictor);

    /** An object became resident for a use (population or swap-in) and is evictable. */
    void onAdmit(SimObject o);

    /** A resident listed object leaves the lists: pinned, marked DONTNEED, or freed. */
    void onRemove(SimObject o);

    /** A resident object comes back to the lists: unpinned, or WILLNEED again with its content. */
    void onReturn(SimObject o);

    /** An evicted object's content is gone (freed or purged): drop any ghost entry. */
    default void onForget(SimObject o) {
    }

    /** @return pages of the objects on the policy's resident lists (invariant checks) */
    long listedPages();

    /** Evicts one object: the simulator writes it to swap and frees its frames. */
    @FunctionalInterface
    interface Evictor {
        void evict(SimObject o);
    }

    /** Makes a fresh policy for a memory of {@code capacityPages}. */
    @FunctionalInterface
    interface Factory {
        Policy create(int capacityPages);
    }
}
