package dev.memmgr;

import static dev.memmgr.SchedTestSupport.assertSucceeds;
import static dev.memmgr.SchedTestSupport.kernelAwait;
import static dev.memmgr.SchedTestSupport.scheduler;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Priorities (drm_sched_priorities): on a ring of one credit, with a first job holding it while
 * the others are pushed, the order in which kernels start is fully determined: every KERNEL job,
 * then HIGH, NORMAL, LOW, and FIFO by push within a priority, across entities too.
 */
@ExtendWith(MemmgrExtension.class)
class SchedPriorityTest {

    @Test
    void higherPrioritiesFirstAndFifoWithinOne() throws Exception {
        try (GpuScheduler gpu = scheduler("priorities", 1)) {
            CountDownLatch blocking = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            Job blocker = gpu.createEntity(Priority.LOW).job(ctx -> {
                blocking.countDown();
                kernelAwait(release, "release");
            }).push();
            Fixture.await(blocking, "the blocking job");

            // two entities per priority; pushes interleaved from lowest to highest priority
            Map<Priority, Entity[]> entities = new EnumMap<>(Priority.class);
            Priority[] pushOrder = {Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.KERNEL};
            for (Priority p : pushOrder) {
                entities.put(p, new Entity[] {gpu.createEntity(p), gpu.createEntity(p)});
            }
            ConcurrentLinkedQueue<String> started = new ConcurrentLinkedQueue<>();
            List<Job> jobs = new ArrayList<>();
            Map<Priority, List<String>> expected = new EnumMap<>(Priority.class);
            for (int i = 0; i < 6; i++) {
                for (Priority p : pushOrder) {
                    String name = p + "-" + i;
                    Entity e = entities.get(p)[i % 2];
                    jobs.add(e.job(ctx -> started.add(name)).push());
                    expected.computeIfAbsent(p, k -> new ArrayList<>()).add(name);
                }
            }
            release.countDown();
            assertSucceeds(blocker, "the blocking job");
            for (Job j : jobs) {
                assertSucceeds(j, j.toString());
            }
            List<String> want = new ArrayList<>();
            for (Priority p : Priority.values()) { // KERNEL, HIGH, NORMAL, LOW
                want.addAll(expected.get(p));
            }
            assertEquals(want, List.copyOf(started));
        }
    }

    /** A job that becomes ready later keeps its place by push: the order is by push, not by readiness. */
    @Test
    void fifoWithinAPriorityIsByPushNotByReadiness() throws Exception {
        try (GpuScheduler gpu = scheduler("fifo", 1)) {
            CountDownLatch blocking = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            Job blocker = gpu.createEntity(Priority.NORMAL).job(ctx -> {
                blocking.countDown();
                kernelAwait(release, "release");
            }).push();
            Fixture.await(blocking, "the blocking job");
            Entity a = gpu.createEntity(Priority.NORMAL);
            Entity b = gpu.createEntity(Priority.NORMAL);
            ConcurrentLinkedQueue<String> started = new ConcurrentLinkedQueue<>();
            Fence late = new Fence();
            Job first = a.job(ctx -> started.add("first")).dependency(late).push();
            Job second = b.job(ctx -> started.add("second")).push();
            late.signal(); // first becomes ready after second, but was pushed before it
            release.countDown();
            assertSucceeds(blocker, "blocker");
            assertSucceeds(first, "first");
            assertSucceeds(second, "second");
            assertEquals(List.of("first", "second"), List.copyOf(started));
        }
    }
}
