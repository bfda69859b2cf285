package dev.memmgr;

import dev.memmgr.internal.obs.Units;

/**
 * A snapshot of one client's objects, those with open handles ({@link Client#stats()}), in bytes,
 * with the meaning of the kernel's drm-usage-stats keys.
 *
 * @param total size of every object
 * @param shared size of objects shared with other clients: exported, imported, or with handles in
 *     several clients
 * @param resident bytes of frames holding content
 * @param purgeable bytes of frames of objects marked DONTNEED, not pinned and not active
 * @param active size of objects with an unsignaled fence of any usage
 * @param evicted bytes of content in swap
 */
public record ClientStats(long total, long shared, long resident, long purgeable, long active, long evicted) {
    /**
     * Returns the figures with their units, e.g. {@code ClientStats[total 64 MiB, shared 0 B,
     * resident 48 MiB, purgeable 4 KiB, active 0 B, evicted 16 MiB]} (B, KiB, MiB, GiB or TiB, one
     * decimal at most).
     *
     * @return the figures with their units
     */
    @Override
    public String toString() {
        return "ClientStats[total " + Units.bytes(total) + ", shared " + Units.bytes(shared) + ", resident "
                + Units.bytes(resident) + ", purgeable " + Units.bytes(purgeable) + ", active " + Units.bytes(active)
                + ", evicted " + Units.bytes(evicted) + "]";
    }
}
