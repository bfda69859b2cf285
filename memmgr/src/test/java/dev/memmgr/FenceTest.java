package dev.memmgr;

import static dev.memmgr.ApiTestSupport.LONG_WAIT;
import static dev.memmgr.ApiTestSupport.await;
import static dev.memmgr.ApiTestSupport.startInOtherThread;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Contract of {@link Fence}: a one-shot signal with waiters and actions. */
class FenceTest {

    @Test
    void newFenceIsUnsignaledAndSignalSetsIt() {
        Fence f = new Fence();
        assertFalse(f.isSignaled());
        f.signal();
        assertTrue(f.isSignaled());
    }

    @Test
    void signalTwiceIsHarmlessAndStaysSignaled() {
        Fence f = new Fence();
        assertTrue(f.signal(), "the first signal wins");
        assertFalse(f.signal(), "a later one is a no-op");
        assertTrue(f.isSignaled());
        assertTrue(f.error().isEmpty());
    }

    // ---- errors (DESIGN 4.2) ---------------------------------------------------------------

    @Test
    void errorIsEmptyUntilSignaledWithAnError() {
        Fence f = new Fence();
        assertTrue(f.error().isEmpty(), "unsignaled");
        IllegalStateException failure = new IllegalStateException("gpu hang");
        assertTrue(f.signal(failure));
        assertTrue(f.isSignaled(), "signaled, with an error");
        assertSame(failure, f.error().orElseThrow());
        assertTrue(f.await(Duration.ZERO));
    }

    @Test
    void signalWithoutErrorLeavesErrorEmpty() {
        Fence f = new Fence();
        f.signal();
        assertTrue(f.error().isEmpty());
    }

    @Test
    void theFirstSignalWinsAndLaterOnesChangeNothing() {
        Fence plain = new Fence();
        assertTrue(plain.signal());
        assertFalse(plain.signal(new RuntimeException("late")));
        assertTrue(plain.error().isEmpty(), "a late error does not replace the success");

        Fence failed = new Fence();
        Exception first = new Exception("first");
        assertTrue(failed.signal(first));
        assertFalse(failed.signal(new Exception("second")));
        assertFalse(failed.signal());
        assertSame(first, failed.error().orElseThrow(), "the first error stays");
    }

    @Test
    void signalNullThrowsAndLeavesTheFenceUnsignaled() {
        Fence f = new Fence();
        AtomicInteger runs = new AtomicInteger();
        f.onSignal(runs::incrementAndGet);
        assertThrows(NullPointerException.class, () -> f.signal(null));
        assertFalse(f.isSignaled());
        assertTrue(f.error().isEmpty());
        assertEquals(0, runs.get(), "no action ran");
        assertTrue(f.signal(), "still signalable");
        assertEquals(1, runs.get());
    }

    @Test
    void anErrorSignalWakesWaitersAndRunsActionsThatSeeTheError() throws Exception {
        Fence f = new Fence();
        AtomicReference<Object> seen = new AtomicReference<>();
        f.onSignal(() -> seen.set(f.error().orElse(null)));
        CountDownLatch waiting = new CountDownLatch(1);
        CompletableFuture<Boolean> waiter = startInOtherThread(() -> {
            waiting.countDown();
            return f.await(LONG_WAIT);
        });
        assertTrue(waiting.await(LONG_WAIT.toMillis(), TimeUnit.MILLISECONDS));
        Error failure = new AssertionError("kernel failed");
        assertTrue(f.signal(failure));
        assertTrue(await(waiter));
        assertSame(failure, seen.get());
    }

    @Test
    void exactlyOneOfConcurrentSignalsWinsAndItsErrorIsTheOneKept() throws Exception {
        for (int round = 0; round < 50; round++) {
            Fence f = new Fence();
            AtomicInteger runs = new AtomicInteger();
            f.onSignal(runs::incrementAndGet);
            CountDownLatch go = new CountDownLatch(1);
            List<CompletableFuture<Boolean>> signalers = new ArrayList<>();
            List<Throwable> errors = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                Throwable e = t == 0 ? null : new RuntimeException("signaler " + t);
                errors.add(e);
                signalers.add(startInOtherThread(() -> {
                    go.await();
                    return e == null ? f.signal() : f.signal(e);
                }));
            }
            go.countDown();
            int winner = -1;
            for (int t = 0; t < signalers.size(); t++) {
                if (await(signalers.get(t))) {
                    assertEquals(-1, winner, "two signals won");
                    winner = t;
                }
            }
            assertTrue(winner >= 0, "nobody won");
            assertEquals(java.util.Optional.ofNullable(errors.get(winner)), f.error(), "the winner's error (or none) is kept");
            assertEquals(1, runs.get());
        }
    }

    @Test
    void aFenceSignaledWithAnErrorMakesTheReservationIdle() {
        try (MemoryManager mm = ApiTestSupport.newManager()) {
            Reservation r = mm.openClient("fence").create(4096).resv();
            Fence f = new Fence();
            r.addFence(f, FenceUsage.WRITE);
            assertFalse(r.isIdle(FenceUsage.WRITE));
            f.signal(new RuntimeException("failed job"));
            assertTrue(r.isIdle(FenceUsage.BOOKKEEP), "a failed fence is signaled: the work is over");
            assertTrue(r.awaitIdle(FenceUsage.BOOKKEEP, Duration.ZERO));
        }
    }

    @Test
    void awaitTimesOutOnAnUnsignaledFence() {
        Fence f = new Fence();
        long start = System.nanoTime();
        assertFalse(f.await(Duration.ofMillis(20)));
        assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(20), "await returned before its timeout");
        assertFalse(f.isSignaled());
    }

    @Test
    void awaitWithZeroOrNegativeTimeoutPolls() {
        Fence f = new Fence();
        assertFalse(f.await(Duration.ZERO));
        assertFalse(f.await(Duration.ofSeconds(-5)));
        f.signal();
        assertTrue(f.await(Duration.ZERO));
        assertTrue(f.await(Duration.ofSeconds(-5)));
    }

    @Test
    void awaitOnASignaledFenceReturnsTrueAtOnce() {
        Fence f = new Fence();
        f.signal();
        assertTrue(f.await(Duration.ofDays(365)));
    }

    @Test
    void awaitWithAHugeTimeoutDoesNotOverflow() throws Exception {
        Fence f = new Fence();
        CountDownLatch waiting = new CountDownLatch(1);
        CompletableFuture<Boolean> r = startInOtherThread(() -> {
            waiting.countDown();
            return f.await(Duration.ofSeconds(Long.MAX_VALUE));
        });
        assertTrue(waiting.await(LONG_WAIT.toMillis(), TimeUnit.MILLISECONDS));
        f.signal();
        assertTrue(await(r));
    }

    @Test
    void awaitIsWokenBySignalFromAnotherThread() throws Exception {
        Fence f = new Fence();
        CountDownLatch go = new CountDownLatch(1);
        CompletableFuture<Void> signaler = startInOtherThread(() -> {
            go.await();
            f.signal();
            return null;
        });
        go.countDown();
        assertTrue(f.await(LONG_WAIT));
        await(signaler);
        assertTrue(f.isSignaled());
    }

    @Test
    void interruptedAwaitReturnsTheCurrentStateAndKeepsTheInterrupt() {
        Fence f = new Fence();
        Thread.currentThread().interrupt();
        try {
            assertFalse(f.await(LONG_WAIT));
            assertTrue(Thread.currentThread().isInterrupted(), "interrupt status must be set again");
        } finally {
            Thread.interrupted();
        }
    }

    @Test
    void onSignalRunsActionsInTheSignalingThreadInRegistrationOrder() {
        Fence f = new Fence();
        List<String> ran = new ArrayList<>();
        AtomicReference<Thread> ranIn = new AtomicReference<>();
        f.onSignal(() -> ran.add("a"));
        f.onSignal(() -> {
            ran.add("b");
            ranIn.set(Thread.currentThread());
        });
        assertEquals(List.of(), ran, "actions must not run before the signal");
        Thread signaler = ApiTestSupport.inOtherThread(() -> {
            f.signal();
            return Thread.currentThread();
        });
        assertEquals(List.of("a", "b"), ran);
        assertSame(signaler, ranIn.get());
    }

    @Test
    void onSignalAfterSignalRunsAtOnceInTheCallerThread() {
        Fence f = new Fence();
        f.signal();
        AtomicReference<Thread> ranIn = new AtomicReference<>();
        f.onSignal(() -> ranIn.set(Thread.currentThread()));
        assertSame(Thread.currentThread(), ranIn.get(), "must have run already, in the calling thread");
    }

    @Test
    void actionsRunOnceEvenIfSignaledTwice() {
        Fence f = new Fence();
        AtomicInteger runs = new AtomicInteger();
        f.onSignal(runs::incrementAndGet);
        f.signal();
        f.signal();
        assertEquals(1, runs.get());
    }

    @Test
    void actionsRunOnceWhenSignaledConcurrently() throws Exception {
        Fence f = new Fence();
        AtomicInteger runs = new AtomicInteger();
        for (int i = 0; i < 10; i++) {
            f.onSignal(runs::incrementAndGet);
        }
        CountDownLatch go = new CountDownLatch(1);
        List<CompletableFuture<Void>> signalers = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            signalers.add(startInOtherThread(() -> {
                go.await();
                f.signal();
                return null;
            }));
        }
        go.countDown();
        for (CompletableFuture<Void> s : signalers) {
            await(s);
        }
        assertEquals(10, runs.get());
    }

    @Test
    void throwingActionsDoNotStopTheOthersAndTheFirstIsRethrown() {
        Fence f = new Fence();
        AtomicInteger runs = new AtomicInteger();
        RuntimeException first = new IllegalStateException("first");
        RuntimeException second = new IllegalArgumentException("second");
        f.onSignal(() -> {
            runs.incrementAndGet();
            throw first;
        });
        f.onSignal(runs::incrementAndGet);
        f.onSignal(() -> {
            runs.incrementAndGet();
            throw second;
        });
        RuntimeException thrown = assertThrows(RuntimeException.class, f::signal);
        assertSame(first, thrown);
        assertEquals(1, thrown.getSuppressed().length);
        assertSame(second, thrown.getSuppressed()[0]);
        assertEquals(3, runs.get());
        assertTrue(f.isSignaled(), "signaled regardless of the actions");
    }

    @Test
    void nullArgumentsThrowNullPointerException() {
        Fence f = new Fence();
        assertThrows(NullPointerException.class, () -> f.await(null));
        assertThrows(NullPointerException.class, () -> f.onSignal(null));
        assertThrows(NullPointerException.class, () -> f.signal(null));
        assertFalse(f.isSignaled(), "a rejected call changes nothing");
        f.signal();
        assertThrows(NullPointerException.class, () -> f.await(null));
        assertThrows(NullPointerException.class, () -> f.onSignal(null));
    }

    @Test
    void fencesAreIndependent() {
        Fence a = new Fence();
        Fence b = new Fence();
        assertNotSame(a, b);
        a.signal();
        assertTrue(a.isSignaled());
        assertFalse(b.isSignaled());
    }
}
