package dev.memmgr;

import static dev.memmgr.Fixture.DEADLINE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Helpers of the scheduler tests: bounded waits for jobs and, inside kernels, for latches (a
 * kernel that waits forever would outlive a failed test), and assertions on how a job ended.
 */
final class SchedTestSupport {
    private SchedTestSupport() {
    }

    /** A scheduler with {@code credits} and the default timeout (10 s: no test job comes near it). */
    static GpuScheduler scheduler(String name, int credits) {
        return GpuScheduler.builder(name).credits(credits).build();
    }

    /** A scheduler with {@code credits} and a short timeout. */
    static GpuScheduler scheduler(String name, int credits, Duration timeout) {
        return GpuScheduler.builder(name).credits(credits).timeout(timeout).build();
    }

    /** Waits (bounded) for the job's finished fence. */
    static void awaitFinished(Job j, String what) {
        assertTrue(j.finished().await(DEADLINE), () -> what + ": not finished within " + DEADLINE + " (" + j + ")");
    }

    /** Waits (bounded) for the job's finished fence and asserts it signaled without an error. */
    static void assertSucceeds(Job j, String what) {
        awaitFinished(j, what);
        Optional<Throwable> e = j.finished().error();
        assertTrue(e.isEmpty(), () -> what + ": finished with " + e.orElseThrow());
        assertTrue(j.scheduled().isSignaled(), () -> what + ": finished before its scheduled fence signaled");
    }

    /** Waits (bounded) for the job to finish with an error of {@code type}; @return the error */
    static <T extends Throwable> T assertFails(Class<T> type, Job j, String what) {
        awaitFinished(j, what);
        Throwable e = j.finished().error().orElseThrow(() -> new AssertionError(what + ": finished without an error"));
        assertTrue(j.scheduled().isSignaled(), () -> what + ": finished before its scheduled fence signaled");
        return assertInstanceOf(type, e, what);
    }

    /** Asserts the job did not finish and was not scheduled: it is still queued. */
    static void assertQueued(Job j, String what) {
        assertEquals("Job[queued]", j.toString(), what);
    }

    /**
     * Inside a kernel: waits for {@code latch} at most {@link Fixture#DEADLINE}, failing the job
     * (an AssertionError becomes its finished error) if it does not open.
     */
    static void kernelAwait(CountDownLatch latch, String what) throws InterruptedException {
        if (!latch.await(DEADLINE.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("kernel timed out waiting for " + what);
        }
    }

    /** Inside a kernel: as {@link #kernelAwait} but ignoring interrupts (a kernel that will not stop). */
    static void kernelAwaitUninterruptibly(CountDownLatch latch, String what) {
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    long left = deadline - System.nanoTime();
                    if (latch.await(Math.max(0, left), TimeUnit.NANOSECONDS)) {
                        return;
                    }
                    throw new AssertionError("kernel timed out waiting for " + what);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Fails unless {@code f} is still unsignaled after {@link Fixture#SHORT_WAIT} (a thing that must not happen). */
    static void assertStaysUnsignaled(Fence f, String what) {
        if (f.await(Fixture.SHORT_WAIT)) {
            fail(what + ": signaled (" + f + ")");
        }
    }
}
