package dev.memmgr;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(MemmgrExtension.class)
class SchedulerSmokeTest {
    private static final Duration W = Duration.ofSeconds(10);

    @Test
    void jobsRunInOrderWithDependenciesTimeoutsAndVms(Fixture f) throws Exception {
        MemoryManager mm = f.manager(1 << 20);
        Client c = f.client(mm, "gpu");
        GpuScheduler gpu = GpuScheduler.builder("smoke").credits(2).timeout(Duration.ofMillis(300)).build();
        try {
            Entity e = gpu.createEntity(Priority.NORMAL);
            List<Integer> order = new CopyOnWriteArrayList<>();
            Fence gate = new Fence();
            Job a = e.job(ctx -> { }).dependency(gate).push();
            Job b = e.job(ctx -> { }).push();
            a.scheduled().onSignal(() -> order.add(1));
            b.scheduled().onSignal(() -> order.add(2));
            Thread.onSpinWait();
            assertTrue(!a.scheduled().isSignaled());
            gate.signal();
            assertTrue(b.finished().await(W));
            assertEquals(List.of(1, 2), order);

            Fence bad = new Fence();
            bad.signal(new IllegalStateException("upstream"));
            Job failed = e.job(ctx -> order.add(99)).dependency(bad).push();
            assertTrue(failed.finished().await(W));
            assertInstanceOf(IllegalStateException.class, failed.finished().error().orElseThrow());

            CountDownLatch stuck = new CountDownLatch(1);
            Job hang = e.job(ctx -> stuck.await()).push();
            assertTrue(hang.finished().await(W));
            assertInstanceOf(TimeoutException.class, hang.finished().error().orElseThrow());
            Job after = e.job(ctx -> order.add(3)).push();
            assertTrue(after.finished().await(W));
            assertEquals(3, order.get(order.size() - 1));

            BufferObject bo = c.create(8192);
            GpuVm vm = c.createVm("vm", 0, 1 << 20);
            vm.map(0, 8192, bo, 0);
            bo.write(0, Fixture.filled(8192, (byte) 4));
            mm.reclaim(mm.capacity());
            assertEquals(Residency.EVICTED, bo.residency());
            byte[] seen = new byte[1];
            Job vmJob = e.job(ctx -> ctx.vm().read(4096, MemorySegment.ofArray(seen))).vm(vm).push();
            assertTrue(vmJob.finished().await(W));
            assertTrue(vmJob.finished().error().isEmpty(), () -> String.valueOf(vmJob.finished().error()));
            assertEquals(4, seen[0]);

            Fence never = new Fence();
            Job queued = e.job(ctx -> order.add(100)).dependency(never).push();
            gpu.close();
            assertInstanceOf(CancellationException.class, queued.finished().error().orElseThrow());
        } finally {
            gpu.close();
        }
    }
}
