package dev.memmgr;

import static dev.memmgr.SchedTestSupport.assertFails;
import static dev.memmgr.SchedTestSupport.assertSucceeds;
import static dev.memmgr.SchedTestSupport.awaitFinished;
import static dev.memmgr.SchedTestSupport.kernelAwait;
import static dev.memmgr.SchedTestSupport.scheduler;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Shutdown: pushes after a close throw IllegalStateException and leave nothing behind; a
 * scheduler close cancels every job that never ran, including jobs of a closed entity still
 * waiting for their dependencies; and closes racing pushes and running kernels leave every pushed
 * job finished exactly once, its kernel run at most once (exactly once when it finished without
 * an error), and never block on a kernel.
 */
@ExtendWith(MemmgrExtension.class)
class SchedShutdownTest {

    @Test
    void pushesAfterCloseThrowAndLeaveNothingBehind(Fixture f) {
        BufferObject bo = f.client(f.manager(), "after-close").create(Fixture.PAGE);
        GpuScheduler gpu = scheduler("after-close", 4);
        Entity closedEntity = gpu.createEntity(Priority.NORMAL);
        Entity open = gpu.createEntity(Priority.NORMAL);
        closedEntity.close();
        AtomicBoolean ran = new AtomicBoolean();
        Job.Builder b = closedEntity.job(ctx -> ran.set(true)).writes(bo);
        assertThrows(IllegalStateException.class, b::push, "push to a closed entity");
        assertTrue(bo.resv().isIdle(FenceUsage.BOOKKEEP), "no fence left behind");
        assertThrows(IllegalStateException.class, b::push, "a builder is used once, even when refused");
        assertSucceeds(open.job(ctx -> { }).writes(bo).push(), "the other entity still works");

        gpu.close();
        gpu.close(); // idempotent
        assertThrows(IllegalStateException.class, () -> gpu.createEntity(Priority.NORMAL));
        assertThrows(IllegalStateException.class, () -> open.job(ctx -> ran.set(true)).reads(bo).push());
        assertTrue(bo.resv().isIdle(FenceUsage.BOOKKEEP), "no fence left behind");
        open.close(); // closing an entity of a closed scheduler is fine
        assertFalse(ran.get());
    }

    /** Jobs of a closed entity that wait for a dependency that never signals are cancelled by the scheduler's close. */
    @Test
    void schedulerCloseCancelsKilledJobsStillWaitingForDependencies() {
        GpuScheduler gpu = scheduler("killed-then-closed", 4);
        try {
            Entity e = gpu.createEntity(Priority.NORMAL);
            AtomicBoolean ran = new AtomicBoolean();
            Fence never = new Fence();
            Job j = e.job(ctx -> ran.set(true)).dependency(never).push();
            e.close();
            assertFalse(j.finished().isSignaled(), "killed only once its dependency signals");
            gpu.close();
            assertFails(CancellationException.class, j, "a killed job of a closed scheduler");
            never.signal();
            assertFalse(ran.get());
        } finally {
            gpu.close();
        }
    }

    /** One round of pushing threads, kernels blocked and free, entity closes and a scheduler close, all at once. */
    @Test
    void closesRacingPushesAndRunningKernels(Fixture f) {
        MemoryManager mm = f.manager();
        Client c = f.client(mm, "races");
        List<BufferObject> objs = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            objs.add(c.create(Fixture.PAGE));
        }
        for (int round = 0; round < 20; round++) {
            race(f, objs, 0x5EEDL + round);
        }
    }

    private static void race(Fixture f, List<BufferObject> objs, long seed) {
        GpuScheduler gpu = scheduler("race-" + seed, 3);
        try {
            final int pushers = 4;
            CountDownLatch enoughPushed = new CountDownLatch(pushers * 50);
            CountDownLatch releaseKernels = new CountDownLatch(1);
            ConcurrentLinkedQueue<Throwable> pushFailures = new ConcurrentLinkedQueue<>();
            List<Entity> entities = new ArrayList<>();
            Entity shared = gpu.createEntity(Priority.HIGH);
            for (int t = 0; t < pushers; t++) {
                entities.add(gpu.createEntity(Priority.values()[t % 4]));
            }
            List<Job> pushed = new ArrayList<>();
            List<AtomicInteger> pushedRuns = new ArrayList<>();
            Workers w = f.workers();
            for (int t = 0; t < pushers; t++) {
                Entity mine = entities.get(t);
                SplittableRandom rnd = new SplittableRandom(seed * 31 + t);
                w.add("pusher-" + t, () -> {
                    Job prev = null;
                    while (true) {
                        AtomicInteger count = new AtomicInteger();
                        boolean blocks = rnd.nextInt(8) == 0;
                        Job.Builder b = (rnd.nextBoolean() ? mine : shared).job(ctx -> {
                            count.incrementAndGet();
                            if (blocks) {
                                kernelAwait(releaseKernels, "releaseKernels");
                            }
                        });
                        if (prev != null && rnd.nextInt(3) == 0) {
                            b.dependency(prev.finished());
                        }
                        if (rnd.nextInt(4) == 0) {
                            BufferObject bo = objs.get(rnd.nextInt(objs.size()));
                            if (rnd.nextBoolean()) {
                                b.writes(bo);
                            } else {
                                b.reads(bo);
                            }
                        }
                        try {
                            prev = b.push();
                        } catch (IllegalStateException closed) {
                            return; // the entity or the scheduler closed
                        } catch (RuntimeException other) {
                            pushFailures.add(other);
                            return;
                        }
                        synchronized (pushed) {
                            pushed.add(prev);
                            pushedRuns.add(count);
                        }
                        enoughPushed.countDown();
                    }
                });
            }
            w.start();
            Fixture.await(enoughPushed, "pushes");
            entities.get(0).close();
            Fixture.inOtherThread(gpu::close); // bounded: close never blocks on the blocked kernels
            w.join();
            releaseKernels.countDown();
            assertEquals(List.of(), List.copyOf(pushFailures), "pushes failed otherwise than with IllegalStateException");
            synchronized (pushed) {
                for (int i = 0; i < pushed.size(); i++) {
                    Job j = pushed.get(i);
                    awaitFinished(j, "a pushed job (seed " + seed + ")");
                    Optional<Throwable> err = j.finished().error();
                    int ran = pushedRuns.get(i).get();
                    assertTrue(j.scheduled().isSignaled(), "scheduled signals too (seed " + seed + ")");
                    if (err.isEmpty()) {
                        assertEquals(1, ran, "a job finished without error ran once (seed " + seed + ")");
                    } else {
                        assertInstanceOf(CancellationException.class, err.get(), "seed " + seed);
                        assertEquals(0, ran, "a cancelled job never ran (seed " + seed + ")");
                    }
                }
            }
            assertThrows(IllegalStateException.class, () -> shared.job(ctx -> { }).push());
        } finally {
            gpu.close();
        }
    }
}
