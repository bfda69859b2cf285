package dev.memmgr;

import static dev.memmgr.SchedTestSupport.assertFails;
import static dev.memmgr.SchedTestSupport.assertSucceeds;
import static dev.memmgr.SchedTestSupport.awaitFinished;
import static dev.memmgr.SchedTestSupport.kernelAwait;
import static dev.memmgr.SchedTestSupport.scheduler;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Errors: what a kernel throws becomes its finished fence's error (checked exceptions and errors
 * too) and the ring goes on; a dependency that signaled with an error fails the job without
 * running it, with that error, and the failure travels down a chain of any length; the first
 * signal of a fence wins; a throwing callback on a job's fence is reported and breaks nothing.
 */
@ExtendWith(MemmgrExtension.class)
class JobErrorTest {

    @Test
    void aKernelsExceptionBecomesTheFinishedError() {
        try (GpuScheduler gpu = scheduler("kernel-errors", 1)) {
            Entity e = gpu.createEntity(Priority.NORMAL);
            IOException checked = new IOException("checked");
            IllegalArgumentException unchecked = new IllegalArgumentException("unchecked");
            AssertionError error = new AssertionError("an Error");
            Job a = e.job(ctx -> {
                throw checked;
            }).push();
            Job b = e.job(ctx -> {
                throw unchecked;
            }).push();
            Job c = e.job(ctx -> {
                throw error;
            }).push();
            Job d = e.job(ctx -> { }).push();
            assertSame(checked, assertFails(IOException.class, a, "a checked exception"));
            assertSame(unchecked, assertFails(IllegalArgumentException.class, b, "an unchecked exception"));
            assertSame(error, assertFails(AssertionError.class, c, "an Error"));
            assertSucceeds(d, "a job after three failures (credits came back)");
        }
    }

    @Test
    void aFailedDependencyFailsTheJobUnrunWithItsError() {
        try (GpuScheduler gpu = scheduler("dep-errors", 4)) {
            Entity e = gpu.createEntity(Priority.NORMAL);
            AtomicInteger ran = new AtomicInteger();
            Fence ok = new Fence();
            Fence bad = new Fence();
            Job j = e.job(ctx -> ran.incrementAndGet()).dependency(ok).dependency(bad).push();
            Job next = e.job(ctx -> ran.incrementAndGet()).push(); // same entity, no dependency
            IllegalStateException cause = new IllegalStateException("upstream");
            bad.signal(cause);
            assertFalse(j.finished().isSignaled(), "it still waits for its other dependency");
            ok.signal();
            assertSame(cause, assertFails(IllegalStateException.class, j, "the job"));
            assertSucceeds(next, "the next job of the entity");
            assertEquals(1, ran.get(), "only the next job ran");
        }
    }

    /** A chain of 20,000 jobs whose first dependency fails: every one fails with that error, none runs. */
    @Test
    void aFailureTravelsDownALongChain() {
        try (GpuScheduler gpu = scheduler("long-chain", 4)) {
            Entity[] es = {gpu.createEntity(Priority.NORMAL), gpu.createEntity(Priority.HIGH)};
            AtomicInteger ran = new AtomicInteger();
            Fence gate = new Fence();
            List<Job> jobs = new ArrayList<>();
            Fence prev = gate;
            for (int i = 0; i < 20_000; i++) {
                Job j = es[i % 2].job(ctx -> ran.incrementAndGet()).dependency(prev).push();
                jobs.add(j);
                prev = j.finished();
            }
            IllegalStateException cause = new IllegalStateException("the first link failed");
            gate.signal(cause);
            for (Job j : jobs) {
                assertSame(cause, assertFails(IllegalStateException.class, j, "a job of the chain"));
            }
            assertEquals(0, ran.get());
        }
    }

    /** Closing an entity whose 20,000 chained jobs wait for one gate kills them all once it signals. */
    @Test
    void aKilledLongChainCompletes() {
        try (GpuScheduler gpu = scheduler("killed-chain", 4)) {
            Entity e = gpu.createEntity(Priority.NORMAL);
            AtomicInteger ran = new AtomicInteger();
            Fence gate = new Fence();
            Fence prev = gate;
            List<Job> jobs = new ArrayList<>();
            for (int i = 0; i < 20_000; i++) {
                Job j = e.job(ctx -> ran.incrementAndGet()).dependency(prev).push();
                jobs.add(j);
                prev = j.finished();
            }
            e.close();
            gate.signal();
            for (Job j : jobs) {
                assertFails(CancellationException.class, j, "a killed job");
            }
            assertEquals(0, ran.get());
        }
    }

    /** The first signal of a fence wins: a dependency signaled without an error, then with one, lets the job run. */
    @Test
    void theFirstSignalOfADependencyWins() {
        try (GpuScheduler gpu = scheduler("first-wins", 4)) {
            Fence dep = new Fence();
            Job j = gpu.createEntity(Priority.NORMAL).job(ctx -> { }).dependency(dep).push();
            assertTrue(dep.signal());
            assertFalse(dep.signal(new IllegalStateException("too late")));
            assertSucceeds(j, "the job");
        }
    }

    /**
     * Somebody else signaling a job's finished fence first wins too: the kernel's own result is
     * dropped, and the ring is not disturbed (its credit comes back when the kernel returns).
     */
    @Test
    void aFinishedFenceSignaledByHandKeepsItsFirstSignal() throws Exception {
        try (GpuScheduler gpu = scheduler("by-hand", 1)) {
            Entity e = gpu.createEntity(Priority.NORMAL);
            CountDownLatch running = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            Job j = e.job(ctx -> {
                running.countDown();
                kernelAwait(release, "release");
                throw new IllegalStateException("the kernel's own error");
            }).push();
            Fixture.await(running, "the kernel");
            CancellationException mine = new CancellationException("signaled by hand");
            assertTrue(j.finished().signal(mine));
            release.countDown();
            Job next = e.job(ctx -> { }).push();
            assertSucceeds(next, "the next job");
            assertSame(mine, j.finished().error().orElseThrow());
        }
    }

    /**
     * A callback on a job's scheduled or finished fence that throws is reported at WARNING and
     * changes nothing: the job runs and finishes, the pusher and the signaling thread get no
     * exception, later jobs run, and the ring's credit comes back.
     */
    @Test
    void aThrowingFenceCallbackIsReportedAndBreaksNothing(Fixture f) {
        try (GpuScheduler gpu = scheduler("callbacks", 1)) {
            Entity e = gpu.createEntity(Priority.NORMAL);
            Fence gate = new Fence();
            AtomicInteger ran = new AtomicInteger();
            Job j = e.job(ctx -> ran.incrementAndGet()).dependency(gate).push();
            j.scheduled().onSignal(() -> {
                throw new IllegalStateException("scheduled callback");
            });
            j.finished().onSignal(() -> {
                throw new IllegalStateException("finished callback");
            });
            gate.signal(); // dispatches the job in this thread: must not throw
            assertSucceeds(j, "the job");
            Job next = e.job(ctx -> ran.incrementAndGet()).push();
            assertSucceeds(next, "the next job");
            assertEquals(2, ran.get());
            awaitFinished(next, "next");
            Fixture.awaitCondition(() -> f.logs().warnings("finished callback").size() == 1, "the finished callback report");
            f.logs().expectWarning("a callback of a job's fence threw", "scheduled callback");
            f.logs().expectWarning("a callback of a job's fence threw", "finished callback");
        }
    }
}
