package dev.memmgr.vulkan;

import static dev.memmgr.vulkan.VulkanFixture.DEADLINE;
import static dev.memmgr.vulkan.VulkanFixture.SHORT_WAIT;
import static dev.memmgr.vulkan.VulkanFixture.assertInts;
import static dev.memmgr.vulkan.VulkanFixture.readInts;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.lwjgl.system.MemoryStack.stackPush;
import static org.lwjgl.vulkan.VK10.VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT;
import static org.lwjgl.vulkan.VK10.VK_PIPELINE_STAGE_HOST_BIT;
import static org.lwjgl.vulkan.VK10.vkCmdWaitEvents;
import static org.lwjgl.vulkan.VK10.vkCreateEvent;
import static org.lwjgl.vulkan.VK10.vkDestroyEvent;
import static org.lwjgl.vulkan.VK10.vkSetEvent;

import dev.memmgr.Fence;
import dev.memmgr.FenceUsage;
import dev.memmgr.MemoryManager;
import dev.memmgr.Residency;
import dev.memmgr.vulkan.tools.ComputeKernel;
import java.nio.LongBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.vulkan.VkEventCreateInfo;

/**
 * The fence tie both ways: a submission's completion signals a memmgr fence in the objects it used
 * (the shrinker leaves them alone until then), and memmgr fences a submission depends on are
 * waited for before it is queued.
 */
@ExtendWith(VulkanExtension.class)
class FenceTieTest {

    /** A host-set VkEvent: a submission that waits on it stays on the GPU until the test sets it. */
    private static long createEvent(VulkanDevice d) {
        try (MemoryStack s = stackPush()) {
            LongBuffer p = s.mallocLong(1);
            assertEquals(0, vkCreateEvent(d.vkDevice(), VkEventCreateInfo.calloc(s).sType$Default(), null, p));
            return p.get(0);
        }
    }

    @Test
    void busyObjectsStayWhileTheGpuWorksAndGoOnceItIsDone(VulkanFixture f) {
        MemoryManager mm = f.manager(16L << 20);
        VulkanDevice d = f.device();
        long event = createEvent(d);
        try (ComputeTest.Job j = ComputeTest.Job.create(f, f.client(mm, "busy"), ImportMode.DYNAMIC, 5)) {
            ComputeKernel k = f.kernel();
            Submission s = d.submit(j.uses(), cmd -> {
                vkCmdWaitEvents(cmd, new long[] {event}, VK_PIPELINE_STAGE_HOST_BIT,
                        VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, null, null, null);
                k.record(cmd, j.ba(), j.bb(), j.bc(), ComputeTest.WORDS, 3);
            });
            assertFalse(s.isDone(), "held on the GPU by the event");
            assertFalse(j.c().resv().isIdle(FenceUsage.WRITE), "the output carries the submission's WRITE fence");
            assertFalse(j.a().resv().isIdle(FenceUsage.READ), "the inputs carry its READ fence");
            assertTrue(j.a().resv().isIdle(FenceUsage.WRITE), "... and no WRITE fence");
            long invalidations = d.stats().invalidations();

            assertEquals(0, mm.reclaim(mm.capacity()), "busy objects are not reclaimed");
            for (HostImport i : j.imports()) {
                assertEquals(Residency.RESIDENT, i.bufferObject().residency());
                assertTrue(i.isValid(), "no moveNotify while the GPU works");
            }
            assertEquals(invalidations, d.stats().invalidations());

            assertEquals(0, vkSetEvent(d.vkDevice(), event));
            assertTrue(s.await(DEADLINE));
            assertTrue(s.fence().isSignaled());
            assertTrue(j.c().resv().isIdle(FenceUsage.BOOKKEEP), "the completion signaled the fence");
            assertInts(ComputeKernel.reference(j.inA(), j.inB(), 3), readInts(j.c(), ComputeTest.WORDS), "result");

            assertEquals(3 * ComputeTest.SIZE, mm.reclaim(mm.capacity()), "idle now: all three go");
            assertEquals(invalidations + 3, d.stats().invalidations(), "each told, memory dropped");
            for (HostImport i : j.imports()) {
                assertEquals(Residency.EVICTED, i.bufferObject().residency());
                assertFalse(i.isValid());
            }
            j.runAndCheck(f, 4); // and back
        } finally {
            vkDestroyEvent(d.vkDevice(), event, null);
        }
    }

    @Test
    void aSubmissionWaitsForTheMemmgrFencesItDependsOn(VulkanFixture f) throws Exception {
        MemoryManager mm = f.manager(16L << 20);
        VulkanDevice d = f.device();
        try (ComputeTest.Job j = ComputeTest.Job.create(f, f.client(mm, "deps"), ImportMode.DYNAMIC, 6)) {
            ComputeKernel k = f.kernel();
            // explicit: a fence given to submit
            Fence upload = new Fence();
            AtomicBoolean recorded = new AtomicBoolean();
            long queued = d.stats().submissions();
            CommandRecorder rec = cmd -> {
                recorded.set(true);
                k.record(cmd, j.ba(), j.bb(), j.bc(), ComputeTest.WORDS, 21);
            };
            CompletableFuture<Submission> sub =
                    CompletableFuture.supplyAsync(() -> d.submit(j.uses(), List.of(upload), rec));
            assertBlocked(sub);
            assertFalse(recorded.get(), "nothing recorded before the fence signals");
            assertEquals(queued, d.stats().submissions(), "nothing queued before the fence signals");
            upload.signal();
            assertTrue(sub.get(DEADLINE.toMillis(), TimeUnit.MILLISECONDS).await(DEADLINE));
            assertInts(ComputeKernel.reference(j.inA(), j.inB(), 21), readInts(j.c(), ComputeTest.WORDS),
                    "after the wait");

            // implicit: another engine's WRITE fence on an input (the submission reads it)
            Fence writer = new Fence();
            j.b().resv().addFence(writer, FenceUsage.WRITE);
            // a READ fence on an input does not hold a reader back
            Fence reader = new Fence();
            j.a().resv().addFence(reader, FenceUsage.READ);
            queued = d.stats().submissions();
            CompletableFuture<Submission> sub2 = CompletableFuture.supplyAsync(() -> j.submit(f, 22));
            assertBlocked(sub2);
            assertEquals(queued, d.stats().submissions());
            writer.signal();
            assertTrue(sub2.get(DEADLINE.toMillis(), TimeUnit.MILLISECONDS).await(DEADLINE));
            assertInts(ComputeKernel.reference(j.inA(), j.inB(), 22), readInts(j.c(), ComputeTest.WORDS), "implicit");

            // ... but it holds back a writer of that object
            CompletableFuture<Submission> sub3 = CompletableFuture.supplyAsync(
                    () -> d.submit(List.of(Use.write(j.ia())), cmd -> { }));
            assertBlocked(sub3);
            reader.signal();
            assertTrue(sub3.get(DEADLINE.toMillis(), TimeUnit.MILLISECONDS).await(DEADLINE));
        }
    }

    private static void assertBlocked(CompletableFuture<?> f) throws InterruptedException, ExecutionException {
        try {
            f.get(SHORT_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            fail("expected the submission to wait for its fence");
        } catch (TimeoutException expected) {
            // still waiting
        }
    }

    @Test
    void aFailedDependencySkipsTheSubmission(VulkanFixture f) {
        MemoryManager mm = f.manager(16L << 20);
        VulkanDevice d = f.device();
        try (ComputeTest.Job j = ComputeTest.Job.create(f, f.client(mm, "failed"), ImportMode.DYNAMIC, 7)) {
            Fence failed = new Fence();
            IllegalStateException cause = new IllegalStateException("upload failed");
            failed.signal(cause);
            long queued = d.stats().submissions();
            Submission s = d.submit(j.uses(), List.of(failed), cmd -> fail("must not record"));
            assertTrue(s.isDone());
            assertSame(cause, s.fence().error().orElseThrow());
            VulkanException e = assertThrows(VulkanException.class, () -> s.await(DEADLINE));
            assertSame(cause, e.getCause());
            assertEquals(queued, d.stats().submissions(), "not queued");
            assertTrue(j.c().resv().isIdle(FenceUsage.BOOKKEEP), "no fence added");
        }
    }

    @Test
    void aRecorderThatThrowsQueuesNothingAndLeavesTheObjectsIdle(VulkanFixture f) {
        MemoryManager mm = f.manager(16L << 20);
        VulkanDevice d = f.device();
        try (ComputeTest.Job j = ComputeTest.Job.create(f, f.client(mm, "throws"), ImportMode.DYNAMIC, 8)) {
            long queued = d.stats().submissions();
            IllegalStateException boom = new IllegalStateException("boom");
            assertSame(boom, assertThrows(IllegalStateException.class, () -> d.submit(j.uses(), cmd -> {
                throw boom;
            })));
            assertEquals(queued, d.stats().submissions());
            assertTrue(j.c().resv().isIdle(FenceUsage.BOOKKEEP));
            assertFalse(j.c().resv().isHeldByCurrentThread(), "the reservations were unlocked");
            j.runAndCheck(f, 9); // and the device still works
            assertInstanceOf(Submission.class, j.submit(f, 10));
        }
    }
}
