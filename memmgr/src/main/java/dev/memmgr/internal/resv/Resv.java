package dev.memmgr.internal.resv;

import dev.memmgr.Fence;
import dev.memmgr.FenceUsage;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;

/**
 * A buffer's reservation (dma_resv): a wait-die ww-mutex and the fences of work on the buffer.
 *
 * <p><b>Lock.</b> Not reentrant. Uncontended lock and unlock are one CAS and one volatile write;
 * contended waiters sleep on this object's monitor and are woken by unlock. Locking without an
 * {@link AcquireContext} is a plain mutex. Locking with one follows wait-die: a context asking
 * for a reservation held by an <em>older</em> context gets {@link WouldDeadlockException} and
 * must back off; an older one waits for a younger one. So waits only ever go from older to
 * younger and contexts cannot deadlock among themselves. A waiting context re-checks whenever
 * the holder changes.
 *
 * <p><b>Fences.</b> Kept in a small array guarded by this object's monitor; signaled fences are
 * pruned when new ones are added. {@link #addFence} may be called with or without the lock held.
 *
 * <p>Lock order: reservations (ww class) before the LRU lock, the frame allocator lock and the
 * swap allocator lock. Reclaim only ever try-locks a reservation.
 */
public final class Resv {
    private static final VarHandle OWNER;

    static {
        try {
            OWNER = MethodHandles.lookup().findVarHandle(Resv.class, "owner", Thread.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private volatile Thread owner;
    private volatile AcquireContext ownerCtx;
    /** Threads sleeping in {@link #lock}; written under the monitor, read by unlock without it. */
    private volatile int waiters;
    /** Fence, usage, fence, usage, ... (guarded by the monitor; null until the first fence). */
    private Object[] fences;
    private int fenceCount;

    // ---- lock ------------------------------------------------------------------------------

    /** @return whether the calling thread holds the lock */
    public boolean isHeldByCurrentThread() {
        return owner == Thread.currentThread();
    }

    /** @return whether any thread holds the lock (a snapshot) */
    public boolean isLocked() {
        return owner != null;
    }

    /**
     * Takes the lock if it is free. Never blocks; false if any thread holds it, the caller
     * included (the lock is not reentrant).
     */
    public boolean tryLock() {
        return OWNER.compareAndSet(this, (Thread) null, Thread.currentThread());
    }

    /**
     * Takes the lock, waiting as long as needed. Waiting is not interruptible: an interrupt is
     * remembered and the interrupt status set again once the lock is taken.
     *
     * @throws IllegalStateException if the calling thread already holds it
     */
    public void lock() {
        Thread me = Thread.currentThread();
        if (owner == me) {
            throw new IllegalStateException("reservation already held by this thread (not reentrant)");
        }
        if (!OWNER.compareAndSet(this, (Thread) null, me)) {
            waitFor(me, null, false);
        }
    }

    /** Shim until the fair lock lands: lock() that gives up when giveUp turns true. */
    public boolean lockUnless(java.util.function.BooleanSupplier giveUp) {
        Thread me = Thread.currentThread();
        if (owner == me) {
            throw new IllegalStateException("reservation already held by this thread (not reentrant)");
        }
        if (OWNER.compareAndSet(this, (Thread) null, me)) {
            return true;
        }
        boolean interrupted = false;
        try {
            synchronized (this) {
                waiters++;
                try {
                    while (true) {
                        if (OWNER.compareAndSet(this, (Thread) null, me)) {
                            return true;
                        }
                        if (giveUp.getAsBoolean()) {
                            return false;
                        }
                        try {
                            wait();
                        } catch (InterruptedException e) {
                            interrupted = true;
                        }
                    }
                } finally {
                    waiters--;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Shim: wakes every waiter so that it re-checks its give-up condition. */
    public void wakeWaiters() {
        synchronized (this) {
            notifyAll();
        }
    }

    /**
     * Releases the lock.
     *
     * @throws IllegalStateException if the calling thread does not hold it
     */
    public void unlock() {
        if (owner != Thread.currentThread()) {
            throw new IllegalStateException("reservation not held by this thread");
        }
        AcquireContext ctx = ownerCtx;
        if (ctx != null) {
            ctx.released(this);
            ownerCtx = null;
        }
        owner = null;
        if (waiters > 0) {
            synchronized (this) {
                notifyAll();
            }
        }
    }

    /**
     * Wait-die lock within an acquire context.
     *
     * @return true if taken now, false if the context already holds it (-EALREADY)
     * @throws WouldDeadlockException if an older context holds it: back off and retry
     * @throws IllegalStateException if this thread holds it outside the context
     */
    boolean lock(AcquireContext ctx) {
        Thread me = Thread.currentThread();
        if (owner == me) {
            if (ownerCtx == ctx) {
                return false;
            }
            throw new IllegalStateException("reservation already held by this thread outside the acquire context");
        }
        if (OWNER.compareAndSet(this, (Thread) null, me)) {
            acquiredBy(ctx);
            return true;
        }
        waitFor(me, ctx, true);
        return true;
    }

    /** Waits for the lock within a context that holds nothing (it cannot take part in a deadlock). */
    void lockSlow(AcquireContext ctx) {
        Thread me = Thread.currentThread();
        if (owner == me) {
            throw new IllegalStateException("reservation already held by this thread");
        }
        if (!OWNER.compareAndSet(this, (Thread) null, me)) {
            waitFor(me, ctx, false);
        } else {
            acquiredBy(ctx);
        }
    }

    private void acquiredBy(AcquireContext ctx) {
        ownerCtx = ctx;
        ctx.acquired(this);
        if (waiters > 0) {
            synchronized (this) {
                notifyAll(); // waiting contexts re-check wait-die against the new holder
            }
        }
    }

    private void waitFor(Thread me, AcquireContext ctx, boolean mayDie) {
        boolean interrupted = false;
        synchronized (this) {
            waiters++;
            try {
                while (true) {
                    if (OWNER.compareAndSet(this, (Thread) null, me)) {
                        break;
                    }
                    AcquireContext holder = ownerCtx;
                    if (mayDie && holder != null && holder.isOlderThan(ctx)) {
                        throw new WouldDeadlockException(this);
                    }
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
            } finally {
                waiters--;
            }
        }
        if (ctx != null) {
            acquiredBy(ctx);
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- fences ----------------------------------------------------------------------------

    /**
     * Attaches a fence. Signaled fences are pruned first. With or without the lock held.
     *
     * @throws NullPointerException if fence or usage is null
     */
    public void addFence(Fence fence, FenceUsage usage) {
        Objects.requireNonNull(fence, "fence");
        Objects.requireNonNull(usage, "usage");
        synchronized (this) {
            prune();
            if (fences == null) {
                fences = new Object[4];
            } else if (2 * fenceCount + 2 > fences.length) {
                fences = Arrays.copyOf(fences, fences.length * 2);
            }
            fences[2 * fenceCount] = fence;
            fences[2 * fenceCount + 1] = usage;
            fenceCount++;
        }
    }

    /**
     * @return true when every fence of {@code usage} or a stronger usage has signaled
     *     (KERNEL &lt; WRITE &lt; READ &lt; BOOKKEEP); never blocks
     */
    public boolean isIdle(FenceUsage usage) {
        Objects.requireNonNull(usage, "usage");
        synchronized (this) {
            for (int i = 0; i < fenceCount; i++) {
                if (covers(usage, i) && !((Fence) fences[2 * i]).isSignaled()) {
                    return false;
                }
            }
            return true;
        }
    }

    /** @return whether any fence, of any usage, is unsignaled (the shrinker's "busy") */
    public boolean isBusy() {
        return !isIdle(FenceUsage.BOOKKEEP);
    }

    /**
     * Waits until {@link #isIdle(FenceUsage) isIdle(usage)}, at most {@code timeout}. Waits
     * without the monitor: fences added meanwhile are not waited for.
     *
     * @return true if idle, false on timeout (or on interrupt, with the interrupt status set)
     */
    public boolean awaitIdle(FenceUsage usage, Duration timeout) {
        Objects.requireNonNull(usage, "usage");
        Objects.requireNonNull(timeout, "timeout");
        Fence[] pending;
        synchronized (this) {
            pending = new Fence[fenceCount];
            int n = 0;
            for (int i = 0; i < fenceCount; i++) {
                Fence f = (Fence) fences[2 * i];
                if (covers(usage, i) && !f.isSignaled()) {
                    pending[n++] = f;
                }
            }
            pending = Arrays.copyOf(pending, n);
        }
        long deadline = System.nanoTime() + Timeouts.nanos(timeout);
        for (Fence f : pending) {
            long left = deadline - System.nanoTime();
            if (!f.await(Duration.ofNanos(Math.max(0, left)))) {
                return false;
            }
        }
        return true;
    }

    private boolean covers(FenceUsage query, int i) {
        return ((FenceUsage) fences[2 * i + 1]).ordinal() <= query.ordinal();
    }

    private void prune() {
        int kept = 0;
        for (int i = 0; i < fenceCount; i++) {
            if (!((Fence) fences[2 * i]).isSignaled()) {
                fences[2 * kept] = fences[2 * i];
                fences[2 * kept + 1] = fences[2 * i + 1];
                kept++;
            }
        }
        for (int i = 2 * kept; i < 2 * fenceCount; i++) {
            fences[i] = null;
        }
        fenceCount = kept;
    }
}
