package dev.memmgr;

/**
 * A snapshot of one client's objects, those with open handles ({@link Client#stats()}), in bytes,
 * with the meaning of the kernel's drm-usage-stats keys.
 *
 * @param total size of every object
 * @param shared size of objects shared with other clients (buffer sharing is not available yet:
 *     0)
 * @param resident bytes of frames holding content
 * @param purgeable bytes of frames of objects marked DONTNEED, not pinned and not active
 * @param active size of objects with an unsignaled fence of any usage
 * @param evicted bytes of content in swap
 */
public record ClientStats(long total, long shared, long resident, long purgeable, long active, long evicted) {
}
