package dev.memmgr.internal.reclaim;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;
import java.util.function.LongUnaryOperator;

/**
 * Background reclaim (kswapd): a daemon thread that sleeps until {@link #wake()} (called by
 * allocations that leave free frames below the low watermark), then reclaims until the free
 * frames reach the high watermark or nothing more can be reclaimed. After a pass that freed
 * nothing it retries while free frames stay below the low watermark, backing off from 5 ms to
 * 1 s between passes (wakes during a back-off wait for its end): objects locked or busy now may
 * be reclaimable soon, and allocations under a working set it cannot shrink at all (everything
 * pinned) must not make it scan continuously.
 *
 * <p>Thread-safe. {@link #wake()} is cheap when the thread is already awake.
 */
public final class ReclaimThread {
    private static final long MIN_BACKOFF_NANOS = TimeUnit.MILLISECONDS.toNanos(5);
    private static final long MAX_BACKOFF_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final Thread thread;
    private final LongSupplier deficit;
    private final BooleanSupplier belowLow;
    private final LongUnaryOperator reclaim;
    private volatile boolean pending;
    private volatile boolean stopped;
    private volatile long passes;

    /**
     * @param name the thread's name
     * @param deficit frames missing to the high watermark (0 or less when none)
     * @param belowLow whether free frames are below the low watermark
     * @param reclaim runs the shrinker for a target of frames and returns the frames freed
     */
    public ReclaimThread(String name, LongSupplier deficit, BooleanSupplier belowLow, LongUnaryOperator reclaim) {
        this.deficit = deficit;
        this.belowLow = belowLow;
        this.reclaim = reclaim;
        this.thread = new Thread(this::run, name);
        thread.setDaemon(true);
    }

    /** Starts the thread. */
    public void start() {
        thread.start();
    }

    /** Asks for a reclaim pass; returns at once. */
    public void wake() {
        if (!pending) {
            pending = true;
            LockSupport.unpark(thread);
        }
    }

    /** @return completed passes (tests wait on it with bounded polling) */
    public long passes() {
        return passes;
    }

    /** Stops the thread and waits for it (bounded); idempotent. */
    public void stop() {
        stopped = true;
        LockSupport.unpark(thread);
        if (thread.isAlive() && thread != Thread.currentThread()) {
            try {
                thread.join(TimeUnit.SECONDS.toMillis(30));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void run() {
        long backoff = 0;
        long notBefore = 0;
        while (!stopped) {
            if (!pending && !(backoff > 0 && belowLow.getAsBoolean())) {
                LockSupport.park(this);
                continue;
            }
            long wait = notBefore - System.nanoTime();
            if (wait > 0) {
                LockSupport.parkNanos(this, wait);
                continue;
            }
            pending = false;
            boolean progress = false;
            try {
                long need;
                while (!stopped && (need = deficit.getAsLong()) > 0) {
                    long got = reclaim.applyAsLong(need);
                    if (got <= 0) {
                        break;
                    }
                    progress = true;
                }
            } catch (RuntimeException e) {
                System.getLogger("dev.memmgr").log(System.Logger.Level.WARNING, "background reclaim failed", e);
            }
            passes++;
            if (progress) {
                backoff = 0;
                notBefore = 0;
            } else {
                backoff = backoff == 0 ? MIN_BACKOFF_NANOS : Math.min(MAX_BACKOFF_NANOS, 2 * backoff);
                notBefore = System.nanoTime() + backoff;
            }
        }
    }
}
