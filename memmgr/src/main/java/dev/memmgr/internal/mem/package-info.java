/**
 * Physical memory: the frames, their allocator and the views onto them.
 *
 * <p>{@link dev.memmgr.internal.mem.PhysMem} is one memfd of the configured capacity, mapped
 * once as the direct map; {@link dev.memmgr.internal.mem.FrameAllocator} hands its frames out in
 * extents through a {@link dev.memmgr.internal.mem.RunAllocator} (also used for swap slots),
 * whose bitmaps live off the Java heap in an anonymous mapping and cost memory by use, not by
 * capacity. {@link dev.memmgr.internal.mem.Vmapping} maps frames into one contiguous view;
 * its teardown never fails and leaves the old range harmless at once, even while another thread
 * holds the segment (the range becomes anonymous memory, the arena closes now or later), and
 * every view holds its memory-mapping areas in the process-wide
 * {@link dev.memmgr.internal.mem.MapBudget}, which releases idle cached views when short.
 *
 * <p>This layer calls nobody but {@code sys} (and the release callbacks its owners register
 * with the budget); it depends on nothing of the public package: its failures are internal
 * exceptions that {@code gem} translates. Locks: each allocator's own lock and the budget's
 * monitor, both leaves of the locking order; the list of deferred closes has a lock that is
 * never taken with the budget's held.
 */
package dev.memmgr.internal.mem;
