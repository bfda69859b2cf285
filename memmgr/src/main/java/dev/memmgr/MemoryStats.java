package dev.memmgr;

/**
 * A snapshot of a manager's memory ({@link MemoryManager#stats()}). Figures are read without a
 * global lock, so they are each exact but not all taken at the same instant.
 *
 * @param capacity bytes of page frames (the hard budget)
 * @param free bytes of free frames; a fresh manager has {@code free == capacity}
 * @param resident bytes of frames held by buffer objects ({@code capacity - free})
 * @param pinned bytes of frames of pinned (or vmapped) objects: never evicted or purged
 * @param purgeable bytes of frames of objects marked DONTNEED and not pinned: freed first by
 *     the shrinker
 * @param evicted bytes of content evicted to swap
 * @param swapCapacity bytes of swap (0 without swap)
 * @param swapUsed bytes of swap slots in use
 * @param evictions objects evicted since the manager was built
 * @param swapIns objects swapped back in since the manager was built
 * @param purges objects purged since the manager was built
 */
public record MemoryStats(long capacity, long free, long resident, long pinned, long purgeable,
                          long evicted, long swapCapacity, long swapUsed, long evictions, long swapIns,
                          long purges) {
}
