package dev.memmgr.internal.sched;

import dev.memmgr.internal.resv.FenceCore;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One job (drm_sched_job): its kernel, its dependencies, its fences and where it is.
 *
 * <p>Locking: {@code state}, {@code inReady}, {@code killed}, {@code unrunError}, {@code timerId}
 * and {@code thread} are guarded by the scheduler's lock; {@code pending} and {@code depError} are
 * written by the dependencies' signal callbacks without it; {@code cancelled} is read by the
 * kernel without a lock.
 */
public final class JobCore {
    /** What the facade runs: the VM preparation, then the user's kernel. */
    @FunctionalInterface
    public interface Work {
        void run(JobCore job) throws Exception;
    }

    enum State { QUEUED, RUNNING, DONE }

    final EntityCore entity;
    final long seq;
    final int credits;
    final Work work;
    final FenceCore scheduled;
    final FenceCore finished;
    /** Dependencies not yet signaled, plus one until they are all registered ({@code SchedCore.arm}). */
    final AtomicInteger pending = new AtomicInteger(1);
    /** The first error of a signaled dependency: the job fails with it, unrun. */
    volatile Throwable depError;
    volatile boolean cancelled;
    /** Killed by its entity's close: completes with CancellationException once its dependencies signal. */
    boolean killed;
    /** Set when the job is completed unrun (failed dependency, killed, cancelled): its finished error. */
    Throwable unrunError;
    /** In its priority's ready queue: a job is made ready once, though two paths may find it ready at once. */
    boolean inReady;
    State state = State.QUEUED;
    long timerId = -1;
    Thread thread;

    JobCore(EntityCore entity, long seq, int credits, Work work, FenceCore scheduled, FenceCore finished) {
        this.entity = entity;
        this.seq = seq;
        this.credits = credits;
        this.work = work;
        this.scheduled = scheduled;
        this.finished = finished;
    }

    /** @return whether the job was cancelled: it timed out, or the scheduler closed while it ran */
    public boolean isCancelled() {
        return cancelled;
    }

    /** @return the fence signaled when the kernel starts */
    public FenceCore scheduled() {
        return scheduled;
    }

    /** @return the fence signaled when the job is done (with an error if it failed) */
    public FenceCore finished() {
        return finished;
    }

    @Override
    public String toString() {
        return "Job[" + seq + " of " + entity + ", " + state + "]";
    }
}
