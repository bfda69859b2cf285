package dev.memmgr.internal.mem;

import dev.memmgr.internal.sys.LibC;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

/**
 * The vmap primitive: one contiguous, zero-copy CPU view of frames that need not be contiguous.
 *
 * <p>Mapping. Like the kernel's vmap, which installs every page table entry up front, mappings
 * are made with {@code MAP_POPULATE}: about 0.2 us per page at map time instead of a page fault
 * of about 1 us per page on first touch (measured on 256 frames). One extent is mapped by a
 * single {@code mmap(MAP_SHARED)} of the memfd. Several extents: address space is reserved with
 * {@code PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE}, then each extent is mapped over it
 * with {@code MAP_SHARED|MAP_FIXED}: one memory-mapping area per extent, reserved from a
 * {@link MapBudget} before the first mmap (so a view that does not fit maps nothing). The
 * segment belongs to its own shared arena; a view is never a slice of the direct map.
 *
 * <p>Teardown ({@link #unmap()}) never fails and leaves the old range harmless at once, even
 * while another thread's I/O or native call holds the segment (see {@link Teardown}): the range
 * is first replaced, atomically, by anonymous read-write memory, so from then on it reads zeros
 * and writes through it reach no frame; then the arena is closed, or, when held, closed later
 * by a retry ({@link #retryDeferredCloses()}). Once closed, access throws IllegalStateException:
 * never a crash, never another object's memory. Closing a shared arena costs tens of
 * microseconds (a handshake with all threads): callers cache mappings rather than unmap eagerly,
 * and tell the budget which cached ones are idle ({@link #markIdle}) so it can release them.
 *
 * <p>Locking: none of its own; the caller owns the frames for as long as the mapping exists.
 * {@link #unmap()} is idempotent and callable from any thread; {@link #markIdle} and
 * {@link #markInUse()} take the budget's lock (a leaf).
 */
public final class Vmapping {
    private final Arena arena;
    private final MemorySegment segment;
    private final long address;
    private final long bytes;
    private final int mmapCalls;
    private final int areas;
    private final MapBudget budget;
    private final AtomicBoolean unmapped = new AtomicBoolean();
    /** Set by {@link #abandon()}: the arena's cleanup leaves the range mapped. */
    private final AtomicBoolean keepRange;

    // the budget's bookkeeping, guarded by the budget's lock
    int budgetState = MapBudget.IN_USE;
    BooleanSupplier tryRelease;
    Vmapping lruPrev;
    Vmapping lruNext;

    private Vmapping(Arena arena, MemorySegment segment, long address, long bytes, int mmapCalls, int areas,
            MapBudget budget, AtomicBoolean keepRange) {
        this.arena = arena;
        this.keepRange = keepRange;
        this.segment = segment;
        this.address = address;
        this.bytes = bytes;
        this.mmapCalls = mmapCalls;
        this.areas = areas;
        this.budget = budget;
    }

    /**
     * Maps frames, in order, into one contiguous range, within the process's budget.
     *
     * @param mem the frames' memory
     * @param frames frame extents in page order; at least one
     * @return the mapping, in use; its segment is {@code frames.units() * pageSize} bytes
     * @throws MapBudgetExceededException when the mapping does not fit {@link MapBudget#global()}
     * @throws dev.memmgr.internal.sys.ErrnoException when mmap fails; nothing is mapped
     */
    public static Vmapping map(PhysMem mem, ExtentList frames) {
        return map(mem, frames, MapBudget.global());
    }

    /**
     * Maps frames, in order, into one contiguous range, within {@code budget}.
     *
     * @see #map(PhysMem, ExtentList)
     */
    public static Vmapping map(PhysMem mem, ExtentList frames, MapBudget budget) {
        if (frames.isEmpty()) {
            throw new IllegalArgumentException("nothing to map");
        }
        for (int i = 0; i < frames.size(); i++) {
            if ((long) frames.start(i) + frames.length(i) > mem.frames()) {
                throw new IllegalArgumentException("frames " + frames.start(i) + "+" + frames.length(i)
                        + " outside [0, " + mem.frames() + ")");
            }
        }
        int areas = frames.size();
        budget.reserve(areas);
        try {
            return mapReserved(mem, frames, budget, areas);
        } catch (RuntimeException | Error e) {
            budget.release(areas);
            throw e;
        }
    }

    private static Vmapping mapReserved(PhysMem mem, ExtentList frames, MapBudget budget, int areas) {
        long bytes = frames.units() << mem.pageShift();
        int prot = LibC.PROT_READ | LibC.PROT_WRITE;
        int calls;
        long base;
        if (frames.size() == 1) {
            base = LibC.mmap(0, bytes, prot, LibC.MAP_SHARED | LibC.MAP_POPULATE, mem.fd(), mem.offset(frames.start(0)));
            calls = 1;
        } else {
            base = LibC.mmap(0, bytes, LibC.PROT_NONE,
                    LibC.MAP_PRIVATE | LibC.MAP_ANONYMOUS | LibC.MAP_NORESERVE, -1, 0);
            calls = 1;
            try {
                long at = base;
                for (int i = 0; i < frames.size(); i++) {
                    long length = (long) frames.length(i) << mem.pageShift();
                    long got = LibC.mmap(at, length, prot, LibC.MAP_SHARED | LibC.MAP_FIXED | LibC.MAP_POPULATE, mem.fd(),
                            mem.offset(frames.start(i)));
                    calls++;
                    if (got != at) {
                        throw new IllegalStateException("MAP_FIXED mapped at 0x" + Long.toHexString(got)
                                + " instead of 0x" + Long.toHexString(at));
                    }
                    at += length;
                }
            } catch (RuntimeException e) {
                Teardown.unmapQuietly(base, bytes);
                throw e;
            }
        }
        Arena arena = Arena.ofShared();
        final long addr = base;
        AtomicBoolean keep = new AtomicBoolean();
        MemorySegment segment = MemorySegment.ofAddress(addr).reinterpret(bytes, arena, s -> {
            if (!keep.get()) {
                Teardown.unmapQuietly(addr, bytes);
            }
        });
        return new Vmapping(arena, segment, addr, bytes, calls, areas, budget, keep);
    }

    /** @return the view; reads zeros once unmapped, and throws IllegalStateException once its arena is closed */
    public MemorySegment segment() {
        return segment;
    }

    /** @return mmap calls this mapping took (1 for one extent) */
    public int mmapCalls() {
        return mmapCalls;
    }

    /** @return memory-mapping areas this mapping holds in its budget while mapped (one per extent) */
    public int areas() {
        return areas;
    }

    /** @return whether {@link #unmap()} has run */
    public boolean isUnmapped() {
        return unmapped.get();
    }

    /**
     * Marks the mapping idle in its budget: its views are closed, it stays cached, and the budget
     * may call {@code tryRelease} (with no budget lock held) to have it torn down when short of
     * areas. Calling it again makes it the most recently idled. No-op once unmapped.
     *
     * @param tryRelease tears this mapping down (try-locking what its owner needs) and returns
     *     true, or returns false when it cannot now
     */
    public void markIdle(BooleanSupplier tryRelease) {
        if (tryRelease == null) {
            throw new NullPointerException("tryRelease");
        }
        budget.markIdle(this, tryRelease);
    }

    /** Marks the mapping in use again (a view of it was opened): the budget no longer releases it. */
    public void markInUse() {
        budget.markInUse(this);
    }

    /**
     * Tears the view down; never fails. From the moment the range is replaced the old segment
     * reads zeros and its writes reach no frame, so the caller may free the frames as soon as
     * this returns; access throws IllegalStateException once the arena is closed, which is at
     * once unless another thread holds the segment (then at a later retry). Also retries earlier
     * deferred closes. Idempotent, any thread.
     */
    public void unmap() {
        tearDown(false);
    }

    /**
     * Tears the view down for good without ever unmapping its range: the range is replaced and
     * the arena closed as by {@link #unmap()} (Java accesses through the segment throw
     * IllegalStateException), but the close leaves the range mapped, so the old addresses stay
     * valid (reading zeros, writes reaching no frame) for native code that kept them without the
     * arena, as a driver that imported the pages does. The range's address space stays taken
     * (one area of the budget); its anonymous memory costs nothing until written. For views that
     * importers still use when their manager closes. Idempotent, any thread.
     */
    public void abandon() {
        tearDown(true);
    }

    /**
     * {@link #unmap()}, or {@link #abandon()} with {@code keep}: the range is replaced, the arena
     * closed (or its close deferred); its close unmaps the range and gives its last area back to
     * the budget, unless the range is kept. Once only.
     */
    private void tearDown(boolean keep) {
        if (!unmapped.compareAndSet(false, true)) {
            return;
        }
        keepRange.set(keep); // before the arena can close: its cleanup reads it
        budget.tornDown(this); // from here the range counts one area until its arena is closed
        Teardown.neutralize(address, bytes);
        Runnable closed = keep ? () -> { } : budget::deferredClosed; // a kept range keeps its area
        if (Teardown.closeOrDefer(arena, closed)) {
            closed.run();
        }
        Teardown.retryDeferred();
    }

    /**
     * Retries the closes of torn-down views whose segments were held by another thread; those
     * that succeed unmap their ranges and give their area back to the budget. Cheap when none
     * waits. Any thread; call with no lock that a thread doing I/O on a view could need.
     *
     * @return the number of views closed now
     */
    public static int retryDeferredCloses() {
        return Teardown.retryDeferred();
    }

    /** @return the torn-down views (and direct maps) whose close is still deferred (a snapshot) */
    public static int deferredCloses() {
        return Teardown.deferred();
    }
}
