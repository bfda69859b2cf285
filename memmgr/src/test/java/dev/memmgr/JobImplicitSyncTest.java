package dev.memmgr;

import static dev.memmgr.SchedTestSupport.assertFails;
import static dev.memmgr.SchedTestSupport.assertStaysUnsignaled;
import static dev.memmgr.SchedTestSupport.assertSucceeds;
import static dev.memmgr.SchedTestSupport.awaitFinished;
import static dev.memmgr.SchedTestSupport.kernelAwait;
import static dev.memmgr.SchedTestSupport.scheduler;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Implicit sync through reservations (DESIGN 4.5): a job that writes an object waits for every
 * fence of it up to READ usage, one that reads it for WRITE and KERNEL fences only; the job's
 * finished fence is on the object's reservation from push on (READ or WRITE usage), so the
 * shrinker skips the object until it signals; an error travels to the jobs that wait; concurrent
 * pushes that share objects, in any order and into one entity, never wait for each other in a
 * cycle.
 */
@ExtendWith(MemmgrExtension.class)
class JobImplicitSyncTest {

    @Test
    void readersShareWritersWaitForEveryoneReadersWaitForWriters(Fixture f) throws Exception {
        BufferObject bo = f.client(f.manager(), "sync").create(Fixture.PAGE);
        try (GpuScheduler gpu = scheduler("rw", 8)) {
            CountDownLatch releaseR1 = new CountDownLatch(1);
            Job r1 = gpu.createEntity(Priority.NORMAL).job(ctx -> kernelAwait(releaseR1, "releaseR1")).reads(bo).push();
            assertTrue(r1.scheduled().await(Fixture.DEADLINE));
            Job r2 = gpu.createEntity(Priority.NORMAL).job(ctx -> { }).reads(bo).push();
            assertSucceeds(r2, "a second reader runs while the first one runs");
            AtomicBoolean r1DoneWhenWRan = new AtomicBoolean();
            Job w = gpu.createEntity(Priority.NORMAL).job(ctx -> r1DoneWhenWRan.set(r1.finished().isSignaled()))
                    .writes(bo).push();
            AtomicBoolean wDoneWhenR3Ran = new AtomicBoolean();
            Job r3 = gpu.createEntity(Priority.NORMAL).job(ctx -> wDoneWhenR3Ran.set(w.finished().isSignaled()))
                    .reads(bo).push();
            assertStaysUnsignaled(w.scheduled(), "a writer while a reader runs");
            assertFalse(r3.scheduled().isSignaled(), "a reader behind a waiting writer");
            releaseR1.countDown();
            assertSucceeds(w, "the writer");
            assertSucceeds(r3, "the reader after the writer");
            assertTrue(r1DoneWhenWRan.get(), "the writer ran after the reader finished");
            assertTrue(wDoneWhenR3Ran.get(), "the reader ran after the writer finished");
        }
    }

    /** Fences attached by hand: which usages make a reader and a writer wait. */
    @Test
    void usagesThatEachKindOfJobWaitsFor(Fixture f) {
        Client c = f.client(f.manager(), "usages");
        try (GpuScheduler gpu = scheduler("usages", 4)) {
            Entity e = gpu.createEntity(Priority.NORMAL);
            for (FenceUsage u : FenceUsage.values()) {
                for (boolean write : new boolean[] {false, true}) {
                    BufferObject bo = c.create(Fixture.PAGE);
                    Fence external = new Fence();
                    bo.resv().addFence(external, u);
                    Job.Builder b = e.job(ctx -> { });
                    Job j = (write ? b.writes(bo) : b.reads(bo)).push();
                    boolean waits = write ? u != FenceUsage.BOOKKEEP : u == FenceUsage.KERNEL || u == FenceUsage.WRITE;
                    String what = (write ? "a writer" : "a reader") + " and a " + u + " fence";
                    if (waits) {
                        assertStaysUnsignaled(j.scheduled(), what + ": waits");
                        external.signal();
                    }
                    assertSucceeds(j, what);
                    external.signal();
                }
            }
        }
    }

    @Test
    void theFinishedFenceIsOnTheReservationFromPushWithItsUsage(Fixture f) throws Exception {
        Client c = f.client(f.manager(), "usage-at-push");
        BufferObject read = c.create(Fixture.PAGE);
        BufferObject written = c.create(Fixture.PAGE);
        BufferObject both = c.create(Fixture.PAGE);
        try (GpuScheduler gpu = scheduler("at-push", 4)) {
            Fence gate = new Fence();
            Job j = gpu.createEntity(Priority.NORMAL).job(ctx -> { }).dependency(gate)
                    .reads(read).writes(written).reads(both).writes(both).push();
            assertFalse(read.resv().isIdle(FenceUsage.READ), "a read object carries the fence at READ");
            assertTrue(read.resv().isIdle(FenceUsage.WRITE), "... and not at WRITE");
            assertFalse(written.resv().isIdle(FenceUsage.WRITE), "a written object carries the fence at WRITE");
            assertTrue(written.resv().isIdle(FenceUsage.KERNEL), "... and not at KERNEL");
            assertFalse(both.resv().isIdle(FenceUsage.WRITE), "read and written: WRITE wins");
            gate.signal();
            assertSucceeds(j, "the job");
            for (BufferObject bo : List.of(read, written, both)) {
                assertTrue(bo.resv().isIdle(FenceUsage.BOOKKEEP), "idle once the job finished");
            }
        }
    }

    /** The shrinker skips a job's objects from push until the job's finished fence signals. */
    @Test
    void objectsOfAJobAreNotReclaimedUntilItFinishes(Fixture f) throws Exception {
        MemoryManager mm = f.manager();
        Client c = f.client(mm, "busy");
        BufferObject read = c.create(4 * Fixture.PAGE);
        BufferObject written = c.create(4 * Fixture.PAGE);
        byte[] content = Fixture.writePattern(read, 7);
        Fixture.fill(written, (byte) 3);
        try (GpuScheduler gpu = scheduler("busy", 4)) {
            Fence gate = new Fence();
            CountDownLatch running = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            Job j = gpu.createEntity(Priority.NORMAL).job(ctx -> {
                running.countDown();
                kernelAwait(release, "release");
            }).dependency(gate).reads(read).writes(written).push();
            mm.reclaim(mm.capacity());
            assertEquals(Residency.RESIDENT, read.residency(), "queued job: its read object is busy");
            assertEquals(Residency.RESIDENT, written.residency(), "queued job: its written object is busy");
            gate.signal();
            Fixture.await(running, "the kernel");
            mm.reclaim(mm.capacity());
            assertEquals(Residency.RESIDENT, read.residency(), "running job: busy");
            assertEquals(Residency.RESIDENT, written.residency(), "running job: busy");
            release.countDown();
            assertSucceeds(j, "the job");
            mm.reclaim(mm.capacity());
            assertEquals(Residency.EVICTED, read.residency(), "idle once finished");
            assertEquals(Residency.EVICTED, written.residency(), "idle once finished");
            Fixture.assertContent(content, read, "the read object after eviction");
        }
    }

    /** A writer that fails fails the reader that waits for it, without running it. */
    @Test
    void anErrorTravelsThroughImplicitSync(Fixture f) {
        BufferObject bo = f.client(f.manager(), "errors").create(Fixture.PAGE);
        try (GpuScheduler gpu = scheduler("errors", 4)) {
            IllegalStateException boom = new IllegalStateException("the writer failed");
            Fence gate = new Fence();
            Job w = gpu.createEntity(Priority.NORMAL).job(ctx -> {
                throw boom;
            }).dependency(gate).writes(bo).push();
            AtomicBoolean readerRan = new AtomicBoolean();
            Job r = gpu.createEntity(Priority.NORMAL).job(ctx -> readerRan.set(true)).reads(bo).push();
            gate.signal();
            assertSame(boom, assertFails(IllegalStateException.class, w, "the writer"));
            assertSame(boom, assertFails(IllegalStateException.class, r, "the reader"));
            assertFalse(readerRan.get(), "a job whose dependency failed does not run");
        }
    }

    /**
     * Two threads push, at the same moment, jobs that write the same 1024 objects in opposite
     * orders: whichever attaches its fence first, the other must wait for it on every shared
     * object, never each for the other (which would hang both jobs forever). 200 rounds.
     */
    @Test
    void jobsSharingObjectsInOppositeOrdersNeverWaitForEachOther(Fixture f) {
        Client c = f.client(f.manager(), "cycles");
        List<BufferObject> objs = new ArrayList<>();
        for (int i = 0; i < 1024; i++) {
            objs.add(c.create(Fixture.PAGE));
        }
        List<BufferObject> reversed = objs.reversed();
        final int rounds = 200;
        try (GpuScheduler gpu = scheduler("cycles", 4)) {
            AtomicInteger arrived = new AtomicInteger();
            Workers w = f.workers();
            for (List<BufferObject> order : List.of(objs, reversed)) {
                Entity e = gpu.createEntity(Priority.NORMAL);
                w.add("pusher", () -> {
                    for (int r = 0; r < rounds; r++) {
                        spinUntil(arrived, 2 * (r + 1)); // both threads start each push within a moment
                        Job.Builder b = e.job(ctx -> { });
                        order.forEach(b::writes);
                        awaitFinished(b.push(), "round " + r);
                    }
                });
            }
            w.start().join();
        }
    }

    /** Counts this thread in and spins (bounded) until {@code n} have arrived. */
    private static void spinUntil(AtomicInteger arrived, int n) {
        arrived.incrementAndGet();
        long deadline = System.nanoTime() + Fixture.DEADLINE.toNanos();
        while (arrived.get() < n) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the other thread never arrived");
            }
            Thread.onSpinWait();
        }
    }

    /**
     * Two threads push writers of one object into one entity at once: the entity's order (FIFO)
     * and the order of the fences on the object (implicit sync) must agree, or a job would wait
     * for one queued behind it.
     */
    @Test
    void concurrentPushesIntoOneEntityAgreeWithImplicitSync(Fixture f) {
        BufferObject bo = f.client(f.manager(), "one-entity").create(Fixture.PAGE);
        final int perThread = 2000;
        try (GpuScheduler gpu = scheduler("one-entity", 4)) {
            Entity e = gpu.createEntity(Priority.NORMAL);
            ConcurrentLinkedQueue<Job> jobs = new ConcurrentLinkedQueue<>();
            Workers w = f.workers();
            for (int t = 0; t < 2; t++) {
                w.add("pusher-" + t, () -> {
                    for (int i = 0; i < perThread; i++) {
                        jobs.add(e.job(ctx -> { }).writes(bo).push());
                    }
                });
            }
            w.start().join();
            assertEquals(2 * perThread, jobs.size());
            for (Job j : jobs) {
                assertSucceeds(j, "a writer");
            }
        }
    }
}
