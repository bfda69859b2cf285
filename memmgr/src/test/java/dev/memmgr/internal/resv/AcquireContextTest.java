package dev.memmgr.internal.resv;

import static dev.memmgr.internal.resv.Threads.inOtherThread;
import static dev.memmgr.internal.resv.Threads.start;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Wait-die between acquire contexts, the back-off protocol, and no deadlock in opposite orders. */
class AcquireContextTest {
    private final Resv a = new Resv();
    private final Resv b = new Resv();

    @Test
    void locksAreHeldByTheContextsThreadInOrderAndDuplicatesReturnFalse() {
        AcquireContext ctx = new AcquireContext();
        assertTrue(ctx.lock(a, a));
        assertTrue(ctx.lock(b, b));
        assertFalse(ctx.lock(a, a), "-EALREADY");
        assertEquals(2, ctx.size());
        assertSame(a, ctx.key(0));
        assertSame(b, ctx.key(1));
        assertTrue(a.isHeldByCurrentThread());
        assertFalse(inOtherThread(a::isHeldByCurrentThread));
        assertThrows(IllegalStateException.class, a::lock, "a plain lock by the same thread is a self-deadlock");
        ctx.close();
        assertFalse(a.isLocked());
        assertFalse(b.isLocked());
        ctx.close(); // idempotent
        assertThrows(IllegalStateException.class, () -> ctx.lock(a, a));
    }

    @Test
    void aReservationHeldPlainlyByTheThreadCannotBeLockedThroughAContext() {
        a.lock();
        AcquireContext ctx = new AcquireContext();
        assertThrows(IllegalStateException.class, () -> ctx.lock(a, a));
        assertEquals(0, ctx.size());
        assertTrue(a.isHeldByCurrentThread());
        a.unlock();
        ctx.close();
    }

    @Test
    void aContextIsUsedByItsThreadOnly() {
        AcquireContext ctx = new AcquireContext();
        ctx.lock(a, a);
        assertTrue(inOtherThread(() -> {
            try {
                ctx.lock(b, b);
                return false;
            } catch (IllegalStateException expected) {
                return true;
            }
        }));
        assertFalse(b.isLocked());
        ctx.close();
    }

    @Test
    void plainUnlockOfAContextsLockMakesTheContextForgetIt() {
        AcquireContext ctx = new AcquireContext();
        ctx.lock(a, a);
        ctx.lock(b, b);
        a.unlock();
        assertEquals(1, ctx.size());
        assertSame(b, ctx.key(0));
        ctx.close();
        assertFalse(a.isLocked());
        assertFalse(b.isLocked());
    }

    @Test
    void aYoungerContextDiesOnAnOlderOnesLockAndHoldsNothingNew() {
        AcquireContext older = new AcquireContext();
        older.lock(a, a);
        WouldDeadlockException e = inOtherThread(() -> {
            AcquireContext younger = new AcquireContext();
            try {
                younger.lock(b, b);
                younger.lock(a, a);
                return null;
            } catch (WouldDeadlockException died) {
                assertEquals(1, younger.size(), "what it held stays held until it backs off");
                younger.close();
                return died;
            }
        });
        assertSame(a, e.contended());
        assertFalse(a.hasWaiters(), "a context that dies leaves the queue");
        assertFalse(b.isLocked());
        older.close();
    }

    @Test
    void anOlderContextWaitsForAYoungerOne() throws Exception {
        CountDownLatch olderCreated = new CountDownLatch(1);
        CountDownLatch go = new CountDownLatch(1);
        Threads.Started<Boolean> older = start("older", () -> {
            AcquireContext ctx = new AcquireContext(); // created first: older
            olderCreated.countDown();
            go.await(Threads.LONG_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            boolean got = ctx.lock(a, a);
            ctx.close();
            return got;
        });
        assertTrue(olderCreated.await(Threads.LONG_WAIT.toMillis(), TimeUnit.MILLISECONDS));
        AcquireContext younger = new AcquireContext();
        younger.lock(a, a);
        go.countDown();
        Threads.awaitCondition(a::hasWaiters, "the older context queued");
        older.awaitParked();
        assertTrue(a.hasWaiters(), "the older context waits instead of dying");
        assertFalse(older.result().isDone());
        younger.close();
        assertTrue(older.join(), "and gets the lock when the younger one lets go");
        assertFalse(a.isLocked());
    }

    @Test
    void aYoungerContextDiesWhenAnOlderOneIsQueuedAheadOfIt() {
        a.lock(); // a plain holder: contexts wait for it
        AcquireContext[] older = new AcquireContext[1];
        CountDownLatch created = new CountDownLatch(1);
        Threads.Started<Boolean> olderWaiter = start("older", () -> {
            older[0] = new AcquireContext();
            created.countDown();
            boolean got = older[0].lock(a, a);
            older[0].close();
            return got;
        });
        try {
            assertTrue(created.await(Threads.LONG_WAIT.toMillis(), TimeUnit.MILLISECONDS));
        } catch (InterruptedException e) {
            fail(e);
        }
        olderWaiter.awaitParked();
        WouldDeadlockException died = inOtherThread(() -> {
            AcquireContext younger = new AcquireContext();
            try {
                younger.lock(a, a);
                return null;
            } catch (WouldDeadlockException e) {
                return e;
            } finally {
                younger.close();
            }
        });
        assertSame(a, died.contended(), "waiting behind an older context means waiting for it: die");
        a.unlock();
        assertTrue(olderWaiter.join());
    }

    @Test
    void openReusesTheThreadsClosedContextWithANewStampAndNestsWithAFreshOne() {
        java.util.function.Function<Object, Resv> keys = k -> (Resv) ((Object[]) k)[0];
        AcquireContext first = AcquireContext.open(keys);
        Object[] keyA = {a};
        assertTrue(first.lock(a, keyA));
        AcquireContext nested = AcquireContext.open(keys);
        assertFalse(first == nested, "in use: a nested one is a new context");
        nested.close();
        first.close();
        assertFalse(a.isLocked(), "unlocked through the key's reservation");

        AcquireContext between = new AcquireContext();
        AcquireContext again = AcquireContext.open(keys);
        assertSame(first, again, "the thread's closed context is handed out again");
        assertTrue(between.isOlderThan(again), "with a new stamp: younger than contexts made meanwhile");
        assertEquals(0, again.size());
        assertTrue(again.lock(b, new Object[] {b}));
        assertEquals(1, again.size());
        again.close();
        between.close();
        assertFalse(b.isLocked());
        AcquireContext otherThreads = inOtherThread(() -> {
            AcquireContext c = AcquireContext.open(keys);
            c.close();
            return c;
        });
        assertFalse(otherThreads == first, "one reusable context per thread");
    }

    @Test
    void aReleasedKeyIsFoundThroughItsReservation() {
        AcquireContext ctx = AcquireContext.open(k -> (Resv) ((Object[]) k)[0]);
        ctx.lock(a, new Object[] {a});
        ctx.lock(b, new Object[] {b});
        a.unlock(); // plain unlock of a context's lock
        assertEquals(1, ctx.size());
        assertSame(b, ((Object[]) ctx.key(0))[0]);
        assertThrows(IllegalStateException.class, () -> ctx.lockAll(List.of(a)), "keys are not reservations here");
        ctx.close();
        assertFalse(b.isLocked());
    }

    @Test
    void backOffHoldsTheContendedOneUnclaimedUntilLockedAgain() {
        AcquireContext ctx = new AcquireContext();
        ctx.lock(a, a);
        ctx.backOff(b);
        assertFalse(a.isLocked(), "back-off drops everything");
        assertTrue(b.isHeldByCurrentThread(), "and waits for the contended one");
        assertEquals(0, ctx.size(), "held but not claimed yet");
        assertTrue(ctx.lock(a, a));
        assertTrue(ctx.lock(b, b), "the first lock after a back-off claims it: true");
        assertFalse(ctx.lock(b, b), "then it is a duplicate");
        assertEquals(List.of(a, b), List.of(ctx.key(0), ctx.key(1)), "listed where the caller claimed it");
        ctx.close();
        assertFalse(b.isLocked());

        AcquireContext unclaimed = new AcquireContext();
        unclaimed.backOff(a);
        unclaimed.lock(b, b);
        unclaimed.releaseUnclaimed();
        assertFalse(a.isLocked(), "not claimed again: released");
        assertTrue(b.isHeldByCurrentThread());
        unclaimed.close();
        assertFalse(b.isLocked());
    }

    /**
     * Contexts locking overlapping sets in opposite (and random) orders never deadlock: every
     * thread finishes its iterations within a bounded wait, and the locks exclude each other.
     */
    @Test
    void contextsInOppositeOrdersNeverDeadlock() throws Exception {
        long seed = Long.getLong("resv.seed", System.nanoTime());
        int threads = 4;
        int iterations = 1500;
        Resv[] set = new Resv[6];
        for (int i = 0; i < set.length; i++) {
            set[i] = new Resv();
        }
        long[] inside = new long[set.length]; // each guarded by its reservation
        CountDownLatch start = new CountDownLatch(1);
        List<Threads.Started<Integer>> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int id = t;
            Random rnd = new Random(seed + t);
            workers.add(start("ww-" + t, () -> {
                start.await();
                int backOffs = 0;
                for (int it = 0; it < iterations; it++) {
                    List<Resv> order = new ArrayList<>(List.of(set));
                    if (id == 1) {
                        java.util.Collections.reverse(order);
                    } else if (id > 1) {
                        java.util.Collections.shuffle(order, rnd);
                    }
                    order.add(order.get(rnd.nextInt(order.size()))); // a duplicate
                    AcquireContext ctx = new AcquireContext();
                    retry:
                    while (true) {
                        for (Resv r : order) {
                            try {
                                ctx.lock(r, r);
                            } catch (WouldDeadlockException e) {
                                backOffs++;
                                ctx.backOff(e.contended());
                                continue retry;
                            }
                        }
                        ctx.releaseUnclaimed();
                        break;
                    }
                    for (int i = 0; i < set.length; i++) {
                        if (!set[i].isHeldByCurrentThread()) {
                            throw new AssertionError("not all held after the retry loop");
                        }
                        inside[i]++;
                    }
                    ctx.close();
                }
                return backOffs;
            }));
        }
        start.countDown();
        for (Threads.Started<Integer> w : workers) {
            try {
                w.join();
            } catch (AssertionError e) {
                throw new AssertionError("seed " + seed + ": " + e.getMessage(), e);
            }
        }
        for (int i = 0; i < set.length; i++) {
            assertEquals((long) threads * iterations, inside[i], "seed " + seed + ": lost updates under the lock " + i);
            assertFalse(set[i].isLocked());
        }
    }
}
