package dev.memmgr;

import static dev.memmgr.SchedTestSupport.assertFails;
import static dev.memmgr.SchedTestSupport.assertStaysUnsignaled;
import static dev.memmgr.SchedTestSupport.assertSucceeds;
import static dev.memmgr.SchedTestSupport.kernelAwait;
import static dev.memmgr.SchedTestSupport.kernelAwaitUninterruptibly;
import static dev.memmgr.SchedTestSupport.scheduler;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Timeouts (drm_sched_basic_timeout): a kernel that runs past the scheduler's timeout has its
 * finished fence signaled at once with a TimeoutException while it still runs, its context turns
 * cancelled, its worker thread is interrupted and replaced, its credits come back, and later jobs
 * run; once the hung kernel returns, nothing is signaled or released twice.
 */
@ExtendWith(MemmgrExtension.class)
class SchedTimeoutTest {
    private static final Duration TIMEOUT = Duration.ofMillis(200);

    @Test
    void aHungKernelTimesOutAndTheNextJobRunsOnAnotherWorker() throws Exception {
        try (GpuScheduler gpu = scheduler("timeout", 1, TIMEOUT)) {
            Entity e = gpu.createEntity(Priority.NORMAL);
            CountDownLatch interrupted = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            CountDownLatch returned = new CountDownLatch(1);
            AtomicReference<JobContext> hungCtx = new AtomicReference<>();
            AtomicReference<Thread> hungThread = new AtomicReference<>();
            Job hung = e.job(ctx -> {
                hungCtx.set(ctx);
                hungThread.set(Thread.currentThread());
                try {
                    kernelAwait(release, "release (before the interrupt)");
                } catch (InterruptedException expected) {
                    interrupted.countDown();
                }
                kernelAwaitUninterruptibly(release, "release"); // a kernel that will not stop
                returned.countDown();
            }).push();
            AtomicReference<Thread> nextThread = new AtomicReference<>();
            Job next = e.job(ctx -> nextThread.set(Thread.currentThread())).push();

            TimeoutException te = assertFails(TimeoutException.class, hung, "the hung job");
            assertTrue(te.getMessage().contains("ran longer than 200 ms"), te.getMessage());
            assertTrue(hungCtx.get().isCancelled(), "the context of a timed-out job reports cancelled");
            Fixture.await(interrupted, "the worker to be interrupted");
            assertSucceeds(next, "the job after the hung one (its credit came back)");
            assertNotSame(hungThread.get(), nextThread.get(), "the hung worker was replaced");
            assertFalse(returned.getCount() == 0, "the hung kernel still runs");

            release.countDown();
            Fixture.await(returned, "the hung kernel to return");
            assertTrue(hung.finished().error().orElseThrow() instanceof TimeoutException, "the first signal stays");
            // credits were released once: with 1 credit, a second job waits while the first runs
            CountDownLatch firstRunning = new CountDownLatch(1);
            CountDownLatch releaseFirst = new CountDownLatch(1);
            Job first = e.job(ctx -> {
                firstRunning.countDown();
                kernelAwait(releaseFirst, "releaseFirst");
            }).push();
            Job second = gpu.createEntity(Priority.NORMAL).job(ctx -> { }).push();
            Fixture.await(firstRunning, "the first job");
            assertStaysUnsignaled(second.scheduled(), "a second job of a 1-credit ring while one runs");
            releaseFirst.countDown();
            assertSucceeds(first, "first");
            assertSucceeds(second, "second");
        }
    }

    /**
     * The interrupt of a timeout reaches the timed-out kernel only: a kernel that returns as soon
     * as it sees its context cancelled (without waiting, so it never consumes the interrupt) gives
     * its thread back to the pool, and the next job may run on that very thread; an interrupt
     * delivered after the finished fence's callbacks would hit that next job. Here a callback of
     * the timed-out job's finished fence pushes the next job and holds the timer thread until that
     * job's kernel runs on the old worker.
     */
    @Test
    void theTimeoutInterruptNeverHitsALaterJob() throws Exception {
        try (GpuScheduler gpu = scheduler("stale-interrupt", 1, TIMEOUT)) {
            Entity e = gpu.createEntity(Priority.NORMAL);
            AtomicReference<Thread> hungThread = new AtomicReference<>();
            CountDownLatch returned = new CountDownLatch(1);
            Job hung = e.job(ctx -> {
                hungThread.set(Thread.currentThread());
                long deadline = System.nanoTime() + Fixture.DEADLINE.toNanos();
                while (!ctx.isCancelled() && System.nanoTime() < deadline) {
                    LockSupport.parkNanos(1_000_000); // returns on interrupt, leaves the status set
                }
                returned.countDown();
            }).push();
            CountDownLatch victimRunning = new CountDownLatch(1);
            CountDownLatch victimRelease = new CountDownLatch(1);
            AtomicBoolean victimInterrupted = new AtomicBoolean();
            AtomicReference<Thread> victimThread = new AtomicReference<>();
            AtomicReference<Job> victim = new AtomicReference<>();
            hung.finished().onSignal(() -> {
                // runs where the timeout signals the fence: wait for the old worker to be idle again
                try {
                    Fixture.await(returned, "the timed-out kernel to return");
                    Fixture.awaitCondition(() -> hungThread.get().getState() == Thread.State.TIMED_WAITING,
                            "the old worker to wait for work");
                    victim.set(gpu.createEntity(Priority.NORMAL).job(ctx -> {
                        victimThread.set(Thread.currentThread());
                        victimRunning.countDown();
                        try {
                            kernelAwait(victimRelease, "victimRelease");
                        } catch (InterruptedException stale) {
                            victimInterrupted.set(true);
                        }
                    }).push());
                    Fixture.await(victimRunning, "the next job to run");
                } catch (AssertionError err) {
                    victimInterrupted.set(true);
                    throw err;
                }
            });
            assertFails(TimeoutException.class, hung, "the hung job");
            Fixture.await(victimRunning, "the next job");
            assertSame(hungThread.get(), victimThread.get(), "the next job runs on the timed-out job's old worker");
            victimRelease.countDown();
            Fixture.awaitCondition(() -> victim.get() != null, "push() to return in the callback"); // the kernel may run first
            assertSucceeds(victim.get(), "the next job");
            assertFalse(victimInterrupted.get(), "the timeout's interrupt hit the next job");
        }
    }
}
