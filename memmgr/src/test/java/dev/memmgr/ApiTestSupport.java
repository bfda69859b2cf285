package dev.memmgr;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

/**
 * Helpers shared by the public API contract tests (package dev.memmgr): small managers without
 * background reclaim, content helpers and bounded cross-thread helpers.
 */
final class ApiTestSupport {
    static final int PAGE = 4096;
    /** Capacity of the managers of {@link #newManager()}: 16 MiB, 4096 pages. */
    static final long CAPACITY = 16L << 20;
    /** How long a test waits at most for another thread that is expected to finish. */
    static final Duration LONG_WAIT = Duration.ofSeconds(10);
    /** How long a test waits for something that is expected NOT to happen (a blocked thread). */
    static final Duration SHORT_WAIT = Duration.ofMillis(50);

    private ApiTestSupport() {
    }

    /** A 16 MiB manager with 4 KiB pages, default swap, and no background reclaim. */
    static MemoryManager newManager() {
        return newManager(CAPACITY);
    }

    /** A manager of {@code capacity} bytes with 4 KiB pages, default swap, no background reclaim. */
    static MemoryManager newManager(long capacity) {
        return MemoryManager.builder().capacity(capacity).backgroundReclaim(false).build();
    }

    /** A manager of {@code capacity} bytes without swap (eviction disabled) and no background reclaim. */
    static MemoryManager newManagerNoSwap(long capacity) {
        return MemoryManager.builder().capacity(capacity).noSwap().backgroundReclaim(false).build();
    }

    /** @return a heap segment of {@code n} bytes, each {@code b} */
    static MemorySegment bytes(long n, byte b) {
        byte[] a = new byte[Math.toIntExact(n)];
        Arrays.fill(a, b);
        return MemorySegment.ofArray(a);
    }

    /** @return a heap segment holding {@code a} */
    static MemorySegment seg(byte[] a) {
        return MemorySegment.ofArray(a);
    }

    /** @return {@code n} bytes of a pattern that differs per offset and per seed (never all zero) */
    static byte[] pattern(int n, int seed) {
        byte[] a = new byte[n];
        for (int i = 0; i < n; i++) {
            a[i] = (byte) (i * 31 + seed * 7 + 1 + (i >>> 12));
        }
        return a;
    }

    /** Writes {@code b} over the whole object. */
    static void fill(BufferObject bo, byte b) {
        bo.write(0, bytes(bo.size(), b));
    }

    /** Writes {@link #pattern(int, int)} over the whole object and returns it. */
    static byte[] fillPattern(BufferObject bo, int seed) {
        byte[] p = pattern(Math.toIntExact(bo.size()), seed);
        bo.write(0, seg(p));
        return p;
    }

    /** @return the object's whole content, read with {@link BufferObject#read(long, MemorySegment)} */
    static byte[] contentOf(BufferObject bo) {
        byte[] a = new byte[Math.toIntExact(bo.size())];
        bo.read(0, seg(a));
        return a;
    }

    /** @return {@code length} bytes of the object from {@code offset} */
    static byte[] contentOf(BufferObject bo, long offset, int length) {
        byte[] a = new byte[length];
        bo.read(offset, seg(a));
        return a;
    }

    /** @return the bytes of a segment */
    static byte[] toArray(MemorySegment s) {
        return s.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
    }

    static void assertAllBytes(byte expected, byte[] actual) {
        byte[] e = new byte[actual.length];
        Arrays.fill(e, expected);
        assertArrayEquals(e, actual);
    }

    /** @return free frames of the manager, counted by the frame allocator (internal) */
    static int freeFrames(MemoryManager mm) {
        return mm.device().frames().freeFrames();
    }

    /** @return {@code n} pages in bytes */
    static long pages(long n) {
        return n * PAGE;
    }

    /** Starts {@code task} in a new daemon thread. */
    static <T> CompletableFuture<T> startInOtherThread(Callable<T> task) {
        CompletableFuture<T> f = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                f.complete(task.call());
            } catch (Throwable e) {
                f.completeExceptionally(e);
            }
        }, "api-test-other");
        t.setDaemon(true);
        t.start();
        return f;
    }

    /** Starts {@code task} in a new daemon thread. */
    static CompletableFuture<Void> startInOtherThread(Runnable task) {
        return startInOtherThread(() -> {
            task.run();
            return null;
        });
    }

    /** Runs {@code task} in another thread and returns its result (bounded wait). */
    static <T> T inOtherThread(Callable<T> task) {
        return await(startInOtherThread(task));
    }

    /** Runs {@code task} in another thread; rethrows what it threw (bounded wait). */
    static void inOtherThread(Runnable task) {
        await(startInOtherThread(task));
    }

    /** Waits (bounded) for a future that is expected to complete; rethrows its exception unwrapped. */
    static <T> T await(Future<T> f) {
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

    /** Asserts that a future does not complete within {@link #SHORT_WAIT} (the thread is blocked). */
    static void assertStillBlocked(Future<?> f, String what) {
        try {
            f.get(SHORT_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            fail(what + ": expected the other thread to block, but it finished");
        } catch (TimeoutException expected) {
            // still blocked, as it should
        } catch (ExecutionException e) {
            fail(what + ": expected the other thread to block, but it threw " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fail("interrupted");
        }
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
