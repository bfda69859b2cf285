package dev.memmgr;

import dev.memmgr.internal.obs.Units;

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
 * @param busy bytes of frames of objects with an unsignaled fence (of any usage): GPU work in
 *     flight, which the shrinker skips; objects the shrinker is visiting at that instant are not
 *     counted
 * @param peakResident the highest {@code resident} since the manager was built
 */
public record MemoryStats(long capacity, long free, long resident, long pinned, long purgeable,
                          long evicted, long swapCapacity, long swapUsed, long evictions, long swapIns,
                          long purges, long busy, long peakResident) {
    /**
     * Returns the figures with their units, e.g. {@code MemoryStats[capacity 256 MiB, free 12.5 MiB,
     * ..., evictions 3, swapIns 1, purges 0]}: byte figures in B, KiB, MiB, GiB or TiB (one decimal
     * at most), counts as numbers.
     *
     * @return the figures with their units
     */
    @Override
    public String toString() {
        return "MemoryStats[" + figures() + "]";
    }

    /** The figures with units, without the record's name (also MemoryManager.toString()). */
    String figures() {
        return "capacity " + Units.bytes(capacity) + ", free " + Units.bytes(free)
                + ", resident " + Units.bytes(resident) + ", peakResident " + Units.bytes(peakResident)
                + ", pinned " + Units.bytes(pinned) + ", purgeable " + Units.bytes(purgeable)
                + ", busy " + Units.bytes(busy) + ", evicted " + Units.bytes(evicted)
                + ", swap " + Units.bytes(swapUsed) + " of " + Units.bytes(swapCapacity)
                + ", evictions " + evictions + ", swapIns " + swapIns + ", purges " + purges;
    }
}
