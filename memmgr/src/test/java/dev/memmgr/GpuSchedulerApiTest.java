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
}
