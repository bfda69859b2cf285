package dev.memmgr.internal.resv;

import static dev.memmgr.internal.resv.Threads.inOtherThread;
import static dev.memmgr.internal.resv.Threads.start;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The lock of {@link Resv} on its own: hand-over in arrival order, tryLock never overtaking a
 * waiter, {@link Resv#lockUnless} and {@link Resv#wakeWaiters}, and interrupts.
 */
class ResvLockTest {
    private final Resv resv = new Resv();

    @Test
    void uncontendedLockUnlockAndQueries() {
        assertFalse(resv.isLocked());
        resv.lock();
        assertTrue(resv.isLocked());
        assertTrue(resv.isHeldByCurrentThread());
        assertFalse(resv.hasWaiters());
        assertFalse(inOtherThread(resv::isHeldByCurrentThread));
        resv.unlock();
        assertFalse(resv.isLocked());
        assertFalse(resv.isHeldByCurrentThread());
    }

    @Test
    void notReentrantAndOnlyTheOwnerUnlocks() {
        resv.lock();
        assertThrows(IllegalStateException.class, resv::lock);
        assertThrows(IllegalStateException.class, () -> resv.lockUnless(() -> false));
        assertFalse(resv.tryLock());
        assertTrue(inOtherThread(() -> {
            try {
                resv.unlock();
                return false;
            } catch (IllegalStateException expected) {
                return true;
            }
        }));
        assertTrue(resv.isHeldByCurrentThread(), "failed calls change nothing");
        resv.unlock();
        assertThrows(IllegalStateException.class, resv::unlock);
    }

    /** The core of the fairness fix: unlock gives the lock to the waiter, the unlocker cannot re-take it. */
    @Test
    void unlockHandsTheLockToTheWaiterBeforeItEvenRuns() {
        resv.lock();
        CountDownLatch release = new CountDownLatch(1);
        Threads.Started<Boolean> waiter = start("waiter", () -> {
            resv.lock();
            try {
                return release.await(Threads.LONG_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            } finally {
                resv.unlock();
            }
        }).awaitParked();
        assertTrue(resv.hasWaiters());
        resv.unlock();
        assertTrue(resv.isLocked(), "handed over: never free in between");
        assertFalse(resv.isHeldByCurrentThread());
        assertFalse(resv.tryLock(), "the unlocker cannot re-take a lock handed to a waiter");
        release.countDown();
        assertTrue(waiter.join());
        assertFalse(resv.isLocked());
    }

    @Test
    void tryLockFailsWhileAThreadIsQueuedEvenIfTheLockIsBeingReleased() {
        resv.lock();
        CountDownLatch release = new CountDownLatch(1);
        Threads.Started<Void> waiter = Threads.<Void>start("waiter", () -> {
            resv.lock();
            release.await(Threads.LONG_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            resv.unlock();
            return null;
        }).awaitParked();
        assertFalse(inOtherThread(resv::tryLock), "a queued thread goes first");
        resv.unlock();
        assertFalse(inOtherThread(resv::tryLock), "handed to the queued thread");
        release.countDown();
        waiter.join();
        assertTrue(resv.tryLock(), "free with nobody queued");
        resv.unlock();
    }

    @Test
    void waitersGetTheLockInArrivalOrder() {
        resv.lock();
        List<String> order = Collections.synchronizedList(new ArrayList<>());
        List<Threads.Started<Void>> waiters = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            String name = "w" + i;
            Threads.Started<Void> w = start(name, () -> {
                resv.lock();
                order.add(name);
                resv.unlock();
                return null;
            });
            waiters.add(w.awaitParked()); // queued before the next one starts
        }
        assertEquals(List.of(), order);
        resv.unlock();
        for (Threads.Started<Void> w : waiters) {
            w.join();
        }
        assertEquals(List.of("w0", "w1", "w2", "w3", "w4"), order);
    }

    @Test
    void lockIsNotInterruptibleAndKeepsTheInterrupt() {
        resv.lock();
        Threads.Started<Boolean> waiter = start("interrupted", () -> {
            resv.lock();
            boolean interrupted = Thread.interrupted();
            resv.unlock();
            return interrupted;
        }).awaitParked();
        waiter.thread().interrupt();
        Threads.awaitCondition(() -> waiter.thread().getState() == Thread.State.WAITING, "parked again after the interrupt");
        assertFalse(waiter.result().isDone(), "an interrupt does not end the wait");
        resv.unlock();
        assertTrue(waiter.join(), "interrupt status set again once the lock is taken");
    }

    // ---- lockUnless / wakeWaiters ----------------------------------------------------------

    @Test
    void lockUnlessTakesAFreeLockWithoutAskingTheCondition() {
        AtomicInteger asked = new AtomicInteger();
        assertTrue(resv.lockUnless(() -> {
            asked.incrementAndGet();
            return true;
        }));
        assertTrue(resv.isHeldByCurrentThread());
        assertEquals(0, asked.get());
        resv.unlock();
        assertThrows(NullPointerException.class, () -> resv.lockUnless(null));
        assertFalse(resv.isLocked());
    }

    @Test
    void lockUnlessGivesUpAtOnceWhenTheConditionHoldsBeforeWaiting() {
        resv.lock();
        assertFalse(inOtherThread(() -> resv.lockUnless(() -> true)));
        assertFalse(resv.hasWaiters(), "gave up without queuing");
        assertTrue(resv.isHeldByCurrentThread());
        resv.unlock();
    }

    @Test
    void wakeWaitersMakesLockUnlessWaitersGiveUpAndLeavesPlainWaitersWaiting() {
        resv.lock();
        AtomicBoolean freed = new AtomicBoolean();
        Threads.Started<Boolean> giver = start("gives-up", () -> resv.lockUnless(freed::get)).awaitParked();
        Threads.Started<Boolean> plain = start("plain", () -> {
            resv.lock();
            resv.unlock();
            return true;
        }).awaitParked();
        resv.wakeWaiters(); // condition still false: keeps waiting
        Threads.awaitCondition(() -> giver.thread().getState() == Thread.State.WAITING, "parked again");
        assertFalse(giver.result().isDone());
        freed.set(true);
        resv.wakeWaiters();
        assertFalse(giver.join(), "gave up");
        assertTrue(resv.isHeldByCurrentThread(), "giving up takes nothing from the holder");
        assertTrue(resv.hasWaiters(), "the plain waiter keeps waiting");
        assertFalse(plain.result().isDone());
        resv.unlock();
        assertTrue(plain.join());
    }

    /** Several objects share one reservation: each waiter has its own condition. */
    @Test
    void wakeWaitersWakesEveryWaiterButOnlyThoseWhoseConditionHoldsGiveUp() {
        resv.lock();
        AtomicBoolean aFreed = new AtomicBoolean();
        AtomicBoolean bFreed = new AtomicBoolean();
        Threads.Started<Boolean> a = start("a", () -> {
            boolean got = resv.lockUnless(aFreed::get);
            if (got) {
                resv.unlock();
            }
            return got;
        }).awaitParked();
        Threads.Started<Boolean> b = start("b", () -> {
            boolean got = resv.lockUnless(bFreed::get);
            if (got) {
                resv.unlock();
            }
            return got;
        }).awaitParked();
        bFreed.set(true);
        resv.wakeWaiters();
        assertFalse(b.join());
        assertFalse(a.result().isDone());
        resv.unlock();
        assertTrue(a.join(), "the other object's waiter still gets the lock");
    }

    @Test
    void aWaiterThatGivesUpAfterTheHandOverPassesTheLockOn() throws Exception {
        resv.lock();
        CountDownLatch asking = new CountDownLatch(1);
        CountDownLatch answer = new CountDownLatch(1);
        AtomicInteger calls = new AtomicInteger();
        Threads.Started<Boolean> giver = start("gives-up", () -> resv.lockUnless(() -> {
            if (calls.incrementAndGet() <= 2) {
                return false; // before queuing, and once queued
            }
            asking.countDown(); // woken: block until the lock has been handed to us, then give up
            try {
                answer.await(Threads.LONG_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return true;
        })).awaitParked();
        Threads.Started<Boolean> next = start("next", () -> {
            resv.lock();
            resv.unlock();
            return true;
        }).awaitParked();
        resv.wakeWaiters();
        assertTrue(asking.await(Threads.LONG_WAIT.toMillis(), TimeUnit.MILLISECONDS));
        resv.unlock(); // handed to the giver, which is deciding to give up
        answer.countDown();
        assertFalse(giver.join(), "it gave up");
        assertTrue(next.join(), "and passed the lock on: the hand-over is not lost");
        assertFalse(resv.isLocked());
        assertFalse(resv.hasWaiters());
    }

    @Test
    void aConditionThatThrowsLeavesTheQueueAndPropagates() {
        resv.lock();
        RuntimeException boom = new IllegalStateException("boom");
        AtomicInteger calls = new AtomicInteger();
        Threads.Started<Boolean> thrower = start("thrower", () -> resv.lockUnless(() -> {
            if (calls.incrementAndGet() > 2) {
                throw boom;
            }
            return false;
        })).awaitParked();
        resv.wakeWaiters();
        assertSame(boom, assertThrows(IllegalStateException.class, thrower::join));
        assertFalse(resv.hasWaiters());
        assertTrue(resv.isHeldByCurrentThread());
        resv.unlock();
        assertTrue(resv.tryLock(), "nothing left behind");
        resv.unlock();
    }

    @Test
    void lockUnlessIsNotInterruptibleAndKeepsTheInterrupt() {
        resv.lock();
        Threads.Started<Boolean> waiter = start("interrupted", () -> {
            boolean got = resv.lockUnless(() -> false);
            boolean interrupted = Thread.interrupted();
            if (got) {
                resv.unlock();
            }
            return got && interrupted;
        }).awaitParked();
        waiter.thread().interrupt();
        Threads.awaitCondition(() -> waiter.thread().getState() == Thread.State.WAITING, "parked again after the interrupt");
        resv.unlock();
        assertTrue(waiter.join());
    }
}
