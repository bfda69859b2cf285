package dev.memmgr;

import dev.memmgr.internal.resv.FenceCore;
import dev.memmgr.internal.resv.Timeouts;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * A one-shot completion signal for work on buffers (dma_fence): created unsignaled, signaled
 * once by whoever does the work, with an error if the work failed. Attached to a buffer's
 * {@link Reservation} it makes the buffer <em>busy</em> until signaled: the shrinker never evicts
 * or purges a busy buffer.
 *
 * <p>The first signal wins: {@link #signal()} and {@link #signal(Throwable)} return true for the
 * call that signaled the fence and false, changing nothing, for every later one.
 * {@link #isSignaled()} is true after either; {@link #error()} tells them apart.
 *
 * <p>Thread-safe. {@link #signal()}, {@link #isSignaled()}, {@link #error()} and
 * {@link #onSignal(Runnable)} never block; {@link #await(Duration)} blocks up to its timeout.
 */
public final class Fence {
    private final FenceCore core;

    /** Creates an unsignaled fence. */
    public Fence() {
        core = new FenceCore();
    }

    /** @return the internal fence that reservations store */
    FenceCore core() {
        return core;
    }

    /**
     * Signals the fence, without an error: wakes every waiter and runs the registered actions in
     * this thread, in registration order. Signaling an already signaled fence does nothing.
     *
     * <p>If actions throw, every action still runs and the first exception is rethrown afterwards
     * (the others added as suppressed); the fence is signaled regardless.
     *
     * @return true if this call signaled the fence, false if it was signaled before
     */
    public boolean signal() {
        return core.signal();
    }

    /**
     * Signals the fence with an error (the work failed; dma_fence_set_error then signal): as
     * {@link #signal()}, and {@link #error()} returns {@code error} from then on. Signaling an
     * already signaled fence does nothing: its first error, or its absence, stays.
     *
     * @param error why the work failed
     * @return true if this call signaled the fence, false if it was signaled before
     * @throws NullPointerException if error is null; the fence stays unsignaled
     */
    public boolean signal(Throwable error) {
        return core.signal(Objects.requireNonNull(error, "error"));
    }

    /**
     * Returns whether the fence has signaled, with or without an error; never blocks.
     *
     * @return whether the fence has signaled, with or without an error
     */
    public boolean isSignaled() {
        return core.isSignaled();
    }

    /**
     * Returns the error the fence signaled with; never blocks.
     *
     * @return the error passed to {@link #signal(Throwable)}; empty while the fence is unsignaled
     *     and when it signaled without an error
     */
    public Optional<Throwable> error() {
        return Optional.ofNullable(core.error());
    }

    /**
     * Waits for the signal (with or without an error).
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
        return core.await(Timeouts.nanos(timeout));
    }

    /**
     * Registers an action to run when the fence signals (with or without an error), in the
     * signaling thread. On a fence that has already signaled the action runs at once, in the
     * calling thread. An action may read {@link #error()}.
     *
     * @param action what to run
     * @throws NullPointerException if action is null
     */
    public void onSignal(Runnable action) {
        core.onSignal(action);
    }

    @Override
    public String toString() {
        return "Fence[" + core + "]";
    }
}
