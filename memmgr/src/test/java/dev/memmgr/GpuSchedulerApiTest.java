package dev.memmgr;

import static dev.memmgr.SchedTestSupport.assertSucceeds;
import static dev.memmgr.SchedTestSupport.scheduler;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Bad input to the scheduler's API: a clear exception, and nothing changes. */
@ExtendWith(MemmgrExtension.class)
class GpuSchedulerApiTest {

    @Test
    void builderChecksItsArguments() {
        assertThrows(NullPointerException.class, () -> GpuScheduler.builder(null));
        GpuScheduler.Builder b = GpuScheduler.builder("b");
        assertThrows(IllegalArgumentException.class, () -> b.credits(0));
        assertThrows(IllegalArgumentException.class, () -> b.credits(-5));
        assertThrows(NullPointerException.class, () -> b.timeout(null));
        assertThrows(IllegalArgumentException.class, () -> b.timeout(Duration.ZERO));
        assertThrows(IllegalArgumentException.class, () -> b.timeout(Duration.ofMillis(-1)));
        try (GpuScheduler gpu = b.build()) { // the refusals changed nothing: the defaults
            assertEquals(64, gpu.credits());
            assertEquals("b", gpu.name());
        }
        try (GpuScheduler gpu = GpuScheduler.builder("one").credits(1).timeout(Duration.ofNanos(1)).build()) {
            assertEquals(1, gpu.credits());
            assertTrue(gpu.toString().contains("one"), gpu.toString());
        }
    }

    @Test
    void nullsAreRefused() {
        try (GpuScheduler gpu = scheduler("nulls", 4)) {
            assertThrows(NullPointerException.class, () -> gpu.createEntity(null));
            Entity e = gpu.createEntity(Priority.NORMAL);
            assertSame(gpu, e.scheduler());
            assertThrows(NullPointerException.class, () -> e.job(null));
            Job.Builder b = e.job(ctx -> { });
            assertThrows(NullPointerException.class, () -> b.dependency(null));
            assertThrows(NullPointerException.class, () -> b.reads(null));
            assertThrows(NullPointerException.class, () -> b.writes(null));
            assertThrows(NullPointerException.class, () -> b.vm(null));
            Job j = b.push(); // the refusals changed nothing
            assertSucceeds(j, "the job");
            assertThrows(IllegalStateException.class, b::push, "a builder pushes once");
        }
    }

    @Test
    void aFreedObjectIsRefusedAtPushAndNothingIsQueued(Fixture f) {
        Client c = f.client(f.manager(), "freed");
        BufferObject gone = c.create(Fixture.PAGE);
        gone.close();
        BufferObject alive = c.create(Fixture.PAGE);
        try (GpuScheduler gpu = scheduler("freed", 4)) {
            Entity e = gpu.createEntity(Priority.NORMAL);
            java.util.concurrent.atomic.AtomicInteger ran = new java.util.concurrent.atomic.AtomicInteger();
            assertThrows(IllegalStateException.class, () -> e.job(ctx -> ran.incrementAndGet()).writes(gone).push());
            assertThrows(IllegalStateException.class, () -> e.job(ctx -> ran.incrementAndGet()).reads(gone).push());
            assertTrue(alive.resv().isIdle(FenceUsage.BOOKKEEP));
            Job j = e.job(ctx -> ran.incrementAndGet()).writes(alive).push();
            assertSucceeds(j, "a job after the refusals");
            assertEquals(1, ran.get(), "the refused jobs never ran");
        }
    }

    @Test
    void aPushRefusedForCreditsLeavesTheBuilderUsable() {
        try (GpuScheduler gpu = scheduler("retry", 2)) {
            Job.Builder b = gpu.createEntity(Priority.NORMAL).job(ctx -> { }).credits(3);
            assertThrows(IllegalArgumentException.class, b::push);
            assertSucceeds(b.credits(2).push(), "the same builder with valid credits");
        }
    }
}
