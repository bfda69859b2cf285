package dev.memmgr.internal.gem;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Lets the manager close while other threads work (drm_dev_enter / drm_dev_exit). Every
 * operation that touches memory, syscalls or shared structures enters the gate (after taking its
 * object's reservation) and exits it when done; {@link #close(Runnable)} refuses new entries and
 * runs the teardown once nobody is inside. Afterwards every operation fails with
 * IllegalStateException instead of touching unmapped memory. Operations blocked on a reservation
 * are not inside, so closing never waits on a lock a user holds.
 *
 * <p>The count of threads inside is spread over padded cells, one chosen per thread, so that
 * entering and exiting do not all hit one cache line (drm_dev_enter uses SRCU for the same
 * reason). Entering increments the thread's cell and then reads the closed flag; closing sets the
 * flag and then sums the cells: both are volatile accesses, so either the closer sees the entry
 * or the entering thread sees the flag and backs out.
 *
 * <p>A thread already inside may call close (an eviction listener or a fence callback that
 * closes the manager): it cannot wait for itself, so the teardown is left to whichever thread
 * leaves the gate last, and close returns at once. A close from outside waits until the teardown
 * is done, whoever runs it. The teardown runs exactly once.
 *
 * <p>Thread-safe. Lock-free fast paths (pin of a pinned object and the like) do not enter: they
 * touch nothing that the teardown releases.
 */
final class Gate {
    /** Longs per cell: 128 bytes, two cache lines, against adjacent-line prefetching. */
    private static final int STRIDE = 16;

    private final int mask;
    private final AtomicLongArray cells;
    private final ThreadLocal<int[]> depth = ThreadLocal.withInitial(() -> new int[1]);
    private volatile boolean closed;
    /** Set by the first close; run by whoever sees nobody inside. Guarded by this monitor. */
    private Runnable teardown;
    private boolean tornDown;
    private boolean tearingDown;
    /** A thread inside closed the gate: the last thread to leave runs the teardown. */
    private boolean deferred;

    Gate() {
        int n = Integer.highestOneBit(Math.max(1, Runtime.getRuntime().availableProcessors()) * 2 - 1) * 2;
        n = Math.min(64, Math.max(2, n));
        this.mask = n - 1;
        this.cells = new AtomicLongArray(n * STRIDE);
    }

    private int cell() {
        long id = Thread.currentThread().threadId();
        return (int) ((id ^ (id >>> 16)) & mask) * STRIDE;
    }

    /** @return true if entered (exit later); false once closed */
    boolean enter() {
        if (closed) {
            return false;
        }
        int c = cell();
        cells.getAndIncrement(c);
        if (closed) {
            leave(c);
            return false;
        }
        depth.get()[0]++;
        return true;
    }

    void exit() {
        depth.get()[0]--;
        leave(cell());
    }

    private void leave(int c) {
        cells.getAndDecrement(c);
        if (closed && inside() == 0) {
            boolean runHere;
            synchronized (this) {
                runHere = deferred;
                notifyAll(); // a closer outside the gate waits for nobody inside
            }
            if (runHere) {
                runTeardown();
            }
        }
    }

    boolean isClosed() {
        return closed;
    }

    /** @return whether the calling thread is inside the gate */
    boolean isInside() {
        return depth.get()[0] > 0;
    }

    private long inside() {
        long sum = 0;
        for (int i = 0; i < cells.length(); i += STRIDE) {
            sum += cells.get(i);
        }
        return sum;
    }

    /**
     * Refuses new entries and runs {@code td} once nobody is inside: in this thread when it is
     * outside the gate (after waiting for the others to leave), else in the last thread to leave,
     * and then returns at once. The first call's teardown wins; a later call from outside waits
     * for it to complete.
     */
    void close(Runnable td) {
        synchronized (this) {
            if (teardown == null) {
                teardown = td;
            }
        }
        closed = true;
        if (isInside()) {
            synchronized (this) {
                deferred = true; // this thread counts as inside: the last to leave runs it
            }
            return;
        }
        boolean interrupted = false;
        synchronized (this) {
            while (inside() != 0) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        runTeardown();
        synchronized (this) {
            while (!tornDown) {
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

    private void runTeardown() {
        Runnable td;
        synchronized (this) {
            if (tearingDown || teardown == null) {
                return;
            }
            tearingDown = true;
            td = teardown;
        }
        try {
            td.run();
        } finally {
            synchronized (this) {
                tornDown = true;
                notifyAll();
            }
        }
    }

    /** @return whether the teardown has completed */
    synchronized boolean isTornDown() {
        return tornDown;
    }
}
