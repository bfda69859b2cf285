package dev.memmgr;

import static dev.memmgr.SchedTestSupport.assertFails;
import static dev.memmgr.SchedTestSupport.assertQueued;
import static dev.memmgr.SchedTestSupport.assertStaysUnsignaled;
import static dev.memmgr.SchedTestSupport.assertSucceeds;
import static dev.memmgr.SchedTestSupport.awaitFinished;
import static dev.memmgr.SchedTestSupport.kernelAwait;
import static dev.memmgr.SchedTestSupport.scheduler;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The kernel's scheduler KUnit suite (drivers/gpu/drm/scheduler/tests/tests_basic.c) through the
 * public API: one job (drm_sched_basic_submit), queues of jobs in one or several entities, with
 * and without a chain of dependencies (drm_sched_basic_test), entity teardown with half the queue
 * pending (drm_sched_basic_entity_cleanup), an entity closed with jobs waiting for dependencies,
 * scheduler teardown with a job running (drm_sched_basic_cancel), and jobs submitted from several
 * threads at once (drm_sched_parallel_submit_test). The mock backend's "advance" is a latch the
 * kernel waits for; "wait_scheduled" and "wait_finished" are the job's fences.
 */
@ExtendWith(MemmgrExtension.class)
class SchedBasicTest {

    @Test
    void oneJobIsScheduledThenFinishedOnlyWhenItsKernelReturns() throws Exception {
        try (GpuScheduler gpu = scheduler("one", 4)) {
            Entity e = gpu.createEntity(Priority.NORMAL);
            CountDownLatch running = new CountDownLatch(1);
            CountDownLatch advance = new CountDownLatch(1);
            AtomicReference<JobContext> seen = new AtomicReference<>();
            AtomicBoolean cancelledInKernel = new AtomicBoolean(true);
            Job job = e.job(ctx -> {
                seen.set(ctx);
                cancelledInKernel.set(ctx.isCancelled());
                running.countDown();
                kernelAwait(advance, "advance");
            }).push();
            assertTrue(job.scheduled().await(Fixture.DEADLINE), "scheduled");
            Fixture.await(running, "the kernel to start");
            assertFalse(job.finished().isSignaled(), "finished while its kernel still runs");
            assertEquals("Job[running]", job.toString());
            advance.countDown();
            assertSucceeds(job, "the job");
            assertNull(seen.get().vm(), "no VM: ctx.vm() is null");
            assertFalse(cancelledInKernel.get(), "a job that runs normally is not cancelled");
            assertEquals("Job[finished]", job.toString());
        }
    }

    /**
     * drm_sched_basic_test: queue depth 100 over 1 or 4 entities, with and without a dependency
     * chain. The jobs of an entity start in push order: when a job's scheduled fence signals, the
     * previous job of its entity's has signaled already (with 4 credits their kernels overlap, so
     * the order in which their first statements run is not the order of starts). A chain runs its
     * kernels one after the other.
     */
    @ParameterizedTest(name = "{0} entities, dependency chain {1}")
    @CsvSource({"1, false", "1, true", "4, false", "4, true"})
    void queuesOfJobs(int entities, boolean chain) {
        final int depth = 100;
        try (GpuScheduler gpu = scheduler("queues", 4)) {
            List<Entity> es = new ArrayList<>();
            for (int i = 0; i < entities; i++) {
                es.add(gpu.createEntity(Priority.NORMAL));
            }
            ConcurrentLinkedQueue<Integer> started = new ConcurrentLinkedQueue<>();
            AtomicIntegerArray runs = new AtomicIntegerArray(depth);
            ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
            List<Job> jobs = new ArrayList<>();
            Job prev = null;
            for (int i = 0; i < depth; i++) {
                int n = i;
                Job before = prev;
                Job.Builder b = es.get(i % entities).job(ctx -> {
                    started.add(n);
                    runs.incrementAndGet(n);
                    if (before != null && chain && !before.finished().isSignaled()) {
                        problems.add("job " + n + " started before the job it depends on finished");
                    }
                });
                if (chain && prev != null) {
                    b.dependency(prev.finished());
                }
                prev = b.push();
                jobs.add(prev);
                checkStartsAfter(i >= entities ? jobs.get(i - entities) : null, prev, "job " + i, problems);
            }
            awaitFinished(prev, "the last job");
            for (int i = 0; i < depth; i++) {
                assertSucceeds(jobs.get(i), "job " + i);
                assertEquals(1, runs.get(i), "kernel runs of job " + i);
            }
            assertEquals(List.of(), List.copyOf(problems));
            if (chain) {
                List<Integer> order = List.copyOf(started);
                assertEquals(order.stream().sorted().toList(), order, "a chain runs in push order");
            }
        }
    }

    /** Records a problem if {@code job}'s scheduled fence signals before that of {@code earlier} (same entity). */
    private static void checkStartsAfter(Job earlier, Job job, String what, ConcurrentLinkedQueue<String> problems) {
        if (earlier != null) {
            job.scheduled().onSignal(() -> {
                if (!earlier.scheduled().isSignaled()) {
                    problems.add(what + " was scheduled before the job pushed ahead of it in its entity");
                }
            });
        }
    }

    /**
     * drm_sched_basic_entity_cleanup: 100 jobs over 4 entities in one dependency chain; once the
     * middle one finished, every entity is closed with the rest still pending. Every job finishes
     * once: those that ran without an error, the others killed (CancellationException, scheduled
     * signaled, kernel never run); the jobs that ran are a prefix of the chain.
     */
    @Test
    void entityCleanupWithHalfTheQueuePending() throws Exception {
        final int depth = 100;
        try (GpuScheduler gpu = scheduler("cleanup", 4)) {
            Entity[] es = new Entity[4];
            for (int i = 0; i < es.length; i++) {
                es[i] = gpu.createEntity(Priority.NORMAL);
            }
            AtomicIntegerArray runs = new AtomicIntegerArray(depth);
            CountDownLatch midDone = new CountDownLatch(1);
            CountDownLatch closed = new CountDownLatch(1);
            List<Job> jobs = new ArrayList<>();
            Job prev = null;
            for (int i = 0; i < depth; i++) {
                int n = i;
                Job.Builder b = es[i % es.length].job(ctx -> {
                    runs.incrementAndGet(n);
                    if (n == depth / 2) {
                        midDone.countDown();
                        kernelAwait(closed, "the entities to close"); // half the queue is still pending
                    }
                });
                if (prev != null) {
                    b.dependency(prev.finished());
                }
                prev = b.push();
                jobs.add(prev);
            }
            Fixture.await(midDone, "the middle job");
            for (Entity e : es) {
                e.close();
            }
            closed.countDown();
            awaitFinished(prev, "the last job");
            int ran = 0;
            while (ran < depth && runs.get(ran) == 1) {
                ran++;
            }
            assertEquals(depth / 2 + 1, ran, "jobs up to the middle one ran, no later one");
            for (int i = 0; i < depth; i++) {
                Job j = jobs.get(i);
                awaitFinished(j, "job " + i);
                if (i < ran) {
                    assertSucceeds(j, "job " + i);
                } else {
                    assertFails(CancellationException.class, j, "job " + i + " after the close");
                    assertEquals(0, runs.get(i), "a killed job never runs: " + i);
                }
            }
        }
    }

    /**
     * An entity closed with jobs waiting for a dependency kills them once the dependency signals
     * (not before: drm_sched_entity_kill waits for their fences), finished with a
     * CancellationException and scheduled signaled, kernels never run; a job queued behind a
     * running one with nothing to wait for is killed at once; the running job finishes normally;
     * other entities are not affected.
     */
    @Test
    void entityCloseKillsQueuedJobsOnceTheirDependenciesSignal() throws Exception {
        try (GpuScheduler gpu = scheduler("kill", 1)) {
            Entity e = gpu.createEntity(Priority.NORMAL);
            Entity other = gpu.createEntity(Priority.NORMAL);
            AtomicIntegerArray runs = new AtomicIntegerArray(4);
            CountDownLatch running = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            Job head = e.job(ctx -> {
                runs.incrementAndGet(0);
                running.countDown();
                kernelAwait(release, "release");
            }).push();
            Fixture.await(running, "the head job");
            Job behind = e.job(ctx -> runs.incrementAndGet(1)).push();
            Fence gate = new Fence();
            Job waiting = e.job(ctx -> runs.incrementAndGet(2)).dependency(gate).push();
            Job elsewhere = other.job(ctx -> runs.incrementAndGet(3)).push();

            e.close();
            e.close(); // idempotent
            assertFails(CancellationException.class, behind, "the job with nothing to wait for");
            assertTrue(behind.finished().isSignaled(), "killed by close() itself");
            assertQueued(waiting, "the job waiting for its dependency is not killed before it signals");
            assertStaysUnsignaled(waiting.finished(), "killed before its dependency signaled");

            gate.signal();
            assertFails(CancellationException.class, waiting, "the job whose dependency signaled");
            assertFalse(head.finished().isSignaled(), "the running job is not touched");
            release.countDown();
            assertSucceeds(head, "the running job");
            assertSucceeds(elsewhere, "a job of another entity");
            assertEquals(List.of(1, 0, 0, 1), List.of(runs.get(0), runs.get(1), runs.get(2), runs.get(3)));
        }
    }

    /**
     * drm_sched_basic_cancel: closing the scheduler with a job running and one queued does not wait
     * for the kernel; the queued job finishes with a CancellationException (scheduled signaled too);
     * the running kernel sees its context cancelled and finishes on its own.
     */
    @Test
    void schedulerCloseCancelsWhatNeverRanAndDoesNotWaitForKernels() throws Exception {
        GpuScheduler gpu = scheduler("cancel", 4);
        try {
            Entity e = gpu.createEntity(Priority.NORMAL);
            CountDownLatch running = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            AtomicReference<JobContext> ctxOfRunning = new AtomicReference<>();
            AtomicBoolean queuedRan = new AtomicBoolean();
            Job run = e.job(ctx -> {
                ctxOfRunning.set(ctx);
                running.countDown();
                kernelAwait(release, "release");
            }).push();
            Fixture.await(running, "the running job");
            Job queued = e.job(ctx -> queuedRan.set(true)).dependency(new Fence()).push();
            Fixture.inOtherThread(gpu::close); // bounded: close must not block on the kernel
            assertTrue(ctxOfRunning.get().isCancelled(), "the running kernel sees the close");
            assertFails(CancellationException.class, queued, "the queued job");
            assertFalse(run.finished().isSignaled(), "the running job finishes on its own");
            release.countDown();
            assertSucceeds(run, "the running job");
            assertFalse(queuedRan.get());
        } finally {
            gpu.close();
        }
    }

    /**
     * drm_sched_parallel_submit_test: 16 threads each push 4 jobs to their own entity, and 8 threads
     * push 4 jobs each to one shared entity, all at once; every job waits for one gate. Nothing is
     * scheduled before the gate opens; afterwards every job runs exactly once, and each thread's
     * jobs are scheduled in its push order.
     */
    @Test
    void parallelSubmission(Fixture f) {
        final int jobsPerThread = 4;
        final int own = 16;
        final int shared = 8;
        try (GpuScheduler gpu = scheduler("parallel", 8)) {
            Entity common = gpu.createEntity(Priority.NORMAL);
            Fence gate = new Fence();
            int threads = own + shared;
            Job[][] jobs = new Job[threads][jobsPerThread];
            ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
            AtomicIntegerArray runs = new AtomicIntegerArray(threads * jobsPerThread);
            Workers w = f.workers();
            for (int t = 0; t < threads; t++) {
                int tid = t;
                w.add("submitter-" + t, () -> {
                    Entity e = tid < own ? gpu.createEntity(Priority.NORMAL) : common;
                    for (int k = 0; k < jobsPerThread; k++) {
                        int n = k;
                        jobs[tid][k] = e.job(ctx -> runs.incrementAndGet(tid * jobsPerThread + n))
                                .dependency(gate).push();
                    }
                });
            }
            w.start().join();
            for (int t = 0; t < threads; t++) {
                for (int k = 0; k < jobsPerThread; k++) {
                    assertQueued(jobs[t][k], "a job waiting for the gate");
                    checkStartsAfter(k > 0 ? jobs[t][k - 1] : null, jobs[t][k], "job " + k + " of thread " + t, problems);
                }
            }
            gate.signal();
            for (int t = 0; t < threads; t++) {
                for (int k = 0; k < jobsPerThread; k++) {
                    assertSucceeds(jobs[t][k], "job " + k + " of thread " + t);
                    assertEquals(1, runs.get(t * jobsPerThread + k), "kernel runs");
                }
            }
            assertEquals(List.of(), List.copyOf(problems), "each thread's jobs start in its push order");
        }
    }
}
