package dev.memmgr;

import dev.memmgr.internal.resv.Timeouts;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * A one-shot completion signal for work on buffers (dma_fence): created unsignaled, signaled
 * once by whoever does the work. Attached to a buffer's {@link Reservation} it makes the buffer
 * <em>busy</em> until signaled: the shrinker never evicts or purges a busy buffer.
 *
 * <p>Thread-safe. {@link #signal()}, {@link #isSignaled()} and {@link #onSignal(Runnable)} never
 * block; {@link #await(Duration)} blocks up to its timeout.
 */
public final class Fence {
    private volatile boolean signaled;
    /** Actions to run on signal; guarded by {@code this}; null once signaled. */
    private List<Runnable> actions;

    /** Creates an unsignaled fence. */
    public Fence() {
    }

    /**
     * Signals the fence: wakes every waiter and runs the registered actions in this thread, in
     * registration order. Signaling an already signaled fence does nothing.
     *
     * <p>If actions throw, every action still runs and the first exception is rethrown afterwards
     * (the others added as suppressed); the fence is signaled regardless.
     */
    public void signal() {
        List<Runnable> toRun;
        synchronized (this) {
            if (signaled) {
                return;
            }
            signaled = true;
            toRun = actions;
            actions = null;
            notifyAll();
        }
        if (toRun == null) {
            return;
        }
        RuntimeException first = null;
        for (Runnable action : toRun) {
            try {
                action.run();
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
     * Returns whether {@link #signal()} has been called; never blocks.
     *
     * @return whether {@link #signal()} has been called; never blocks
     */
    public boolean isSignaled() {
        return signaled;
    }

    /**
     * Waits for the signal.
     *
     * <p>If the waiting thread is interrupted, the wait ends early: the interrupt status is set
     * again and the method returns whether the fence is signaled at that moment.
     *
     * @param timeout how long to wait at most; zero or negative polls
     * @return true if signaled, false if the timeout elapsed first
     * @throws NullPointerException if timeout is null
     */
    public boolean await(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        if (signaled) {
            return true;
        }
        long deadline = System.nanoTime() + Timeouts.nanos(timeout);
        synchronized (this) {
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
        }
    }

    /**
     * Registers an action to run when the fence signals, in the signaling thread. On a fence that
     * has already signaled the action runs at once, in the calling thread.
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
        return "Fence[" + (signaled ? "signaled" : "pending") + "]";
    }
}
