package dev.memmgr;

import static dev.memmgr.ApiTestSupport.LONG_WAIT;
import static dev.memmgr.ApiTestSupport.assertStillBlocked;
import static dev.memmgr.ApiTestSupport.await;
import static dev.memmgr.ApiTestSupport.contentOf;
import static dev.memmgr.ApiTestSupport.fill;
import static dev.memmgr.ApiTestSupport.fillPattern;
import static dev.memmgr.ApiTestSupport.inOtherThread;
import static dev.memmgr.ApiTestSupport.newManager;
import static dev.memmgr.ApiTestSupport.pages;
import static dev.memmgr.ApiTestSupport.startInOtherThread;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Contract of {@link Reservation}: the object's non-reentrant lock and its fences. */
class ReservationTest {
    private MemoryManager mm;
    private Client client;
    private BufferObject bo;
    private Reservation resv;

    @BeforeEach
    void setUp() {
        mm = newManager();
        client = mm.openClient("resv");
        bo = client.create(pages(4));
        resv = bo.resv();
    }

    @AfterEach
    void tearDown() {
        if (resv.isHeldByCurrentThread()) {
            resv.unlock();
        }
        mm.close();
    }

    // ---- lock ------------------------------------------------------------------------------

    @Test
    void lockAndUnlock() {
        assertFalse(resv.isHeldByCurrentThread());
        resv.lock();
        assertTrue(resv.isHeldByCurrentThread());
        resv.unlock();
        assertFalse(resv.isHeldByCurrentThread());
    }

    @Test
    void resvReturnsViewsOfTheSameLock() {
        Reservation again = bo.resv();
        assertEquals(resv, again);
        assertEquals(resv.hashCode(), again.hashCode());
        resv.lock();
        assertTrue(again.isHeldByCurrentThread());
        assertFalse(again.tryLock());
        again.unlock();
        assertFalse(resv.isHeldByCurrentThread());
    }

    @Test
    void reservationsOfDifferentObjectsAreDifferentLocks() {
        BufferObject other = client.create(pages(1));
        assertNotEquals(resv, other.resv());
        resv.lock();
        assertFalse(other.resv().isHeldByCurrentThread());
        assertTrue(other.resv().tryLock());
        other.resv().unlock();
    }

    @Test
    void tryLockTakesAFreeLockAndFailsWhenHeldEvenByTheCaller() {
        assertTrue(resv.tryLock());
        assertTrue(resv.isHeldByCurrentThread());
        assertFalse(resv.tryLock(), "not reentrant: tryLock by the holder fails");
        assertTrue(resv.isHeldByCurrentThread(), "a failed tryLock changes nothing");
        resv.unlock();
        assertFalse(resv.isHeldByCurrentThread());
    }

    @Test
    void lockTwiceThrowsIllegalStateExceptionAndKeepsTheLock() {
        resv.lock();
        assertThrows(IllegalStateException.class, resv::lock);
        assertTrue(resv.isHeldByCurrentThread());
        resv.unlock(); // one unlock releases it: the failed lock did not count
        assertFalse(resv.isHeldByCurrentThread());
        assertTrue(inOtherThread(() -> {
            boolean got = bo.resv().tryLock();
            if (got) {
                bo.resv().unlock();
            }
            return got;
        }), "released after a single unlock");
    }

    @Test
    void unlockWithoutHoldingThrowsIllegalStateException() {
        assertThrows(IllegalStateException.class, resv::unlock);
        assertFalse(resv.isHeldByCurrentThread());
    }

    @Test
    void unlockByANonOwnerThrowsAndLeavesTheLockHeld() {
        resv.lock();
        RuntimeException e = inOtherThread(() -> {
            try {
                bo.resv().unlock();
                return null;
            } catch (RuntimeException x) {
                return x;
            }
        });
        assertTrue(e instanceof IllegalStateException, "expected IllegalStateException, got " + e);
        assertTrue(resv.isHeldByCurrentThread());
        assertFalse(inOtherThread(() -> bo.resv().tryLock()), "still held by this thread");
    }

    @Test
    void tryLockFromAnotherThreadFailsWhileHeldAndSucceedsAfterUnlock() {
        resv.lock();
        assertFalse(inOtherThread(() -> bo.resv().isHeldByCurrentThread()));
        assertFalse(inOtherThread(() -> bo.resv().tryLock()));
        resv.unlock();
        assertTrue(inOtherThread(() -> {
            boolean got = bo.resv().tryLock();
            if (got) {
                bo.resv().unlock();
            }
            return got;
        }));
    }

    @Test
    void lockBlocksWhileAnotherThreadHoldsIt() {
        resv.lock();
        CompletableFuture<Boolean> waiter = startInOtherThread(() -> {
            bo.resv().lock();
            boolean held = bo.resv().isHeldByCurrentThread();
            bo.resv().unlock();
            return held;
        });
        assertStillBlocked(waiter, "lock() while held elsewhere");
        resv.unlock();
        assertTrue(await(waiter));
    }

    /** DESIGN amendment: locks hand over to waiters in arrival order. */
    @Test
    void unlockHandsTheLockToTheWaiterAndTheUnlockerCannotRetakeIt() throws Exception {
        resv.lock();
        CountDownLatch queued = new CountDownLatch(1);
        java.util.concurrent.atomic.AtomicReference<Thread> waiterThread = new java.util.concurrent.atomic.AtomicReference<>();
        CountDownLatch release = new CountDownLatch(1);
        CompletableFuture<Boolean> waiter = startInOtherThread(() -> {
            waiterThread.set(Thread.currentThread());
            queued.countDown();
            bo.resv().lock();
            try {
                return release.await(LONG_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            } finally {
                bo.resv().unlock();
            }
        });
        assertTrue(queued.await(LONG_WAIT.toMillis(), TimeUnit.MILLISECONDS));
        ApiTestSupport.awaitCondition(() -> waiterThread.get().getState() == Thread.State.WAITING, "the waiter queued");
        resv.unlock();
        assertFalse(resv.tryLock(), "handed to the waiter: not free for the unlocker, even before the waiter runs");
        assertFalse(inOtherThread(() -> bo.resv().tryLock()), "nor for a newcomer");
        release.countDown();
        assertTrue(await(waiter));
        assertTrue(resv.tryLock(), "free once the waiter unlocked");
        resv.unlock();
    }

    @Test
    void waitersAreServedInArrivalOrder() throws Exception {
        resv.lock();
        List<Integer> order = java.util.Collections.synchronizedList(new ArrayList<>());
        List<CompletableFuture<Void>> waiters = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            int id = i;
            java.util.concurrent.atomic.AtomicReference<Thread> thread = new java.util.concurrent.atomic.AtomicReference<>();
            waiters.add(startInOtherThread(() -> {
                thread.set(Thread.currentThread());
                bo.resv().lock();
                order.add(id);
                bo.resv().unlock();
                return null;
            }));
            ApiTestSupport.awaitCondition(() -> thread.get() != null && thread.get().getState() == Thread.State.WAITING,
                    "waiter " + i + " queued");
        }
        resv.unlock();
        for (CompletableFuture<Void> w : waiters) {
            await(w);
        }
        assertEquals(List.of(0, 1, 2, 3), order);
    }

    @Test
    void lockIsNotInterruptibleButKeepsTheInterrupt() {
        resv.lock();
        CompletableFuture<Boolean> waiter = startInOtherThread(() -> {
            Thread.currentThread().interrupt();
            bo.resv().lock();
            boolean interrupted = Thread.currentThread().isInterrupted();
            bo.resv().unlock();
            return interrupted;
        });
        assertStillBlocked(waiter, "lock() of an interrupted thread while held elsewhere");
        resv.unlock();
        assertTrue(await(waiter), "interrupt status set again once the lock is taken");
    }

    @Test
    void operationsOfAnotherThreadWaitForTheHolder() {
        resv.lock();
        CompletableFuture<Void> writer = startInOtherThread(() -> fill(bo, (byte) 9));
        assertStillBlocked(writer, "write while the reservation is held elsewhere");
        assertEquals(Residency.UNPOPULATED, bo.residency());
        resv.unlock();
        await(writer);
        ApiTestSupport.assertAllBytes((byte) 9, contentOf(bo));
    }

    @Test
    void operationsCalledWhileHoldingTheReservationDoNotSelfDeadlock() {
        resv.lock();
        byte[] p = fillPattern(bo, 3);
        bo.getPages();
        bo.pin();
        try (Vmap v = bo.vmap()) {
            assertEquals(bo.size(), v.segment().byteSize());
            assertEquals(2, bo.pinCount());
        }
        bo.unpin();
        bo.putPages();
        assertTrue(bo.madvise(Madvise.DONTNEED));
        assertTrue(bo.madvise(Madvise.WILLNEED));
        assertArrayEquals(p, contentOf(bo));
        bo.retain().release();
        assertEquals(Residency.RESIDENT, bo.residency());
        assertTrue(resv.isHeldByCurrentThread(), "operations must not drop the caller's lock");
        resv.unlock();
        assertEquals(0, bo.pinCount());
        assertEquals(0, bo.pagesUseCount());
    }

    @Test
    void holdingTheReservationKeepsTheObjectFromBeingReclaimed() {
        fill(bo, (byte) 1);
        bo.madvise(Madvise.DONTNEED);
        BufferObject idle = client.create(pages(2));
        fill(idle, (byte) 2);
        Reservation idleResv = idle.resv();
        resv.lock();
        idleResv.lock();
        assertEquals(0, mm.reclaim(Long.MAX_VALUE), "the shrinker only try-locks: locked objects are skipped");
        assertEquals(Residency.RESIDENT, bo.residency());
        assertEquals(Residency.RESIDENT, idle.residency());
        idleResv.unlock();
        resv.unlock();
        assertEquals(pages(4 + 2), mm.reclaim(Long.MAX_VALUE));
        assertEquals(Residency.PURGED, bo.residency());
        assertEquals(Residency.EVICTED, idle.residency());
    }

    @Test
    void reclaimSkipsObjectsLockedByAnotherThreadWithoutBlocking() throws Exception {
        fill(bo, (byte) 1);
        CountDownLatch locked = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        CompletableFuture<Void> holder = startInOtherThread(() -> {
            bo.resv().lock();
            try {
                locked.countDown();
                release.await();
            } finally {
                bo.resv().unlock();
            }
            return null;
        });
        assertTrue(locked.await(LONG_WAIT.toMillis(), TimeUnit.MILLISECONDS));
        assertEquals(0, mm.reclaim(Long.MAX_VALUE), "a locked object is skipped, not waited for");
        assertEquals(Residency.RESIDENT, bo.residency());
        release.countDown();
        await(holder);
        assertEquals(bo.size(), mm.reclaim(Long.MAX_VALUE));
    }

    @Test
    void freeingTakesNoReservationLock() throws Exception {
        fill(bo, (byte) 1);
        CountDownLatch locked = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        CompletableFuture<Void> holder = startInOtherThread(() -> {
            Reservation r = bo.resv();
            r.lock();
            try {
                locked.countDown();
                release.await();
            } finally {
                r.unlock();
            }
            return null;
        });
        assertTrue(locked.await(LONG_WAIT.toMillis(), TimeUnit.MILLISECONDS));
        try {
            inOtherThread(bo::close); // the last reference: must not wait for the holder
            assertEquals(0, bo.refCount());
            assertEquals(mm.capacity(), mm.stats().free());
        } finally {
            release.countDown();
        }
        await(holder);
    }

    @Test
    void reservationStillUnlocksAfterTheObjectIsFreed() {
        resv.lock();
        bo.close(); // the last reference: freed while locked (freeing takes no lock)
        assertEquals(0, bo.refCount());
        assertEquals(resv, bo.resv(), "resv() keeps answering after free (so that the holder can unlock)");
        assertTrue(resv.isHeldByCurrentThread());
        resv.unlock();
        assertFalse(resv.isHeldByCurrentThread());
    }

    // ---- fences ----------------------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(FenceUsage.class)
    void noFencesMeansIdleAtEveryUsage(FenceUsage usage) {
        assertTrue(resv.isIdle(usage));
        assertTrue(resv.awaitIdle(usage, Duration.ZERO));
    }

    @ParameterizedTest
    @EnumSource(FenceUsage.class)
    void aFenceCoversItsUsageAndWeakerQueriesOnly(FenceUsage fenceUsage) {
        Fence f = new Fence();
        resv.addFence(f, fenceUsage);
        for (FenceUsage query : FenceUsage.values()) {
            boolean covered = query.ordinal() >= fenceUsage.ordinal();
            assertEquals(!covered, resv.isIdle(query), "fence " + fenceUsage + ", isIdle(" + query + ")");
        }
        f.signal();
        for (FenceUsage query : FenceUsage.values()) {
            assertTrue(resv.isIdle(query), "signaled fence " + fenceUsage + ", isIdle(" + query + ")");
        }
    }

    @Test
    void readFenceExampleFromTheContract() {
        resv.addFence(new Fence(), FenceUsage.READ);
        assertFalse(resv.isIdle(FenceUsage.READ));
        assertFalse(resv.isIdle(FenceUsage.BOOKKEEP));
        assertTrue(resv.isIdle(FenceUsage.WRITE));
        assertTrue(resv.isIdle(FenceUsage.KERNEL));
    }

    @Test
    void usageOrderIsKernelWriteReadBookkeep() {
        assertArrayEquals(new FenceUsage[] {FenceUsage.KERNEL, FenceUsage.WRITE, FenceUsage.READ, FenceUsage.BOOKKEEP},
                FenceUsage.values());
    }

    @Test
    void addFenceWithAndWithoutTheLock() {
        Fence unlocked = new Fence();
        resv.addFence(unlocked, FenceUsage.WRITE);
        Fence locked = new Fence();
        resv.lock();
        resv.addFence(locked, FenceUsage.KERNEL);
        resv.unlock();
        assertFalse(resv.isIdle(FenceUsage.KERNEL));
        locked.signal();
        assertTrue(resv.isIdle(FenceUsage.KERNEL));
        assertFalse(resv.isIdle(FenceUsage.WRITE));
        unlocked.signal();
        assertTrue(resv.isIdle(FenceUsage.BOOKKEEP));
    }

    @Test
    void addFenceFromAnotherThreadWhileLockedHere() {
        resv.lock();
        Fence f = new Fence();
        inOtherThread(() -> bo.resv().addFence(f, FenceUsage.READ));
        assertFalse(resv.isIdle(FenceUsage.READ));
        resv.unlock();
        f.signal();
        assertTrue(resv.isIdle(FenceUsage.READ));
    }

    @Test
    void allFencesOfAUsageMustSignal() {
        Fence a = new Fence();
        Fence b = new Fence();
        resv.addFence(a, FenceUsage.WRITE);
        resv.addFence(b, FenceUsage.WRITE);
        a.signal();
        assertFalse(resv.isIdle(FenceUsage.WRITE));
        b.signal();
        assertTrue(resv.isIdle(FenceUsage.WRITE));
    }

    @Test
    void addingAnAlreadySignaledFenceKeepsTheObjectIdle() {
        Fence f = new Fence();
        f.signal();
        resv.addFence(f, FenceUsage.KERNEL);
        assertTrue(resv.isIdle(FenceUsage.KERNEL));
    }

    @Test
    void awaitIdleTimesOutThenSucceedsAfterSignalFromAnotherThread() throws Exception {
        Fence f = new Fence();
        resv.addFence(f, FenceUsage.WRITE);
        long start = System.nanoTime();
        assertFalse(resv.awaitIdle(FenceUsage.READ, Duration.ofMillis(20)));
        assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(20), "returned before the timeout");
        assertTrue(resv.awaitIdle(FenceUsage.KERNEL, Duration.ZERO), "a WRITE fence does not concern KERNEL");
        CountDownLatch go = new CountDownLatch(1);
        CompletableFuture<Void> signaler = startInOtherThread(() -> {
            go.await();
            f.signal();
            return null;
        });
        go.countDown();
        assertTrue(resv.awaitIdle(FenceUsage.READ, LONG_WAIT));
        await(signaler);
        assertTrue(resv.isIdle(FenceUsage.BOOKKEEP));
    }

    @Test
    void awaitIdleIgnoresFencesOfWeakerUsage() {
        resv.addFence(new Fence(), FenceUsage.BOOKKEEP);
        assertTrue(resv.awaitIdle(FenceUsage.READ, Duration.ZERO));
        assertFalse(resv.awaitIdle(FenceUsage.BOOKKEEP, Duration.ZERO));
    }

    @Test
    void busyObjectIsNotReclaimedUntilSignaled() {
        byte[] p = fillPattern(bo, 5);
        Fence f = new Fence();
        resv.addFence(f, FenceUsage.BOOKKEEP);
        assertEquals(0, mm.reclaim(Long.MAX_VALUE), "busy objects are skipped");
        assertEquals(Residency.RESIDENT, bo.residency());
        f.signal();
        assertEquals(bo.size(), mm.reclaim(Long.MAX_VALUE));
        assertEquals(Residency.EVICTED, bo.residency());
        assertArrayEquals(p, contentOf(bo));
    }

    @Test
    void busyDontNeedObjectIsNotPurgedUntilSignaled() {
        fill(bo, (byte) 7);
        bo.madvise(Madvise.DONTNEED);
        Fence f = new Fence();
        resv.addFence(f, FenceUsage.KERNEL);
        assertEquals(0, mm.reclaim(Long.MAX_VALUE));
        assertEquals(Residency.RESIDENT, bo.residency());
        assertTrue(bo.madvise(Madvise.DONTNEED), "still retained");
        f.signal();
        assertEquals(bo.size(), mm.reclaim(Long.MAX_VALUE));
        assertEquals(Residency.PURGED, bo.residency());
    }

    @Test
    void nullArgumentsThrowNullPointerExceptionAndAddNoFence() {
        assertThrows(NullPointerException.class, () -> resv.addFence(null, FenceUsage.READ));
        assertThrows(NullPointerException.class, () -> resv.addFence(new Fence(), null));
        assertThrows(NullPointerException.class, () -> resv.isIdle(null));
        assertThrows(NullPointerException.class, () -> resv.awaitIdle(null, Duration.ZERO));
        assertThrows(NullPointerException.class, () -> resv.awaitIdle(FenceUsage.READ, null));
        assertTrue(resv.isIdle(FenceUsage.BOOKKEEP), "a rejected addFence adds nothing");
    }
}
