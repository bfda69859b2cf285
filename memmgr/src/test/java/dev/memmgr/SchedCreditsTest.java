package dev.memmgr;

import static dev.memmgr.SchedTestSupport.assertQueued;
import static dev.memmgr.SchedTestSupport.assertStaysUnsignaled;
import static dev.memmgr.SchedTestSupport.assertSucceeds;
import static dev.memmgr.SchedTestSupport.kernelAwait;
import static dev.memmgr.SchedTestSupport.scheduler;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Credits (drm_sched_test_credits): the credits of running jobs never exceed the ring's limit, the
 * ring does run that many at once, a job of n credits waits for room (and holds back the jobs
 * behind it, so that big jobs are not starved), and a job's credits outside 1..limit are refused
 * at push with nothing queued.
 */
@ExtendWith(MemmgrExtension.class)
class SchedCreditsTest {

    /** drm_sched_test_credits: with a limit of 1 the second job is scheduled only after the first finished. */
    @Test
    void oneCreditRunsOneJobAtATime() throws Exception {
        try (GpuScheduler gpu = scheduler("one-credit", 1)) {
            Entity e = gpu.createEntity(Priority.NORMAL);
            CountDownLatch advance = new CountDownLatch(1);
            Job first = e.job(ctx -> kernelAwait(advance, "advance")).push();
            Job second = gpu.createEntity(Priority.NORMAL).job(ctx -> { }).push();
            assertTrue(first.scheduled().await(Fixture.DEADLINE));
            assertStaysUnsignaled(second.scheduled(), "the second job while the first holds the only credit");
            advance.countDown();
            assertSucceeds(first, "first");
            assertSucceeds(second, "second");
        }
    }

    /** The ring runs as many jobs as its credits allow at once, and not one more. */
    @Test
    void runsUpToTheLimitConcurrently() throws Exception {
        final int limit = 4;
        try (GpuScheduler gpu = scheduler("concurrent", limit)) {
            CyclicBarrier allRunning = new CyclicBarrier(limit);
            CountDownLatch release = new CountDownLatch(1);
            List<Job> jobs = new ArrayList<>();
            for (int i = 0; i < limit; i++) {
                jobs.add(gpu.createEntity(Priority.NORMAL).job(ctx -> {
                    allRunning.await(Fixture.DEADLINE.toMillis(), TimeUnit.MILLISECONDS); // all 4 at once
                    kernelAwait(release, "release");
                }).push());
            }
            Job fifth = gpu.createEntity(Priority.NORMAL).job(ctx -> { }).push();
            for (Job j : jobs) {
                assertTrue(j.scheduled().await(Fixture.DEADLINE));
            }
            assertStaysUnsignaled(fifth.scheduled(), "a fifth 1-credit job on a 4-credit ring");
            release.countDown();
            for (Job j : jobs) {
                assertSucceeds(j, "a job of the first four");
            }
            assertSucceeds(fifth, "the fifth job");
        }
    }

    /** Seeded: 300 jobs of 1..4 credits over 4 entities on a 4-credit ring; the credits running never exceed 4. */
    @Test
    void creditsInFlightNeverExceedTheLimit() {
        final int limit = 4;
        long seed = 0x5EED_C4ED17L;
        SplittableRandom rnd = new SplittableRandom(seed);
        try (GpuScheduler gpu = scheduler("limit", limit)) {
            Entity[] es = new Entity[4];
            for (int i = 0; i < es.length; i++) {
                es[i] = gpu.createEntity(Priority.values()[i]);
            }
            AtomicInteger inUse = new AtomicInteger();
            AtomicInteger max = new AtomicInteger();
            List<Job> jobs = new ArrayList<>();
            for (int i = 0; i < 300; i++) {
                int c = 1 + rnd.nextInt(limit);
                int spin = rnd.nextInt(20_000);
                jobs.add(es[rnd.nextInt(es.length)].job(ctx -> {
                    int now = inUse.addAndGet(c);
                    max.accumulateAndGet(now, Math::max);
                    long until = System.nanoTime() + spin;
                    while (System.nanoTime() < until) {
                        Thread.onSpinWait();
                    }
                    inUse.addAndGet(-c);
                }).credits(c).push());
            }
            for (Job j : jobs) {
                assertSucceeds(j, "a job (seed " + seed + ")");
            }
            assertTrue(max.get() <= limit, "credits in flight reached " + max.get() + " (seed " + seed + ")");
        }
    }

    /**
     * A job of 2 credits on a 4-credit ring with 3 in use waits for room; a 1-credit job pushed
     * after it waits too (the best job holds back the ones behind it, as in drm_sched).
     */
    @Test
    void aBigJobWaitsForRoomAndHoldsBackLaterOnes() throws Exception {
        try (GpuScheduler gpu = scheduler("room", 4)) {
            CountDownLatch release = new CountDownLatch(1);
            Job three = gpu.createEntity(Priority.NORMAL).job(ctx -> kernelAwait(release, "release")).credits(3).push();
            assertTrue(three.scheduled().await(Fixture.DEADLINE));
            Job two = gpu.createEntity(Priority.NORMAL).job(ctx -> { }).credits(2).push();
            Job one = gpu.createEntity(Priority.NORMAL).job(ctx -> { }).push();
            assertStaysUnsignaled(two.scheduled(), "2 credits with 1 left");
            assertQueued(one, "a 1-credit job behind the waiting 2-credit one");
            release.countDown();
            assertSucceeds(three, "three");
            assertSucceeds(two, "two");
            assertSucceeds(one, "one");
        }
    }

    /** A job may take the whole ring. */
    @Test
    void aJobOfAllTheCreditsRunsAlone() throws Exception {
        try (GpuScheduler gpu = scheduler("whole", 3)) {
            CountDownLatch release = new CountDownLatch(1);
            Job small = gpu.createEntity(Priority.NORMAL).job(ctx -> kernelAwait(release, "release")).push();
            assertTrue(small.scheduled().await(Fixture.DEADLINE));
            Job all = gpu.createEntity(Priority.NORMAL).job(ctx -> { }).credits(3).push();
            assertStaysUnsignaled(all.scheduled(), "3 credits with 2 free");
            release.countDown();
            assertSucceeds(small, "small");
            assertSucceeds(all, "all");
        }
    }

    /** Credits outside 1..limit: IllegalArgumentException at push; nothing queued, the objects untouched. */
    @Test
    void creditsOutsideTheRangeAreRefusedAtPush(Fixture f) {
        MemoryManager mm = f.manager();
        Client c = f.client(mm, "credits");
        BufferObject bo = c.create(Fixture.PAGE);
        try (GpuScheduler gpu = scheduler("refuse", 4)) {
            Entity e = gpu.createEntity(Priority.NORMAL);
            AtomicBoolean ran = new AtomicBoolean();
            for (int bad : new int[] {0, -1, 5, Integer.MIN_VALUE, Integer.MAX_VALUE}) {
                Job.Builder b = e.job(ctx -> ran.set(true)).writes(bo).credits(bad); // the builder accepts it
                IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, b::push, "credits " + bad);
                assertTrue(ex.getMessage().contains("1 to 4 credits"), ex.getMessage());
                assertTrue(bo.resv().isIdle(FenceUsage.BOOKKEEP), "no fence left on the object (credits " + bad + ")");
            }
            Job.Builder fixed = e.job(ctx -> ran.set(true)).credits(0);
            assertThrows(IllegalArgumentException.class, fixed::push);
            Job ok = fixed.credits(4).push(); // the refused builder was not used up
            assertSucceeds(ok, "the same builder with valid credits");
            assertTrue(ran.get());
            assertEquals(4, gpu.credits());
            Job after = e.job(ctx -> { }).writes(bo).push();
            assertSucceeds(after, "a job after the refusals (no stale dependency)");
            assertFalse(after.finished().error().isPresent());
        }
    }
}
