package dev.memmgr.internal.resv;

import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

/** Bounded cross-thread helpers for the resv tests: no bare sleeps, every wait has a limit. */
final class Threads {
    /** How long a test waits at most for something that must happen. */
    static final Duration LONG_WAIT = Duration.ofSeconds(20);

    private Threads() {
    }

    /** A started daemon thread running {@code task}, with its result. */
    record Started<T>(Thread thread, CompletableFuture<T> result) {
        /** Waits (bounded) for the result; rethrows what the task threw, unwrapped. */
        T join() {
            return Threads.join(result);
        }

        /** Waits (bounded) until the thread is parked or waiting (queued for a lock, say). */
        Started<T> awaitParked() {
            awaitCondition(() -> {
                Thread.State s = thread.getState();
                return s == Thread.State.WAITING || s == Thread.State.TIMED_WAITING || result.isDone();
            }, thread.getName() + " parked");
            if (result.isDone()) {
                fail(thread.getName() + " finished instead of waiting: " + result);
            }
            return this;
        }
    }

    static <T> Started<T> start(String name, Callable<T> task) {
        CompletableFuture<T> f = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                f.complete(task.call());
            } catch (Throwable e) {
                f.completeExceptionally(e);
            }
        }, name);
        t.setDaemon(true);
        t.start();
        return new Started<>(t, f);
    }

    static <T> T join(CompletableFuture<T> f) {
        try {
            return f.get(LONG_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException r) {
                throw r;
            }
            if (c instanceof Error err) {
                throw err;
            }
            throw new AssertionError(c);
        } catch (TimeoutException e) {
            return fail("the other thread did not finish within " + LONG_WAIT);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return fail("interrupted");
        }
    }

    /** Runs {@code task} in another thread and returns its result (bounded wait). */
    static <T> T inOtherThread(Callable<T> task) {
        return start("resv-test-other", task).join();
    }

    /** Polls {@code condition} until true, at most {@link #LONG_WAIT}; fails otherwise. */
    static void awaitCondition(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + LONG_WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                fail("timed out waiting for: " + what);
            }
            Thread.onSpinWait();
            Thread.yield();
        }
    }
}
