package dev.memmgr;

import static dev.memmgr.ApiTestSupport.LONG_WAIT;
import static dev.memmgr.ApiTestSupport.assertStillBlocked;
import static dev.memmgr.ApiTestSupport.await;
import static dev.memmgr.ApiTestSupport.awaitCondition;
import static dev.memmgr.ApiTestSupport.bytes;
import static dev.memmgr.ApiTestSupport.contentOf;
import static dev.memmgr.ApiTestSupport.inOtherThread;
import static dev.memmgr.ApiTestSupport.newManager;
import static dev.memmgr.ApiTestSupport.pages;
import static dev.memmgr.ApiTestSupport.startInOtherThread;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Contract of {@link Exec} (DESIGN 4.1, drm_exec): wait-die retry, duplicates, failure, threads. */
class ExecTest {
    private MemoryManager mm;
    private Client client;
    private BufferObject a;
    private BufferObject b;
    private BufferObject c;

    @BeforeEach
    void setUp() {
        mm = newManager();
        client = mm.openClient("exec");
        a = client.create(pages(1));
        b = client.create(pages(1));
        c = client.create(pages(1));
    }

    @AfterEach
    void tearDown() {
        mm.close();
    }

    /** @return whether another thread can take {@code r} right now (and gives it back) */
    private static boolean freeForOthers(Reservation r) {
        return inOtherThread(() -> {
            boolean got = r.tryLock();
            if (got) {
                r.unlock();
            }
            return got;
        });
    }

    // ---- one thread ------------------------------------------------------------------------

    @Test
    void locksInTheLockersOrderHoldsUntilCloseAndCloseIsIdempotent() {
        AtomicInteger runs = new AtomicInteger();
        Exec exec = Exec.lockAll(e -> {
            runs.incrementAndGet();
            assertTrue(e.lock(b));
            assertTrue(e.lock(a.resv()));
            assertTrue(e.lock(c));
        });
        assertEquals(1, runs.get(), "no contention: the locker runs once");
        assertEquals(List.of(b.resv(), a.resv(), c.resv()), exec.locked());
        for (BufferObject bo : List.of(a, b, c)) {
            assertTrue(bo.resv().isHeldByCurrentThread());
            assertFalse(freeForOthers(bo.resv()));
        }
        exec.close();
        assertEquals(List.of(), exec.locked());
        for (BufferObject bo : List.of(a, b, c)) {
            assertFalse(bo.resv().isHeldByCurrentThread());
            assertTrue(freeForOthers(bo.resv()), "close unlocks everything");
        }
        exec.close(); // idempotent
        assertTrue(freeForOthers(a.resv()));
    }

    @Test
    void duplicatesReturnFalseAndAreListedOnce() {
        List<Boolean> results = new ArrayList<>();
        try (Exec exec = Exec.lockAll(e -> {
            results.add(e.lock(a));
            results.add(e.lock(a));
            results.add(e.lock(a.resv()));
            results.add(e.lock(b));
            results.add(e.lock(a));
        })) {
            assertEquals(List.of(true, false, false, true, false), results);
            assertEquals(List.of(a.resv(), b.resv()), exec.locked());
        }
        assertTrue(freeForOthers(a.resv()));
    }

    @Test
    void lockOutsideTheLockerThrowsAndChangesNothing() {
        Exec exec = Exec.lockAll(e -> e.lock(a));
        assertThrows(IllegalStateException.class, () -> exec.lock(b));
        assertThrows(IllegalStateException.class, () -> exec.lock(a), "even a duplicate");
        assertEquals(List.of(a.resv()), exec.locked());
        assertTrue(freeForOthers(b.resv()));
        exec.close();
        assertThrows(IllegalStateException.class, () -> exec.lock(b), "after close too");
        assertTrue(freeForOthers(b.resv()));
    }

    @Test
    void lockFromAnotherThreadWhileTheLockerRunsThrows() {
        AtomicReference<Throwable> fromOther = new AtomicReference<>();
        try (Exec exec = Exec.lockAll(e -> {
            e.lock(a);
            fromOther.set(inOtherThread(() -> {
                try {
                    e.lock(b);
                    return null;
                } catch (IllegalStateException expected) {
                    return expected;
                }
            }));
        })) {
            assertTrue(fromOther.get() instanceof IllegalStateException, "got " + fromOther.get());
            assertEquals(List.of(a.resv()), exec.locked());
            assertTrue(freeForOthers(b.resv()));
        }
    }

    @Test
    void lockOfAReservationTheThreadHoldsOutsideThrowsAndDropsEverything() {
        Reservation held = a.resv();
        held.lock();
        try {
            assertThrows(IllegalStateException.class, () -> Exec.lockAll(e -> {
                e.lock(b);
                e.lock(c);
                e.lock(a);
            }));
            assertTrue(held.isHeldByCurrentThread(), "the plain lock is untouched");
            assertTrue(freeForOthers(b.resv()), "the Exec's locks were dropped");
            assertTrue(freeForOthers(c.resv()));
        } finally {
            held.unlock();
        }
    }

    @Test
    void aLockerThatThrowsDropsEveryLockAndTheExceptionPropagates() {
        IllegalArgumentException failure = new IllegalArgumentException("validation failed");
        assertSame(failure, assertThrows(IllegalArgumentException.class, () -> Exec.lockAll(e -> {
            e.lock(a);
            e.lock(b);
            throw failure;
        })));
        assertFalse(a.resv().isHeldByCurrentThread());
        assertTrue(freeForOthers(a.resv()));
        assertTrue(freeForOthers(b.resv()));

        AssertionError error = new AssertionError("an Error too");
        assertSame(error, assertThrows(AssertionError.class, () -> Exec.lockAll(e -> {
            e.lock(c);
            throw error;
        })));
        assertTrue(freeForOthers(c.resv()));
    }

    @Test
    void nullArgumentsThrowNullPointerException() {
        assertThrows(NullPointerException.class, () -> Exec.lockAll(null));
        assertThrows(NullPointerException.class, () -> Exec.lockAll(e -> {
            e.lock(a);
            e.lock((Reservation) null);
        }));
        assertThrows(NullPointerException.class, () -> Exec.lockAll(e -> e.lock((BufferObject) null)));
        assertTrue(freeForOthers(a.resv()), "dropped as for any exception from the locker");
    }

    @Test
    void closeInsideTheLockerOrFromAnotherThreadThrows() {
        AtomicReference<Throwable> inside = new AtomicReference<>();
        Exec exec = Exec.lockAll(e -> {
            e.lock(a);
            try {
                e.close();
            } catch (IllegalStateException expected) {
                inside.set(expected);
            }
        });
        assertTrue(inside.get() instanceof IllegalStateException);
        RuntimeException other = inOtherThread(() -> {
            try {
                exec.close();
                return null;
            } catch (IllegalStateException expected) {
                return expected;
            }
        });
        assertTrue(other instanceof IllegalStateException, "another thread cannot unlock this thread's locks");
        assertEquals(List.of(a.resv()), exec.locked(), "still held");
        exec.close();
        inOtherThread(exec::close); // closed: a no-op from any thread
        assertTrue(freeForOthers(a.resv()));
    }

    /** Execs of one thread reuse its acquire context: a closed Exec must not see or touch the next one's locks. */
    @Test
    void aClosedExecStaysClosedWhenTheThreadRunsTheNextOne() {
        Exec first = Exec.lockAll(e -> e.lock(a));
        first.close();
        try (Exec second = Exec.lockAll(e -> {
            e.lock(b);
            e.lock(c);
        })) {
            assertEquals(List.of(), first.locked(), "the closed Exec lists nothing");
            first.close(); // a no-op: does not unlock the second Exec's locks
            assertThrows(IllegalStateException.class, () -> first.lock(a));
            assertEquals(List.of(b.resv(), c.resv()), second.locked());
            assertFalse(freeForOthers(b.resv()));
            assertTrue(freeForOthers(a.resv()));
        }
        assertTrue(freeForOthers(b.resv()));
    }

    @Test
    void anExecInsideAnotherExecsLifetimeGetsItsOwnContext() {
        try (Exec outer = Exec.lockAll(e -> e.lock(a))) {
            try (Exec inner = Exec.lockAll(e -> e.lock(b))) {
                assertEquals(List.of(a.resv()), outer.locked());
                assertEquals(List.of(b.resv()), inner.locked());
            }
            assertEquals(List.of(a.resv()), outer.locked());
            assertTrue(freeForOthers(b.resv()));
            assertFalse(freeForOthers(a.resv()));
        }
        assertTrue(freeForOthers(a.resv()));
    }

    @Test
    void unlockingOneOfTheLocksDirectlyRemovesItFromTheExec() {
        Exec exec = Exec.lockAll(e -> {
            e.lock(a);
            e.lock(b);
        });
        a.resv().unlock();
        assertEquals(List.of(b.resv()), exec.locked());
        assertTrue(freeForOthers(a.resv()));
        exec.close(); // does not unlock a twice
        assertTrue(freeForOthers(b.resv()));
    }

    @Test
    void operationsOnLockedObjectsDoNotLockAgainAndOtherThreadsWait() {
        Exec exec = Exec.lockAll(e -> {
            e.lock(a);
            e.lock(b);
        });
        try {
            a.write(0, bytes(16, (byte) 3)); // the gem layer sees the lock held by this thread
            assertEquals(3, contentOf(a, 0, 1)[0]);
            CompletableFuture<Void> writer = startInOtherThread(() -> b.write(0, bytes(16, (byte) 4)));
            assertStillBlocked(writer, "a write from another thread while the Exec holds the object");
            exec.close();
            await(writer);
            assertEquals(List.of(), exec.locked());
        } finally {
            exec.close(); // idempotent
        }
        assertEquals(4, contentOf(b, 0, 1)[0]);
    }

    // ---- contention with other Execs -------------------------------------------------------

    /** An older Exec holds {@code a} inside its locker until {@code release}; returns when it has closed. */
    private CompletableFuture<Void> olderHolding(BufferObject bo, CountDownLatch holding, CountDownLatch release) {
        return startInOtherThread(() -> {
            Exec.lockAll(e -> {
                e.lock(bo);
                holding.countDown();
                try {
                    release.await(LONG_WAIT.toMillis(), TimeUnit.MILLISECONDS);
                } catch (InterruptedException x) {
                    Thread.currentThread().interrupt();
                }
            }).close();
            return null;
        });
    }

    /** Starts {@code locker} in a younger Exec in another thread; returns its locked() and its thread. */
    private static CompletableFuture<List<Reservation>> younger(Consumer<Exec> locker, AtomicReference<Thread> thread) {
        return startInOtherThread(() -> {
            thread.set(Thread.currentThread());
            try (Exec e = Exec.lockAll(locker)) {
                return e.locked();
            }
        });
    }

    @Test
    void contentionWithAnOlderExecRetriesAndLockReturnsTrueAgainInTheNewRun() throws Exception {
        CountDownLatch holding = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        CompletableFuture<Void> older = olderHolding(a, holding, release);
        assertTrue(holding.await(LONG_WAIT.toMillis(), TimeUnit.MILLISECONDS));
        List<List<Object>> runs = Collections.synchronizedList(new ArrayList<>());
        AtomicReference<Thread> thread = new AtomicReference<>();
        CompletableFuture<List<Reservation>> young = younger(e -> {
            List<Object> run = new ArrayList<>();
            runs.add(run);
            run.add(e.lock(b));
            try {
                run.add(e.lock(a));
            } catch (Exec.RetrySignal signal) {
                run.add("retry");
                throw signal; // let it through
            }
            run.add(e.lock(a));
            run.add(e.lock(c));
        }, thread);
        awaitCondition(() -> runs.size() == 1 && thread.get().getState() == Thread.State.WAITING,
                "the younger Exec backed off and waits for the contended lock");
        assertTrue(freeForOthers(b.resv()), "backing off dropped what the younger Exec held");
        release.countDown();
        await(older);
        assertEquals(List.of(b.resv(), a.resv(), c.resv()), await(young));
        assertEquals(List.of(List.of(true, "retry"), List.of(true, true, false, true)), runs,
                "after the retry the contended one, already held, is true once, then a duplicate");
        assertTrue(freeForOthers(a.resv()));
    }

    @Test
    void aLockerThatSwallowsTheRetrySignalIsRetriedAnyway() throws Exception {
        CountDownLatch holding = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        CompletableFuture<Void> older = olderHolding(a, holding, release);
        assertTrue(holding.await(LONG_WAIT.toMillis(), TimeUnit.MILLISECONDS));
        AtomicInteger runs = new AtomicInteger();
        AtomicInteger swallowed = new AtomicInteger();
        AtomicReference<Thread> thread = new AtomicReference<>();
        CompletableFuture<List<Reservation>> young = younger(e -> {
            runs.incrementAndGet();
            for (BufferObject bo : List.of(a, b)) {
                try {
                    e.lock(bo);
                } catch (RuntimeException careless) { // wrong, but must not break anything
                    swallowed.incrementAndGet();
                }
            }
        }, thread);
        awaitCondition(() -> runs.get() == 1 && thread.get().getState() == Thread.State.WAITING, "backed off");
        assertEquals(2, swallowed.get(), "every lock after the contention signals again in that run");
        release.countDown();
        await(older);
        assertEquals(List.of(a.resv(), b.resv()), await(young));
        assertEquals(2, runs.get());
        assertEquals(2, swallowed.get());
    }

    @Test
    void aContendedReservationTheNewRunDoesNotLockIsReleased() throws Exception {
        CountDownLatch holding = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        CompletableFuture<Void> older = olderHolding(a, holding, release);
        assertTrue(holding.await(LONG_WAIT.toMillis(), TimeUnit.MILLISECONDS));
        AtomicInteger runs = new AtomicInteger();
        AtomicReference<Thread> thread = new AtomicReference<>();
        CountDownLatch check = new CountDownLatch(1);
        AtomicReference<Boolean> aFreeInside = new AtomicReference<>();
        CompletableFuture<List<Reservation>> young = startInOtherThread(() -> {
            thread.set(Thread.currentThread());
            try (Exec e = Exec.lockAll(x -> {
                if (runs.incrementAndGet() == 1) {
                    x.lock(a);
                }
                x.lock(b);
            })) {
                aFreeInside.set(!a.resv().isHeldByCurrentThread());
                check.countDown();
                return e.locked();
            }
        });
        awaitCondition(() -> runs.get() == 1 && thread.get() != null && thread.get().getState() == Thread.State.WAITING, "backed off");
        release.countDown();
        await(older);
        assertEquals(List.of(b.resv()), await(young));
        assertTrue(check.await(LONG_WAIT.toMillis(), TimeUnit.MILLISECONDS));
        assertTrue(aFreeInside.get(), "the lock waited for but not taken again is not kept");
        assertTrue(freeForOthers(a.resv()));
    }

    @Test
    void anExecWaitsForPlainHoldersAndPlainLockersWaitForTheExec() throws Exception {
        CountDownLatch holding = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        CompletableFuture<Void> plain = startInOtherThread(() -> {
            a.resv().lock();
            holding.countDown();
            release.await(LONG_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            a.resv().unlock();
            return null;
        });
        assertTrue(holding.await(LONG_WAIT.toMillis(), TimeUnit.MILLISECONDS));
        AtomicInteger runs = new AtomicInteger();
        CountDownLatch closeNow = new CountDownLatch(1);
        CountDownLatch execHolds = new CountDownLatch(1);
        CompletableFuture<Integer> exec = startInOtherThread(() -> {
            Exec e = Exec.lockAll(x -> {
                runs.incrementAndGet();
                x.lock(b);
                x.lock(a); // a plain holder is waited for, never a reason to retry
            });
            execHolds.countDown();
            closeNow.await(LONG_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            e.close();
            return runs.get();
        });
        assertStillBlocked(exec, "an Exec waiting for a plain holder");
        release.countDown();
        await(plain);
        assertTrue(execHolds.await(LONG_WAIT.toMillis(), TimeUnit.MILLISECONDS));
        CompletableFuture<Void> plainAgain = startInOtherThread(() -> {
            a.resv().lock();
            a.resv().unlock();
            return null;
        });
        assertStillBlocked(plainAgain, "a plain lock() while an Exec holds the reservation");
        closeNow.countDown();
        assertEquals(1, await(exec), "no retry for plain holders");
        await(plainAgain);
    }

    /**
     * Execs locking overlapping sets in opposite and random orders (with duplicates), next to
     * plain lockers of single reservations, never deadlock: all finish within a bounded wait,
     * every Exec holds its whole set inside, and the locks exclude each other (no lost updates).
     */
    @Test
    void execsInOppositeOrdersAndPlainLockersNeverDeadlock() throws Exception {
        long seed = Long.getLong("exec.seed", System.nanoTime());
        List<BufferObject> set = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            set.add(client.create(pages(1)));
        }
        List<Reservation> resvs = set.stream().map(BufferObject::resv).toList();
        long[] inside = new long[set.size()]; // [i] guarded by resvs[i]
        int execThreads = 3;
        int iterations = 800;
        int plainRounds = 4000;
        CountDownLatch go = new CountDownLatch(1);
        List<CompletableFuture<Integer>> workers = new ArrayList<>();
        for (int t = 0; t < execThreads; t++) {
            int id = t;
            Random rnd = new Random(seed + t);
            workers.add(startInOtherThread(() -> {
                go.await();
                int retries = 0;
                for (int it = 0; it < iterations; it++) {
                    List<Integer> order = new ArrayList<>(List.of(0, 1, 2, 3, 4));
                    if (id == 1) {
                        Collections.reverse(order);
                    } else if (id == 2) {
                        Collections.shuffle(order, rnd);
                    }
                    order.add(order.get(rnd.nextInt(order.size())));
                    int[] runs = {0};
                    try (Exec e = Exec.lockAll(x -> {
                        runs[0]++;
                        for (int i : order) {
                            if (rnd.nextBoolean()) {
                                x.lock(set.get(i));
                            } else {
                                x.lock(resvs.get(i));
                            }
                        }
                    })) {
                        if (e.locked().size() != set.size()) {
                            throw new AssertionError("locked " + e.locked());
                        }
                        for (int i = 0; i < set.size(); i++) {
                            if (!resvs.get(i).isHeldByCurrentThread()) {
                                throw new AssertionError("not held: " + i);
                            }
                            inside[i]++;
                        }
                    }
                    retries += runs[0] - 1;
                }
                return retries;
            }));
        }
        for (int t = 0; t < 2; t++) {
            int i = t * 2;
            workers.add(startInOtherThread(() -> {
                go.await();
                for (int r = 0; r < plainRounds; r++) {
                    resvs.get(i).lock();
                    inside[i]++;
                    resvs.get(i).unlock();
                }
                return 0;
            }));
        }
        go.countDown();
        for (CompletableFuture<Integer> w : workers) {
            try {
                await(w);
            } catch (AssertionError e) {
                throw new AssertionError("seed " + seed + ": " + e.getMessage(), e);
            }
        }
        for (int i = 0; i < set.size(); i++) {
            long expected = (long) execThreads * iterations + (i == 0 || i == 2 ? plainRounds : 0);
            assertEquals(expected, inside[i], "seed " + seed + ": lost updates under reservation " + i);
            assertTrue(freeForOthers(resvs.get(i)));
        }
    }
}
