package dev.memmgr;

/** Where a buffer object's content lives ({@link BufferObject#residency()}). */
public enum Residency {
    /**
     * Nothing allocated yet: no frames, no swap slots; every byte reads as zero. Left by the first
     * write, {@code getPages}, {@code pin} or {@code vmap}.
     */
    UNPOPULATED,
    /**
     * Content in page frames (pages never written may still be unbacked and read as zero).
     * Left by eviction, purge or free.
     */
    RESIDENT,
    /**
     * Content in swap slots, no frames. Swapped in by {@code getPages}, {@code pin}, {@code vmap},
     * {@code read} and {@code write}; left also by purge and free.
     */
    EVICTED,
    /**
     * Content destroyed for good after {@link Madvise#DONTNEED}. Operations that need content throw
     * {@link PurgedException}; only freeing the object leaves this state.
     */
    PURGED
}
