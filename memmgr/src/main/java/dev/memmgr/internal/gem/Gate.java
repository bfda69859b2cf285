package dev.memmgr.internal.gem;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Lets the manager close while other threads work. Every operation that touches memory,
 * syscalls or shared structures enters the gate (after taking its object's reservation) and
 * exits it when done; {@link #close()} refuses new entries and waits for the ones inside.
 * Afterwards every operation fails with IllegalStateException instead of touching unmapped
 * memory. Operations blocked on a reservation are not inside, so closing never waits on a
 * lock a user holds.
 *
 * <p>Entering is one CAS on a shared counter; lock-free fast paths (pin of a pinned object and
 * the like) do not enter at all: they touch nothing that close releases.
 */
final class Gate {
    private static final long CLOSED = Long.MIN_VALUE;

    /** CLOSED bit | operations inside. */
    private final AtomicLong state = new AtomicLong();

    /** @return true if entered; false once closed */
    boolean enter() {
        while (true) {
            long s = state.get();
            if (s < 0) {
                return false;
            }
            if (state.compareAndSet(s, s + 1)) {
                return true;
            }
        }
    }

    void exit() {
        long s = state.decrementAndGet();
        if (s == CLOSED) {
            synchronized (this) {
                notifyAll();
            }
        }
    }

    boolean isClosed() {
        return state.get() < 0;
    }

    /** Refuses new entries and waits until every operation inside has exited. Idempotent. */
    void close() {
        while (true) {
            long s = state.get();
            if (s < 0 || state.compareAndSet(s, s | CLOSED)) {
                break;
            }
        }
        boolean interrupted = false;
        synchronized (this) {
            while (state.get() != CLOSED) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
