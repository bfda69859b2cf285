package dev.memmgr.internal.gem;

import dev.memmgr.MemoryManagerException;
import dev.memmgr.SwapException;
import java.util.function.Supplier;

/**
 * Calls into the lower layers (sys, mem, swap), which know nothing of the public package and
 * throw their own exceptions, and translates those into the public ones: swap I/O failures into
 * {@link SwapException}, the OS or the mapping budget refusing into
 * {@link MemoryManagerException}. Argument and state exceptions of the JDK pass through.
 *
 * <p>Stateless; thread-safe. Only for calls off the hot paths (the lambdas may allocate).
 */
final class LowerLayers {
    private LowerLayers() {
    }

    static <T> T call(Supplier<T> s) {
        return call(s, null);
    }

    /** @param what what was being done, prefixed to the message of a translated exception */
    static <T> T call(Supplier<T> s, String what) {
        try {
            return s.get();
        } catch (RuntimeException e) {
            throw translate(e, what);
        }
    }

    static void run(Runnable r) {
        try {
            r.run();
        } catch (RuntimeException e) {
            throw translate(e, null);
        }
    }

    /** @return the public exception for a lower layer's one, or {@code e} itself */
    static RuntimeException translate(RuntimeException e, String what) {
        if (e instanceof MemoryManagerException) {
            return e; // already public
        }
        String prefix = what == null ? "" : what + ": ";
        if (e instanceof dev.memmgr.internal.swap.SwapIoException) {
            return new SwapException(prefix + e.getMessage(), e);
        }
        if (e instanceof dev.memmgr.internal.sys.ErrnoException
                || e instanceof dev.memmgr.internal.sys.UnsupportedPlatformException
                || e instanceof dev.memmgr.internal.mem.MapBudgetExceededException) {
            return new MemoryManagerException(prefix + e.getMessage(), e);
        }
        return e;
    }
}
