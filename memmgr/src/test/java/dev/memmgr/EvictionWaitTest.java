package dev.memmgr;

import static dev.memmgr.Fixture.PAGE;
import static dev.memmgr.SchedTestSupport.assertSucceeds;
import static dev.memmgr.SchedTestSupport.kernelAwait;
import static dev.memmgr.SchedTestSupport.scheduler;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code MemoryManager.Builder.evictionWait}: an allocation that finds only busy objects in its way
 * waits, up to the configured time, for one of them to go idle (as TTM's eviction waits for the
 * GPU), then succeeds; past the wait, or at once with the default of zero, it fails with a
 * GpuOutOfMemoryException whose message says what was pinned, busy, locked, or blocked by a full
 * swap; nothing is allocated by a failed attempt.
 */
@ExtendWith(MemmgrExtension.class)
class EvictionWaitTest {

    @Test
    void theBuilderTakesZeroOrPositiveOnly() {
        MemoryManager.Builder b = MemoryManager.builder();
        assertThrows(IllegalArgumentException.class, () -> b.evictionWait(Duration.ofNanos(-1)));
        assertThrows(NullPointerException.class, () -> b.evictionWait(null));
        assertEquals(b, b.evictionWait(Duration.ZERO));
        assertEquals(b, b.evictionWait(Duration.ofSeconds(1)));
    }

    /** The object in the way is busy with a running job; the allocation waits for the job, then evicts it. */
    @Test
    void anAllocationWaitsForAJobToFinishThenSucceeds(Fixture f) throws Exception {
        MemoryManager mm = f.build(f.builder(8 * PAGE, 16 * PAGE).evictionWait(Fixture.DEADLINE));
        Client c = f.client(mm, "wait");
        BufferObject busy = c.create(8 * PAGE);
        byte[] content = Fixture.writePattern(busy, 3);
        try (GpuScheduler gpu = scheduler("wait", 1)) {
            CountDownLatch running = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            Job j = gpu.createEntity(Priority.NORMAL).job(ctx -> {
                running.countDown();
                kernelAwait(release, "release");
            }).writes(busy).push();
            Fixture.await(running, "the kernel");
            BufferObject fresh = c.create(4 * PAGE);
            CompletableFuture<Void> alloc = Fixture.startInOtherThread(() -> Fixture.fill(fresh, (byte) 9));
            Fixture.assertStillBlocked(alloc, "an allocation while the only object is busy");
            release.countDown();
            assertSucceeds(j, "the job");
            Fixture.await(alloc);
            assertEquals(Residency.EVICTED, busy.residency(), "the object that went idle was evicted");
            Fixture.assertAllBytes((byte) 9, Fixture.contentOf(fresh), "the new object");
            fresh.close();
            Fixture.assertContent(content, busy, "the evicted object");
        }
    }

    /**
     * Two busy objects, one that never goes idle: the allocation must take whichever goes idle,
     * whatever their order in the LRU (both orders are tried).
     */
    @Test
    void anAllocationTakesWhicheverBusyObjectGoesIdle(Fixture f) {
        Duration wait = Duration.ofMinutes(1); // longer than the test waits: waiting for the wrong one fails
        for (boolean idleOneFirst : new boolean[] {true, false}) {
            MemoryManager mm = f.build(f.builder(8 * PAGE, 16 * PAGE).evictionWait(wait));
            Client c = f.client(mm, "any-" + idleOneFirst);
            BufferObject first = c.create(4 * PAGE);
            Fixture.fill(first, (byte) 1);
            BufferObject second = c.create(4 * PAGE);
            Fixture.fill(second, (byte) 2);
            BufferObject goesIdle = idleOneFirst ? first : second;
            BufferObject staysBusy = idleOneFirst ? second : first;
            Fence forever = new Fence();
            Fence soon = new Fence();
            staysBusy.resv().addFence(forever, FenceUsage.WRITE);
            goesIdle.resv().addFence(soon, FenceUsage.WRITE);
            BufferObject fresh = c.create(4 * PAGE);
            CompletableFuture<Void> alloc = Fixture.startInOtherThread(() -> Fixture.fill(fresh, (byte) 9));
            Fixture.assertStillBlocked(alloc, "an allocation while both objects are busy");
            soon.signal();
            Fixture.await(alloc);
            assertEquals(Residency.EVICTED, goesIdle.residency(), "idle first " + idleOneFirst);
            assertEquals(Residency.RESIDENT, staysBusy.residency(), "idle first " + idleOneFirst);
            forever.signal();
            mm.close();
        }
    }

    @Test
    void pastTheWaitItFailsAndSaysWhy(Fixture f) {
        MemoryManager mm = f.build(f.builder(8 * PAGE, 16 * PAGE).evictionWait(Duration.ofMillis(100)));
        Client c = f.client(mm, "timeout");
        BufferObject busy = c.create(8 * PAGE);
        Fixture.fill(busy, (byte) 1);
        Fence never = new Fence();
        busy.resv().addFence(never, FenceUsage.READ);
        BufferObject fresh = c.create(PAGE);
        int freeBefore = Fixture.freeFrames(mm);
        GpuOutOfMemoryException e = assertThrows(GpuOutOfMemoryException.class,
                () -> Fixture.inOtherThread(() -> Fixture.fill(fresh, (byte) 2)));
        assertTrue(e.getMessage().contains("32.0 KiB busy (unsignaled fences)"), e.getMessage());
        assertTrue(e.getMessage().contains("(waited up to 100 ms for busy objects)"), e.getMessage());
        assertEquals(freeBefore, Fixture.freeFrames(mm), "nothing allocated");
        assertEquals(Residency.UNPOPULATED, fresh.residency());
        never.signal();
        Fixture.fill(fresh, (byte) 2); // the object went idle: now it works
    }

    /** Nothing busy in the way (only a pinned object): it fails at once, and does not claim to have waited. */
    @Test
    void withNothingBusyItDoesNotWait(Fixture f) {
        MemoryManager mm = f.build(f.builder(8 * PAGE, 16 * PAGE).evictionWait(Duration.ofMinutes(1)));
        Client c = f.client(mm, "pinned-only");
        BufferObject pinned = c.create(8 * PAGE);
        pinned.pin();
        BufferObject fresh = c.create(PAGE);
        GpuOutOfMemoryException e = assertThrows(GpuOutOfMemoryException.class,
                () -> Fixture.inOtherThread(() -> Fixture.fill(fresh, (byte) 2))); // bounded: no minute-long wait
        assertTrue(e.getMessage().contains("32.0 KiB pinned"), e.getMessage());
        assertFalse(e.getMessage().contains("waited"), e.getMessage());
        pinned.unpin();
    }

    @Test
    void theDefaultIsNotToWait(Fixture f) {
        MemoryManager mm = f.manager(8 * PAGE);
        Client c = f.client(mm, "no-wait");
        BufferObject busy = c.create(8 * PAGE);
        Fixture.fill(busy, (byte) 1);
        Fence never = new Fence();
        busy.resv().addFence(never, FenceUsage.KERNEL);
        BufferObject fresh = c.create(PAGE);
        GpuOutOfMemoryException e = assertThrows(GpuOutOfMemoryException.class, () -> Fixture.fill(fresh, (byte) 2));
        assertTrue(e.getMessage().contains("32.0 KiB busy (unsignaled fences)"), e.getMessage());
        assertFalse(e.getMessage().contains("waited"), e.getMessage());
        never.signal();
    }

    /**
     * Pinned, busy and locked objects with swap to spare: the message gives each figure. The locked
     * object's reservation is held by this thread, the allocation runs in another.
     */
    @Test
    void theMessageNamesPinnedBusyAndLockedFigures(Fixture f) {
        MemoryManager mm = f.build(f.builder(16 * PAGE, 64 * PAGE).evictionWait(Duration.ofMillis(50)));
        Client c = f.client(mm, "figures");
        BufferObject pinned = c.create(2 * PAGE);
        pinned.pin();
        BufferObject busy = c.create(3 * PAGE);
        Fixture.fill(busy, (byte) 1);
        Fence never = new Fence();
        busy.resv().addFence(never, FenceUsage.WRITE);
        BufferObject locked = c.create(5 * PAGE);
        Fixture.fill(locked, (byte) 2);
        BufferObject fresh = c.create(8 * PAGE);
        locked.resv().lock();
        try {
            GpuOutOfMemoryException e = assertThrows(GpuOutOfMemoryException.class,
                    () -> Fixture.inOtherThread(() -> Fixture.fill(fresh, (byte) 3)));
            String m = e.getMessage();
            assertTrue(m.startsWith("cannot allocate 8 pages (32.0 KiB): 24.0 KiB free"), m);
            assertTrue(m.contains("8.0 KiB pinned"), m);
            assertTrue(m.contains("12.0 KiB busy (unsignaled fences)"), m);
            assertTrue(m.contains("20.0 KiB locked by other threads"), m);
            assertFalse(m.contains("swap"), m);
        } finally {
            locked.resv().unlock();
            never.signal();
            pinned.unpin();
        }
    }

    /** With the swap full, the objects that could be evicted are named as such. */
    @Test
    void theMessageNamesAFullSwap(Fixture f) {
        MemoryManager mm = f.build(f.builder(16 * PAGE, 4 * PAGE));
        Client c = f.client(mm, "swap-full");
        BufferObject swapped = c.create(4 * PAGE);
        Fixture.fill(swapped, (byte) 1);
        mm.reclaim(mm.capacity());
        assertEquals(Residency.EVICTED, swapped.residency());
        assertEquals(mm.stats().swapCapacity(), mm.stats().swapUsed(), "the swap is full");
        BufferObject evictable = c.create(12 * PAGE);
        Fixture.fill(evictable, (byte) 2);
        BufferObject fresh = c.create(8 * PAGE);
        GpuOutOfMemoryException e = assertThrows(GpuOutOfMemoryException.class, () -> Fixture.fill(fresh, (byte) 3));
        assertTrue(e.getMessage().contains("48.0 KiB evictable but the swap is full"), e.getMessage());
    }
}
