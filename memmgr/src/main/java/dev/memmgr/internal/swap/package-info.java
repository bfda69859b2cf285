/**
 * Swap: the file that evicted pages go to, its slot allocator and per-page checksums.
 *
 * <p>{@link dev.memmgr.internal.swap.SwapSpace} owns one file (by default a temporary file,
 * created 0600 and unlinked at once) cut into page-sized slots. Slots are handed out as extents
 * by a {@link dev.memmgr.internal.mem.RunAllocator}, which prefers one contiguous run per
 * request, so an object is written by few large {@code pwritev} calls and read back by as few
 * {@code preadv} calls, straight between the file and the frames of the direct map (no staging
 * copy), in chunks checksummed while they are in cache, two threads sharing a large object's
chunks. A CRC32C of every page is kept off-heap, one int per slot, and checked after each read
(one pass per chunk against the value the pages' checksums predict):
 * an I/O error, a short read or a mismatch throws
 * {@link dev.memmgr.internal.swap.SwapIoException} and never hands out wrong bytes. The slot
 * allocator's bitmaps and the checksums live in anonymous mappings, so heap use does not grow
 * with the size of the swap.
 *
 * <p>A swap file given by path is opened with permissions 0600 and refused when it exists with
 * wider ones: it receives every client's evicted data.
 *
 * <p>This layer depends on {@code sys} and {@code mem} only, never on the public package: its
 * failures are internal exceptions that {@code gem} translates into {@code SwapException}.
 *
 * <p>This layer knows nothing of buffer objects: the caller ({@code gem}) decides which frames
 * go to which slots, holds the objects' locks, and frees slots it no longer needs. The slot
 * allocator lock is the innermost lock of the locking order.
 */
package dev.memmgr.internal.swap;
