package dev.memmgr.internal.mem;

import dev.memmgr.internal.sys.LibC;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Cleaner;

/**
 * Zeroed memory off the Java heap: one anonymous private mapping ({@code MAP_NORESERVE}) owned by
 * a shared arena. Untouched pages cost nothing (reads map the kernel's zero page, writes allocate
 * one page at a time), so a large table that starts all zero costs memory in proportion to the
 * part of it that is used, not to its size.
 *
 * <p>{@link #close()} unmaps it; later accesses to its segment throw IllegalStateException. A
 * mapping whose owner is dropped without closing it is unmapped by a cleaner once unreachable,
 * so forgotten ones (tests) do not pile up towards the process's mapping limit.
 *
 * <p>Thread-safe: the segment may be used from any thread (its owner synchronizes the content);
 * {@link #close()} is idempotent and may race with nothing but itself.
 */
final class AnonymousMemory implements AutoCloseable {
    private final MemorySegment segment;
    private final Cleaner.Cleanable cleanable;

    private AnonymousMemory(MemorySegment segment, Arena arena) {
        this.segment = segment;
        this.cleanable = CleanerHolder.CLEANER.register(this, arena::close);
    }

    /**
     * Maps {@code bytes} of zeroed memory.
     *
     * @throws dev.memmgr.internal.sys.ErrnoException when mmap fails (address space exhausted)
     */
    static AnonymousMemory map(long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("bytes must be positive: " + bytes);
        }
        long addr = LibC.mmap(0, bytes, LibC.PROT_READ | LibC.PROT_WRITE,
                LibC.MAP_PRIVATE | LibC.MAP_ANONYMOUS | LibC.MAP_NORESERVE, -1, 0);
        Arena arena = Arena.ofShared();
        MemorySegment segment = MemorySegment.ofAddress(addr).reinterpret(bytes, arena, s -> LibC.munmap(addr, bytes));
        return new AnonymousMemory(segment, arena);
    }

    /** @return the memory; throws IllegalStateException on access once closed */
    MemorySegment segment() {
        return segment;
    }

    /** Unmaps the memory. Idempotent; any thread, but not while another thread still uses it. */
    @Override
    public void close() {
        cleanable.clean();
    }

    /** One cleaner thread for the process, started on first use. */
    private static final class CleanerHolder {
        static final Cleaner CLEANER = Cleaner.create(r -> {
            Thread t = new Thread(r, "memmgr-cleaner");
            t.setDaemon(true);
            return t;
        });
    }
}
