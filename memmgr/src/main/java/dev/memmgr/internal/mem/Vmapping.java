package dev.memmgr.internal.mem;

import dev.memmgr.internal.sys.LibC;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The vmap primitive: one contiguous, zero-copy CPU view of frames that need not be contiguous.
 *
 * <p>Like the kernel's vmap, which installs every page table entry up front, mappings are made
 * with {@code MAP_POPULATE}: about 0.2 us per page at map time instead of a page fault of about
 * 1 us per page on first touch (measured on 256 frames). One extent is mapped by a single
 * {@code mmap(MAP_SHARED)} of the memfd. Several extents:
 * address space is reserved with {@code PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE}, then
 * each extent is mapped over it with {@code MAP_SHARED|MAP_FIXED}. The segment belongs to its own
 * shared arena whose close unmaps the whole range, so access after {@link #unmap()} throws
 * IllegalStateException: never a crash, never another object's memory (a view is never a slice
 * of the direct map). Closing a shared arena costs tens of microseconds (a handshake with all
 * threads): callers cache mappings rather than unmap eagerly.
 *
 * <p>Locking: none; the caller owns the frames for as long as the mapping exists.
 */
public final class Vmapping {
    private final Arena arena;
    private final MemorySegment segment;
    private final int mmapCalls;
    private final AtomicBoolean unmapped = new AtomicBoolean();

    private Vmapping(Arena arena, MemorySegment segment, int mmapCalls) {
        this.arena = arena;
        this.segment = segment;
        this.mmapCalls = mmapCalls;
    }

    /**
     * Maps frames, in order, into one contiguous range.
     *
     * @param mem the frames' memory
     * @param frames frame extents in page order; at least one
     * @return the mapping; its segment is {@code frames.units() * pageSize} bytes
     */
    public static Vmapping map(PhysMem mem, ExtentList frames) {
        if (frames.isEmpty()) {
            throw new IllegalArgumentException("nothing to map");
        }
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
                LibC.munmap(base, bytes);
                throw e;
            }
        }
        Arena arena = Arena.ofShared();
        final long addr = base;
        MemorySegment segment = MemorySegment.ofAddress(addr).reinterpret(bytes, arena, s -> LibC.munmap(addr, bytes));
        return new Vmapping(arena, segment, calls);
    }

    /** Shim: the mapping's views are closed; the budget may ask for it back. */
    public void markIdle(java.util.function.BooleanSupplier tryRelease) {
    }

    /** Shim: the mapping is in use again. */
    public void markInUse() {
    }

    /** Shim: retries deferred closes. */
    public static void retryDeferred() {
    }

    /** @return the view; throws IllegalStateException on access once unmapped */
    public MemorySegment segment() {
        return segment;
    }

    /** @return mmap calls this mapping took (1 for one extent) */
    public int mmapCalls() {
        return mmapCalls;
    }

    /** @return whether {@link #unmap()} has run */
    public boolean isUnmapped() {
        return unmapped.get();
    }

    /** Unmaps the view; later accesses to its segment throw IllegalStateException. Idempotent, any thread. */
    public void unmap() {
        if (unmapped.compareAndSet(false, true)) {
            arena.close();
        }
    }
}
