package dev.memmgr;

import static dev.memmgr.SchedTestSupport.assertSucceeds;
import static dev.memmgr.SchedTestSupport.scheduler;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Nothing of a job outlives it (DESIGN 5: "1,000,000 jobs in a run without heap growth"): a
 * million empty jobs, some of them writing objects, leave the heap retained after a full GC where
 * it was; a finished job, its fences, its context and its kernel are collected once unreferenced,
 * and so are the jobs of a finished dependency chain, a closed entity and a closed scheduler.
 */
@ExtendWith(MemmgrExtension.class)
class SchedLeakTest {
    /** Jobs pushed before each await: the ring's queue is this deep at most. */
    private static final int BATCH = 2_000;
    private static final int JOBS = 1_000_000;
    /** Retained heap that may come and go between two measurements (JIT, class data, test harness). */
    private static final long SLACK = 2L << 20;

    @Test
    void aMillionJobsLeaveTheHeapWhereItWas(Fixture f) {
        MemoryManager mm = f.manager();
        Client c = f.client(mm, "million");
        BufferObject[] objs = {c.create(Fixture.PAGE), c.create(Fixture.PAGE), c.create(Fixture.PAGE)};
        try (GpuScheduler gpu = scheduler("million", 64)) {
            Entity[] es = {gpu.createEntity(Priority.NORMAL), gpu.createEntity(Priority.HIGH),
                gpu.createEntity(Priority.NORMAL), gpu.createEntity(Priority.LOW)};
            GpuKernel empty = ctx -> { };
            Job[] batch = new Job[BATCH];
            run(es, objs, empty, batch, 50_000); // warm up: the JIT, the pool's threads, the timer wheel
            long before = retainedHeap();
            run(es, objs, empty, batch, JOBS / 2);
            long middle = retainedHeap();
            run(es, objs, empty, batch, JOBS / 2);
            long after = retainedHeap();
            String figures = "retained heap: " + before + " B before, " + middle + " B after " + JOBS / 2
                    + " jobs, " + after + " B after " + JOBS + " jobs";
            assertTrue(after - before < SLACK, figures);
            assertTrue(after - middle < SLACK, figures);
        }
    }

    /** Pushes {@code n} jobs in batches, every 16th writing or reading one of the objects, awaiting each batch. */
    private static void run(Entity[] es, BufferObject[] objs, GpuKernel kernel, Job[] batch, int n) {
        int pushed = 0;
        while (pushed < n) {
            int k = Math.min(batch.length, n - pushed);
            for (int i = 0; i < k; i++) {
                int seq = pushed + i;
                Job.Builder b = es[seq & 3].job(kernel);
                if ((seq & 15) == 0) {
                    BufferObject bo = objs[(seq >> 4) % objs.length];
                    if ((seq & 16) == 0) {
                        b.writes(bo);
                    } else {
                        b.reads(bo);
                    }
                }
                batch[i] = b.push();
            }
            for (int i = 0; i < k; i++) {
                if (!batch[i].finished().await(Fixture.DEADLINE) || batch[i].finished().error().isPresent()) {
                    throw new AssertionError("job " + (pushed + i) + " did not finish cleanly: " + batch[i]
                            + " " + batch[i].finished());
                }
                batch[i] = null;
            }
            pushed += k;
        }
    }

    /** Used heap after full collections (System.gc() is a full GC with the test JVM's default collector). */
    private static long retainedHeap() {
        MemoryMXBean mem = ManagementFactory.getMemoryMXBean();
        long least = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            System.gc();
            least = Math.min(least, mem.getHeapMemoryUsage().getUsed());
        }
        return least;
    }

    @Test
    void aFinishedJobIsCollectedOnceUnreferenced() {
        try (GpuScheduler gpu = scheduler("weak", 4)) {
            Entity e = gpu.createEntity(Priority.NORMAL);
            AtomicReference<WeakReference<JobContext>> ctxRef = new AtomicReference<>();
            Job j = e.job(ctx -> ctxRef.set(new WeakReference<>(ctx))).push();
            assertSucceeds(j, "the job");
            WeakReference<Job> job = new WeakReference<>(j);
            WeakReference<Fence> finished = new WeakReference<>(j.finished());
            WeakReference<Fence> scheduled = new WeakReference<>(j.scheduled());
            j = null;
            assertCollected(job, "the job");
            assertCollected(finished, "its finished fence");
            assertCollected(scheduled, "its scheduled fence");
            assertCollected(ctxRef.get(), "its context (and the internal job it holds)");
        }
    }

    /** A chain of 1,000 jobs: once all finished, only the last one, still referenced, is alive. */
    @Test
    void aFinishedChainIsCollected() {
        try (GpuScheduler gpu = scheduler("weak-chain", 4)) {
            Entity e = gpu.createEntity(Priority.NORMAL);
            Fence gate = new Fence();
            List<WeakReference<Fence>> fences = new ArrayList<>();
            Job last = null;
            Fence prev = gate;
            for (int i = 0; i < 1_000; i++) {
                last = e.job(ctx -> { }).dependency(prev).push();
                fences.add(new WeakReference<>(last.finished()));
                prev = last.finished();
            }
            prev = null;
            gate.signal();
            assertSucceeds(last, "the last job");
            List<WeakReference<Fence>> done = fences.subList(0, fences.size() - 1);
            Fixture.awaitCondition(() -> {
                System.gc();
                return done.stream().allMatch(r -> r.get() == null);
            }, () -> done.stream().filter(r -> r.get() != null).count() + " finished fences of the chain still reachable");
            assertTrue(fences.get(fences.size() - 1).get() != null, "the last job is referenced");
        }
    }

    @Test
    void closedEntitiesAndSchedulersAreCollected() {
        GpuScheduler gpu = scheduler("weak-close", 4);
        Entity e = gpu.createEntity(Priority.NORMAL);
        assertSucceeds(e.job(ctx -> { }).push(), "a job");
        WeakReference<Entity> entity = new WeakReference<>(e);
        e.close();
        e = null;
        assertCollected(entity, "a closed entity");
        Entity open = gpu.createEntity(Priority.HIGH);
        assertSucceeds(open.job(ctx -> { }).push(), "a job");
        WeakReference<GpuScheduler> sched = new WeakReference<>(gpu);
        gpu.close();
        gpu = null;
        open = null;
        assertCollected(sched, "a closed scheduler (its threads ended)");
    }

    /** Collects until the reference is cleared (bounded: the fixture's deadline). */
    private static void assertCollected(WeakReference<?> ref, String what) {
        Fixture.awaitCondition(() -> {
            System.gc();
            return ref.get() == null;
        }, what + " to be collected");
        assertNull(ref.get());
    }
}
