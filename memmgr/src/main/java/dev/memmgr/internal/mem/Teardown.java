package dev.memmgr.internal.mem;

import dev.memmgr.internal.sys.ErrnoException;
import dev.memmgr.internal.sys.LibC;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Teardown of a mapped range that never fails and leaves the old addresses harmless, even while
 * another thread uses them: a blocking read into {@code segment.asByteBuffer()} or a native call
 * that took the segment holds the segment's shared arena ("acquired"), so the arena cannot be
 * closed, and its memory cannot simply be unmapped (a native write into a hole would crash the
 * JVM, and a later mapping could land there).
 *
 * <p>The mechanism, in two steps:
 * <ol>
 *   <li>{@link #neutralize}: one {@code mmap(MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS |
 *       MAP_NORESERVE)} of read-write memory over the whole range replaces it atomically. From
 *       that instant the range reads zeros and writes through it reach no frame, whoever makes
 *       them; never {@code PROT_NONE}, so a native call writing into it cannot fault. Should the
 *       kernel refuse anonymous memory (strict overcommit accounting), the range is mapped
 *       shared from a process-wide scratch memfd instead, which is just as harmless.
 *   <li>{@link #closeOrDefer}: closes the arena, whose cleanup unmaps the range; when another
 *       thread holds it, the arena goes to a process-wide list of deferred closes, retried by
 *       {@link #retryDeferred()} (on every later teardown, when the map budget runs short, and
 *       by the gem layer on manager close and from its reclaim thread). Until then accesses
 *       through the old segment see the anonymous memory; afterwards they throw
 *       IllegalStateException.
 * </ol>
 *
 * <p>Locking: the deferred list has one lock, taken only when the list is not empty (a volatile
 * count says so) and never while the map budget's lock is held; the hooks of deferred closes run
 * with it held and may take the budget's lock (a leaf). Thread-safe.
 */
final class Teardown {
    private static final System.Logger LOG = System.getLogger(Teardown.class.getName());

    /** Deferred closes, guarded by itself. */
    private static final List<Pending> PENDING = new ArrayList<>();
    /** PENDING.size(), readable without the lock. */
    private static volatile int pendingCount;
    /** Ranges that could be neither replaced nor remapped (the kernel is out of memory). */
    private static final AtomicLong FAILURES = new AtomicLong();

    /** The scratch memfd of the fallback and its size, guarded by the class. */
    private static int scratchFd = -1;
    private static long scratchBytes;

    private record Pending(Arena arena, Runnable onClosed) {
    }

    private Teardown() {
    }

    /**
     * Replaces {@code [addr, addr + bytes)} atomically with zeroed read-write memory that no
     * frame backs (see the class comment). Never throws; a range the kernel refuses to replace
     * at all (it cannot allocate a mapping) is counted in {@link #failures()} and logged.
     */
    static void neutralize(long addr, long bytes) {
        try {
            LibC.mmap(addr, bytes, LibC.PROT_READ | LibC.PROT_WRITE,
                    LibC.MAP_FIXED | LibC.MAP_PRIVATE | LibC.MAP_ANONYMOUS | LibC.MAP_NORESERVE, -1, 0);
        } catch (ErrnoException anonymousRefused) {
            try {
                mapScratch(addr, bytes);
            } catch (ErrnoException e) {
                e.addSuppressed(anonymousRefused);
                FAILURES.incrementAndGet();
                LOG.log(System.Logger.Level.ERROR, "cannot replace a torn-down view at 0x" + Long.toHexString(addr)
                        + " (" + bytes + " bytes): it stays mapped", e);
            }
        }
    }

    /** The fallback: the range becomes a shared mapping of the scratch memfd, grown as needed. */
    private static synchronized void mapScratch(long addr, long bytes) {
        if (scratchFd < 0) {
            scratchFd = LibC.memfdCreate("memmgr-void", LibC.MFD_CLOEXEC);
        }
        if (scratchBytes < bytes) {
            LibC.ftruncate(scratchFd, bytes);
            scratchBytes = bytes;
        }
        LibC.mmap(addr, bytes, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_SHARED | LibC.MAP_FIXED, scratchFd, 0);
    }

    /**
     * Closes {@code arena}, or, when another thread holds it, keeps it in the deferred list and
     * runs {@code onClosed} once a retry closes it. Never throws for a held arena.
     *
     * @param onClosed run (once) when a deferred close succeeds; not run when this call closes
     *     the arena (the caller knows that from the result); may be null
     * @return true when the arena is closed now
     */
    static boolean closeOrDefer(Arena arena, Runnable onClosed) {
        if (tryClose(arena)) {
            return true;
        }
        synchronized (PENDING) {
            PENDING.add(new Pending(arena, onClosed));
            pendingCount = PENDING.size();
        }
        return false;
    }

    /**
     * Tries every deferred close once; runs the hooks of those that succeed. Cheap when nothing
     * is deferred (one volatile read). Any thread, no lock held.
     *
     * @return the number of arenas closed
     */
    static int retryDeferred() {
        if (pendingCount == 0) {
            return 0;
        }
        int closed = 0;
        synchronized (PENDING) {
            for (int i = PENDING.size() - 1; i >= 0; i--) {
                Pending p = PENDING.get(i);
                if (tryClose(p.arena())) {
                    PENDING.remove(i);
                    closed++;
                    if (p.onClosed() != null) {
                        p.onClosed().run();
                    }
                }
            }
            pendingCount = PENDING.size();
        }
        return closed;
    }

    /** @return the number of deferred closes waiting (a snapshot) */
    static int deferred() {
        return pendingCount;
    }

    /** @return the number of ranges that could not be replaced at all since the JVM started */
    static long failures() {
        return FAILURES.get();
    }

    /** @return whether the arena is closed (now, or by someone else before) rather than held */
    private static boolean tryClose(Arena arena) {
        try {
            arena.close();
            return true;
        } catch (IllegalStateException heldByAnotherThread) {
            return !arena.scope().isAlive();
        }
    }

    /**
     * The cleanup of a range's arena: unmaps it. Never throws (it runs inside {@code
     * Arena.close}); a failure leaves harmless anonymous memory mapped and is logged.
     */
    static void unmapQuietly(long addr, long bytes) {
        try {
            LibC.munmap(addr, bytes);
        } catch (ErrnoException e) {
            LOG.log(System.Logger.Level.WARNING, "munmap of a torn-down range at 0x" + Long.toHexString(addr)
                    + " failed; the range stays reserved", e);
        }
    }
}
