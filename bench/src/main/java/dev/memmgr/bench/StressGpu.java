package dev.memmgr.bench;

import dev.memmgr.BufferObject;
import dev.memmgr.Entity;
import dev.memmgr.Fence;
import dev.memmgr.FenceUsage;
import dev.memmgr.GpuKernel;
import dev.memmgr.GpuScheduler;
import dev.memmgr.Job;
import dev.memmgr.JobContext;
import dev.memmgr.Priority;
import dev.memmgr.Reservation;
import dev.memmgr.Residency;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;

/**
 * The stress tool's "GPU": one {@link GpuScheduler} for the run ({@value #CREDITS} credits, a
 * timeout of {@code TIMEOUT}, far above any kernel of the workload: they run for microseconds to
 * 2 ms), the entities the workers push to, and what every job shares: each pushed job is counted,
 * and its finished fence counts itself when it signals. A job that times out, or is cancelled
 * (nothing closes an entity or the scheduler before its jobs have finished), is unexpected; so is
 * any error of a job pushed with an owner ({@link #push(Job.Builder, Object)}), whose work cannot
 * fail. The VM jobs of {@link StressJobs} may fail in expected ways: they are judged there.
 *
 * <p>Also the FENCE operation on table objects ({@link #fenceOp}), which keeps an object busy for
 * 0.1..2 ms with a job. At the end ({@link #close()}, workers stopped) every job must have signaled
 * its finished fence before the entities and the scheduler close.
 *
 * <p>Thread-safe: workers share it; fence callbacks run on whichever thread signals.
 */
final class StressGpu {
    static final int CREDITS = 4;
    static final Duration TIMEOUT = Duration.ofSeconds(10);
    /** How long anyone waits for a job: past the timeout, after which its finished fence signals anyway. */
    static final Duration WAIT = Duration.ofSeconds(30);
    private static final FenceUsage[] USAGES = FenceUsage.values();

    private final GpuScheduler scheduler;
    private final StressReport report;
    /** Guarded by this. */
    private final List<Entity> entities = new ArrayList<>();

    StressGpu(StressReport report) {
        this.report = report;
        this.scheduler = GpuScheduler.builder("stress").credits(CREDITS).timeout(TIMEOUT).build();
    }

    /** A new submission queue (closed by {@link #close()}). */
    synchronized Entity entity(Priority priority) {
        Entity e = scheduler.createEntity(priority);
        entities.add(e);
        return e;
    }

    /**
     * Pushes a job and counts it; its finished fence counts itself when it signals.
     *
     * @param owner what the job works for, if its work cannot fail (any error is then reported
     *     with it); null when the caller judges the job's outcome
     */
    Job push(Job.Builder b, Object owner) {
        Job job = b.push();
        report.jobsPushed.increment();
        Fence f = job.finished();
        f.onSignal(() -> finished(f, owner));
        return job;
    }

    private void finished(Fence f, Object owner) {
        report.jobsFinished.increment();
        Throwable e = f.error().orElse(null);
        if (e instanceof TimeoutException) {
            report.jobTimeouts.increment();
            report.unexpected("a job ran past the scheduler's timeout of " + TIMEOUT.toSeconds() + " s", e);
        } else if (e instanceof CancellationException) {
            report.unexpected("a job was cancelled (no entity or scheduler is closed before its jobs finish)", e);
        } else if (e != null && owner != null) {
            report.unexpected(owner + ": a job that cannot fail failed", e);
        }
    }

    /** Sleeps about {@code nanos} in a kernel, or until the job is cancelled. */
    static void sleep(JobContext ctx, long nanos) {
        long end = System.nanoTime() + nanos;
        for (long left; (left = end - System.nanoTime()) > 0 && !ctx.isCancelled(); ) {
            LockSupport.parkNanos(left);
        }
    }

    /** Pushes a job that sleeps 0.1..2 ms and returns its finished fence (a fence that "the GPU" signals). */
    Fence sleepJob(Entity queue, SplittableRandom rnd, Object owner) {
        long nanos = 100_000 + rnd.nextInt(1_900_000);
        return push(queue.job(ctx -> sleep(ctx, nanos)), owner).finished();
    }

    /**
     * FENCE on a table object (its slot claimed shared): a job that sleeps 0.1..2 ms keeps it busy.
     * READ or WRITE usage: declared with {@code reads} / {@code writes}, so the push attaches the
     * finished fence (implicit sync), and the kernel checks that the shrinker leaves the object
     * alone while it runs. KERNEL or BOOKKEEP usage: the finished fence is attached by hand after
     * the push, with or without the reservation locked. Either way the reservation must not be
     * idle for that usage while the fence is unsignaled.
     */
    void fenceOp(Entity queue, ShadowObject t, SplittableRandom rnd) {
        FenceUsage usage = USAGES[rnd.nextInt(USAGES.length)];
        Reservation resv = t.bo.resv();
        Fence fence;
        if (usage == FenceUsage.READ || usage == FenceUsage.WRITE) {
            Job.Builder b = queue.job(busyKernel(t, 100_000 + rnd.nextInt(1_900_000)));
            fence = push(usage == FenceUsage.WRITE ? b.writes(t.bo) : b.reads(t.bo), t).finished();
        } else {
            fence = sleepJob(queue, rnd, t);
            if (rnd.nextBoolean()) {
                resv.lock();
                try {
                    resv.addFence(fence, usage);
                } finally {
                    resv.unlock();
                }
            } else {
                resv.addFence(fence, usage);
            }
        }
        fence.onSignal(report::fenceSignaled);
        report.fencesAttached.increment();
        boolean idle = resv.isIdle(usage);
        boolean idleAll = resv.isIdle(FenceUsage.BOOKKEEP);
        if ((idle || idleAll) && !fence.isSignaled()) {
            report.violation(t + ": isIdle(" + (idle ? usage : FenceUsage.BOOKKEEP)
                    + ") is true with an unsignaled " + usage + " fence attached");
        }
    }

    /**
     * A kernel that holds a table object busy for {@code nanos} and checks that it stays resident
     * meanwhile: residency is read first with the reservation held, so an eviction that decided
     * before the job's fence was attached has completed (it holds the reservation throughout); from
     * then on the fence is attached and unsignaled, and the shrinker must skip the object. An
     * object freed meanwhile (its handle closed by another worker) is not judged. (Opportunistic:
     * the shrinker seldom reaches one object in 2 ms; {@link StressJobs} probes it for sure.)
     */
    private GpuKernel busyKernel(ShadowObject t, long nanos) {
        BufferObject bo = t.bo;
        return ctx -> {
            Reservation r = bo.resv();
            Residency before;
            r.lock();
            try {
                before = bo.residency();
            } finally {
                r.unlock();
            }
            sleep(ctx, nanos);
            Residency after = bo.residency();
            if (before == Residency.RESIDENT && (after == Residency.EVICTED || after == Residency.PURGED)
                    && bo.refCount() > 0 && !ctx.isCancelled()) {
                report.violation(t + ": " + after + " while a job that uses it runs: the shrinker must skip busy objects");
            }
            report.jobBusyChecks.increment();
        };
    }

    /** Jobs pushed whose finished fence has not signaled yet. */
    long unfinished() {
        return report.jobsPushed.sum() - report.jobsFinished.sum();
    }

    /**
     * The end (workers stopped): waits for every job to finish, closes the entities and the
     * scheduler; a job still unfinished after {@link #WAIT}, or never signaled, is unexpected.
     */
    void close() {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (unfinished() > 0 && System.nanoTime() - deadline < 0) {
            LockSupport.parkNanos(1_000_000);
        }
        long open = unfinished();
        if (open > 0) {
            report.violation(open + " jobs still unfinished " + WAIT.toSeconds() + " s after the workers stopped");
        }
        synchronized (this) {
            entities.forEach(Entity::close);
            entities.clear();
        }
        scheduler.close();
        if (unfinished() != 0) {
            report.violation(unfinished() + " jobs never signaled their finished fence, even after the scheduler closed");
        }
    }
}
