package dev.memmgr;

import dev.memmgr.internal.resv.Timeouts;
import dev.memmgr.internal.sched.SchedCore;
import java.time.Duration;
import java.util.Objects;

/**
 * A job scheduler (drm_gpu_scheduler): one ring of work whose worker threads stand in for the GPU.
 * Submitters push {@link Job}s through {@link Entity}s; a job runs when its dependencies have
 * signaled, as many at a time as the ring's credits allow, and signals its fences.
 *
 * <pre>{@code
 * try (GpuScheduler gpu = GpuScheduler.builder("gfx").credits(8).timeout(Duration.ofSeconds(2)).build();
 *      Entity queue = gpu.createEntity(Priority.NORMAL)) {
 *     Job upload = queue.job(ctx -> fill(staging)).writes(staging).push();
 *     Job draw = queue.job(ctx -> ctx.vm().write(0x10000, pixels))
 *             .vm(vm).reads(staging).push();        // waits for the upload: implicit sync
 *     draw.finished().await(Duration.ofSeconds(1));
 * }
 * }</pre>
 *
 * <p><b>Rules.</b> Jobs of one entity start in push order. A job runs only when its dependencies
 * (explicit fences, and the fences of the objects it reads or writes) have signaled; if one of
 * them signaled with an error, the job fails with that error without running. {@code scheduled}
 * signals when the kernel starts, {@code finished} when it returns, with the exception it threw as
 * error. Credits in flight never exceed the limit. Higher priorities are picked first, FIFO by
 * push within one. A kernel running past the timeout: its finished fence signals at once with a
 * TimeoutException, its context reports cancelled, its worker is interrupted and replaced, and
 * later jobs run. A job's objects are busy (the shrinker skips them) until its finished fence
 * signals.
 *
 * <p>Thread-safe. {@link #close()} cancels every job not yet run (finished with a
 * CancellationException) and never waits for running kernels.
 */
public final class GpuScheduler implements AutoCloseable {
    private final SchedCore core;

    private GpuScheduler(SchedCore core) {
        this.core = core;
    }

    /**
     * Returns a builder with the defaults: 64 credits, a timeout of 10 seconds.
     *
     * @param name the scheduler's name (its threads are named after it)
     * @return a builder
     * @throws NullPointerException if name is null
     */
    public static Builder builder(String name) {
        return new Builder(Objects.requireNonNull(name, "name"));
    }

    /**
     * Returns the name given to the builder.
     *
     * @return the name
     */
    public String name() {
        return core.name();
    }

    /**
     * Returns the credits the ring has: the most credits of running jobs at any time.
     *
     * @return the credit limit
     */
    public int credits() {
        return core.creditLimit();
    }

    /**
     * Creates a submission queue.
     *
     * @param priority how urgent its jobs are
     * @return the new entity
     * @throws NullPointerException if priority is null
     * @throws IllegalStateException if the scheduler is closed
     */
    public Entity createEntity(Priority priority) {
        Objects.requireNonNull(priority, "priority");
        return new Entity(this, core.createEntity(priority.ordinal()));
    }

    SchedCore core() {
        return core;
    }

    /**
     * Closes the scheduler: every job not yet run finishes with a CancellationException (its
     * scheduled fence signals too); running kernels see their context cancelled and finish on
     * their own. Never waits for a kernel. Idempotent.
     */
    @Override
    public void close() {
        core.close();
    }

    @Override
    public String toString() {
        return core.toString();
    }

    /** Settings of a {@link GpuScheduler}. Not thread-safe. */
    public static final class Builder {
        private final String name;
        private int credits = 64;
        private Duration timeout = Duration.ofSeconds(10);

        private Builder(String name) {
            this.name = name;
        }

        /**
         * Sets the credits of the ring (default 64): the sum of the credits of running jobs never
         * exceeds it.
         *
         * @param credits at least 1
         * @return this builder
         * @throws IllegalArgumentException if credits is less than 1
         */
        public Builder credits(int credits) {
            if (credits < 1) {
                throw new IllegalArgumentException("credits must be at least 1: " + credits);
            }
            this.credits = credits;
            return this;
        }

        /**
         * Sets how long a kernel may run (default 10 seconds).
         *
         * @param timeout positive
         * @return this builder
         * @throws NullPointerException if timeout is null
         * @throws IllegalArgumentException if timeout is zero or negative
         */
        public Builder timeout(Duration timeout) {
            Objects.requireNonNull(timeout, "timeout");
            if (timeout.isZero() || timeout.isNegative()) {
                throw new IllegalArgumentException("timeout must be positive: " + timeout);
            }
            this.timeout = timeout;
            return this;
        }

        /**
         * Creates the scheduler and starts its timeout thread.
         *
         * @return a new scheduler
         */
        public GpuScheduler build() {
            return new GpuScheduler(new SchedCore(name, credits, Timeouts.nanos(timeout)));
        }
    }
}
