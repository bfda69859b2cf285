package dev.memmgr.internal.dmabuf;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The deferred worker of the dma-buf free path: work that needs a reservation the freeing thread
 * could not try-lock runs here, in a daemon thread that holds nothing else when it waits for the
 * lock (so it cannot invert any order). One process-wide thread, started on demand and gone after
 * a second idle; tasks run in submission order. A task that throws is logged.
 *
 * <p>Thread-safe.
 */
public final class Deferred {
    private static final ThreadPoolExecutor EXECUTOR = new ThreadPoolExecutor(1, 1, 1, TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(), r -> {
                Thread t = new Thread(r, "memmgr-dmabuf-release");
                t.setDaemon(true);
                return t;
            });
    private static final AtomicLong SUBMITTED = new AtomicLong();
    private static final AtomicLong DONE = new AtomicLong();

    static {
        EXECUTOR.allowCoreThreadTimeOut(true);
    }

    private Deferred() {
    }

    static void submit(Object what, Runnable task) {
        SUBMITTED.incrementAndGet();
        EXECUTOR.execute(() -> {
            try {
                task.run();
            } catch (RuntimeException e) {
                AttachmentCore.LOG.log(System.Logger.Level.WARNING, "deferred release of " + what + " failed", e);
            } finally {
                DONE.incrementAndGet();
            }
        });
    }

    /** @return tasks handed over so far (tests) */
    public static long submitted() {
        return SUBMITTED.get();
    }

    /**
     * Waits until every task submitted so far has run (tests, and close of a manager).
     *
     * @return whether they all ran within the timeout
     */
    public static boolean drain(long timeoutMillis) {
        long target = SUBMITTED.get();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (DONE.get() < target) {
            if (System.nanoTime() - deadline > 0) {
                return false;
            }
            Thread.onSpinWait();
            Thread.yield();
        }
        return true;
    }
}
