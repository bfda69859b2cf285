package dev.memmgr;

import dev.memmgr.internal.sched.EntityCore;
import java.util.Objects;

/**
 * One submitter's queue of {@link Job}s (drm_sched_entity): its jobs start in push order, at its
 * {@link Priority}. Made by {@link GpuScheduler#createEntity(Priority)}.
 *
 * <p>Thread-safe. {@link #close()} kills the jobs still queued once their dependencies signal
 * (finished with a CancellationException, never run); running ones finish.
 */
public final class Entity implements AutoCloseable {
    private final GpuScheduler scheduler;
    private final EntityCore core;

    Entity(GpuScheduler scheduler, EntityCore core) {
        this.scheduler = scheduler;
        this.core = core;
    }

    /**
     * Returns the scheduler.
     *
     * @return the scheduler
     */
    public GpuScheduler scheduler() {
        return scheduler;
    }

    EntityCore core() {
        return core;
    }

    /**
     * Starts describing a job that runs {@code kernel}; {@link Job.Builder#push()} queues it.
     *
     * @param kernel the work
     * @return a builder for the job
     * @throws NullPointerException if kernel is null
     */
    public Job.Builder job(GpuKernel kernel) {
        return new Job.Builder(this, Objects.requireNonNull(kernel, "kernel"));
    }

    /**
     * Closes the entity: later pushes throw IllegalStateException; jobs still queued are killed
     * once their dependencies signal. Never waits for a kernel. Idempotent.
     */
    @Override
    public void close() {
        scheduler.core().closeEntity(core);
    }

    @Override
    public String toString() {
        return core.toString();
    }
}
