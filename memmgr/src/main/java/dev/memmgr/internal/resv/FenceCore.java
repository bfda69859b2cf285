package dev.memmgr.internal.resv;

import java.util.ArrayList;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * The core of a fence (dma_fence): a one-shot completion signal, optionally with an error
 * (dma_fence_set_error), actions to run on signal, and waiters. The public {@code Fence} is a thin
 * wrapper around one; {@link Resv} stores these directly, so that this layer needs nothing from
 * the public API.
 *
 * <p>State: {@code signaled} (volatile) goes from false to true once, under the monitor, after
 * {@code error} is written, so a reader that sees it true also sees the error. The first signal
 * wins; later ones change nothing and return false. Actions are kept under the monitor until the
 * signal and run by the signaling thread outside it; waiters wait on the monitor.
 *
 * <p>Thread-safe. {@link #signal()}, {@link #isSignaled()}, {@link #error()} and
 * {@link #onSignal(Runnable)} never block (beyond the monitor held for a few field writes);
 * {@link #await(long)} blocks up to its timeout.
 */
public final class FenceCore {
    private volatile boolean signaled;
    /** The error of the signal, or null; written once, before {@link #signaled}. */
    private Throwable error;
    /** Actions to run on signal; guarded by this; null until the first one and once signaled. */
    private ArrayList<Runnable> actions;
    /** Threads in {@link #await(long)}; guarded by this (so that signal skips notifyAll when 0). */
    private int waiters;

    /** Creates an unsignaled fence. */
    public FenceCore() {
    }

    /**
     * Signals without an error. See {@link #signal(Throwable)}.
     *
     * @return true if this call signaled the fence, false if it was already signaled
     */
    public boolean signal() {
        return signal0(null);
    }

    /**
     * Signals with an error: wakes every waiter, then runs the registered actions in this thread
     * in registration order. Only the first signal counts.
     *
     * <p>If actions throw, every action still runs and the first RuntimeException is rethrown
     * afterwards (the others added to it as suppressed); the fence is signaled regardless.
     *
     * @param error why the work failed
     * @return true if this call signaled the fence, false if it was already signaled (nothing
     *     changes then: the first error, or its absence, stays)
     * @throws NullPointerException if error is null (the fence stays unsignaled)
     */
    public boolean signal(Throwable error) {
        Objects.requireNonNull(error, "error");
        return signal0(error);
    }

    private boolean signal0(Throwable err) {
        ArrayList<Runnable> toRun;
        synchronized (this) {
            if (signaled) {
                return false;
            }
            error = err;
            signaled = true;
            toRun = actions;
            actions = null;
            if (waiters > 0) {
                notifyAll();
            }
        }
        if (toRun != null) {
            runAll(toRun);
        }
        return true;
    }

    private static void runAll(ArrayList<Runnable> toRun) {
        RuntimeException first = null;
        for (int i = 0, n = toRun.size(); i < n; i++) {
            try {
                toRun.get(i).run();
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    /**
     * Returns whether the fence has signaled; never blocks.
     *
     * @return whether the fence has signaled, with or without an error
     */
    public boolean isSignaled() {
        return signaled;
    }

    /**
     * Returns the error of the signal; never blocks.
     *
     * @return the error the fence signaled with; null while unsignaled or if it signaled without one
     */
    public Throwable error() {
        return signaled ? error : null;
    }

    /**
     * Waits for the signal. An interrupt ends the wait early: the interrupt status is set again
     * and the result is whether the fence is signaled at that moment.
     *
     * @param nanos how long to wait at most; zero or negative polls
     * @return true if signaled, false if the time ran out first
     */
    public boolean await(long nanos) {
        if (signaled) {
            return true;
        }
        if (nanos <= 0) {
            return false;
        }
        long deadline = System.nanoTime() + nanos;
        synchronized (this) {
            waiters++;
            try {
                while (!signaled) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        return false;
                    }
                    try {
                        TimeUnit.NANOSECONDS.timedWait(this, left);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return signaled;
                    }
                }
                return true;
            } finally {
                waiters--;
            }
        }
    }

    /**
     * Registers an action to run when the fence signals, in the signaling thread. On a fence that
     * has already signaled the action runs at once, in the calling thread (and its exception, if
     * any, propagates to the caller).
     *
     * @param action what to run
     * @throws NullPointerException if action is null
     */
    public void onSignal(Runnable action) {
        Objects.requireNonNull(action, "action");
        synchronized (this) {
            if (!signaled) {
                if (actions == null) {
                    actions = new ArrayList<>(2);
                }
                actions.add(action);
                return;
            }
        }
        action.run();
    }

    @Override
    public String toString() {
        if (!signaled) {
            return "pending";
        }
        Throwable e = error;
        return e == null ? "signaled" : "signaled with " + e;
    }
}
