package dev.memmgr.internal.resv;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * A buffer's reservation (dma_resv): a fair wait-die ww-mutex and the fences of work on the
 * buffer. Several buffers may share one (a GPU VM and its local objects): nothing here knows
 * about buffers.
 *
 * <h2>Lock</h2>
 *
 * <p><b>State.</b> {@code owner} is the lock word: null when free, the holding {@link Thread}
 * for a plain lock, or the holding {@link AcquireContext} (which belongs to one thread) for a
 * ww lock, so a context's lock is taken by the same single CAS as a plain one. {@code head} is a
 * FIFO queue of {@link Waiter}s, changed only under this object's monitor, whose first node's
 * {@code prev} is the last node (no tail field: a reservation per object must stay small);
 * {@code head} is volatile so that the fast paths can see "nobody queued" without the monitor.
 *
 * <p><b>Fast paths.</b> lock: {@code head == null} and one CAS of {@code owner} from null;
 * unlock: {@code head == null}, one volatile write of null to {@code owner}, and a second read
 * of {@code head}. No allocation, no monitor.
 *
 * <p><b>Hand-over (fairness).</b> Unlock with a waiter queued does not free the lock: under the
 * monitor it dequeues the longest-waiting waiter, makes it the owner, marks it granted and
 * unparks it. The unlocking thread cannot re-take the lock ahead of it, and no arriving thread
 * can either, since the fast paths only take a lock that is free with nobody queued. So a thread
 * that needs many locks waits, for each, at most for the waiters queued before it (issue 9,
 * defect 9: it used to be starved by threads re-taking one lock). The only overtaking left is
 * the unavoidable race of a fair lock: a thread whose fast path read {@code head == null} just
 * before a waiter queued may take the lock that was being released at that moment (as with the
 * fair {@code ReentrantLock}); it overtakes that waiter once.
 *
 * <p><b>The release race.</b> An unlocker that saw no waiter writes null and then reads
 * {@code head} again; a waiter writes {@code head} (queues) and then reads {@code owner}. Both are
 * volatile, so at least one of them sees the other: the waiter finds the lock free and grants it
 * to the head of the queue itself, or the unlocker sees the queue and does so under the monitor
 * ({@link #grantFreeLocked()}). Either way the lock never stays free with a waiter parked.
 *
 * <p><b>Wait-die.</b> A waiter with a context that may die ({@link #lock(AcquireContext)})
 * dies, with {@link WouldDeadlockException}, when the owner or any waiter queued ahead of it is an
 * older context: it would wait for an older context, and waits must only go from older to younger
 * for contexts never to deadlock among themselves. It checks when it queues and, woken by
 * {@link #signalDoomedLocked()}, whenever the owner changes under the monitor (hand-overs and
 * the release race). A context that backs off waits with {@link #lockSlow(AcquireContext)},
 * holding nothing, and never dies. A waiter that was granted the lock before it could die keeps
 * it (it no longer waits).
 *
 * <p><b>Giving up.</b> {@link #lockUnless(BooleanSupplier)} waiters re-check their condition when
 * they queue and each time they are woken; {@link #wakeWaiters()} wakes them all (the gem layer
 * calls it when an object is freed or its manager closes). A waiter that leaves (gives up, or
 * its condition throws) after the lock was already handed to it passes it on to the next waiter,
 * so no hand-over is lost. Plain {@link #lock()} waiters are never woken by it.
 *
 * <p><b>Interrupts.</b> Waiting is not interruptible; an interrupt is remembered and the
 * interrupt status set again when the call returns or throws.
 *
 * <h2>Fences</h2>
 *
 * <p>Kept in two small arrays (fence, usage) guarded by the monitor; signaled fences are pruned
 * when new ones are added. {@link #addFence} may be called with or without the lock held.
 *
 * <p>Lock order: reservations (ww class) before the LRU lock, the frame allocator lock and the
 * swap allocator lock. Reclaim only ever try-locks a reservation. The monitor of this object is
 * a leaf: nothing is called while it is held except unpark.
 */
public final class Resv {
    private static final VarHandle OWNER;

    static {
        try {
            OWNER = MethodHandles.lookup().findVarHandle(Resv.class, "owner", Object.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** null (free), the holding Thread, or the holding AcquireContext. */
    private volatile Object owner;
    /** Longest-waiting waiter; written under the monitor, read without it by the fast paths. */
    private volatile Waiter head;
    /** Fences and their usages, {@code fenceCount} of each; guarded by the monitor; null until the first. */
    private FenceCore[] fences;
    private Usage[] usages;
    private int fenceCount;

    /** Creates a free reservation without fences. */
    public Resv() {
    }

    /** A thread queued for the lock. Links guarded by the monitor of its Resv. */
    private static final class Waiter {
        final Thread thread;
        /** What {@code owner} becomes when the lock is handed to this waiter. */
        final Object token;
        /** The waiter's context, or null for a plain waiter. */
        final AcquireContext ctx;
        /** Whether wait-die applies (a context locking with {@link Resv#lock(AcquireContext)}). */
        final boolean mayDie;
        /** The condition of {@link Resv#lockUnless}, or null. */
        final BooleanSupplier giveUp;
        Waiter prev;
        Waiter next;
        /** Set (after {@code owner}) by the thread that hands the lock over. */
        volatile boolean granted;

        Waiter(Thread thread, Object token, AcquireContext ctx, boolean mayDie, BooleanSupplier giveUp) {
            this.thread = thread;
            this.token = token;
            this.ctx = ctx;
            this.mayDie = mayDie;
            this.giveUp = giveUp;
        }
    }

    // ---- lock: queries ---------------------------------------------------------------------

    /**
     * Tells whether the calling thread holds the lock.
     *
     * @return whether the calling thread holds the lock, plainly or through an acquire context
     */
    public boolean isHeldByCurrentThread() {
        return heldBy(owner, Thread.currentThread());
    }

    /**
     * Tells whether any thread holds the lock.
     *
     * @return whether any thread holds the lock (a snapshot)
     */
    public boolean isLocked() {
        return owner != null;
    }

    /**
     * Tells whether any thread is queued for the lock.
     *
     * @return whether any thread is queued for the lock (a snapshot)
     */
    public boolean hasWaiters() {
        return head != null;
    }

    private static boolean heldBy(Object o, Thread t) {
        return o == t || (o instanceof AcquireContext c && c.thread() == t);
    }

    // ---- lock: plain -----------------------------------------------------------------------

    /**
     * Takes the lock if it is free and nobody is queued for it. Never blocks; false if any thread
     * holds it, the caller included (the lock is not reentrant), or waits for it.
     *
     * @return whether the lock is now held by the calling thread
     */
    public boolean tryLock() {
        return head == null && OWNER.compareAndSet(this, (Object) null, Thread.currentThread());
    }

    /**
     * Takes the lock, waiting behind every thread queued before this one. Not interruptible (see
     * the class comment).
     *
     * @throws IllegalStateException if the calling thread already holds it
     */
    public void lock() {
        Thread me = Thread.currentThread();
        if (head == null && OWNER.compareAndSet(this, (Object) null, me)) {
            return;
        }
        checkNotHeld(me);
        await(me, me, null, false, null);
    }

    /**
     * Like {@link #lock()}, but gives up: returns false, without the lock, when {@code giveUp} is
     * true before waiting or becomes true while waiting. A free lock is taken without asking
     * {@code giveUp}; while waiting it is asked again each time the thread is woken, in
     * particular by {@link #wakeWaiters()}. The caller re-checks its condition under the lock if
     * it matters.
     *
     * @param giveUp when to stop waiting; called by the waiting thread, without the monitor
     * @return true if the lock is now held, false if the caller gave up
     * @throws IllegalStateException if the calling thread already holds it
     * @throws NullPointerException if giveUp is null
     */
    public boolean lockUnless(BooleanSupplier giveUp) {
        Objects.requireNonNull(giveUp, "giveUp");
        Thread me = Thread.currentThread();
        if (head == null && OWNER.compareAndSet(this, (Object) null, me)) {
            return true;
        }
        checkNotHeld(me);
        return await(me, me, null, false, giveUp);
    }

    /**
     * Wakes every {@link #lockUnless(BooleanSupplier)} waiter so that it asks its condition again.
     * Plain and context waiters keep waiting.
     */
    public void wakeWaiters() {
        if (head == null) {
            return;
        }
        synchronized (this) {
            for (Waiter w = head; w != null; w = w.next) {
                if (w.giveUp != null) {
                    LockSupport.unpark(w.thread);
                }
            }
        }
    }

    /**
     * Releases the lock, handing it to the longest-waiting thread if any. A lock held through an
     * acquire context may be released here too: the context forgets it.
     *
     * @throws IllegalStateException if the calling thread does not hold it
     */
    public void unlock() {
        Object o = owner;
        Thread me = Thread.currentThread();
        if (o != me) {
            if (!(o instanceof AcquireContext c) || c.thread() != me) {
                throw new IllegalStateException("reservation not held by this thread");
            }
            c.released(this);
        }
        release();
    }

    private void checkNotHeld(Thread me) {
        Object o = owner;
        if (heldBy(o, me)) {
            throw new IllegalStateException(o == me
                    ? "reservation already held by this thread (not reentrant)"
                    : "reservation already held by this thread through an acquire context");
        }
    }

    // ---- lock: acquire contexts (called by AcquireContext in its thread) -------------------

    /**
     * Wait-die lock for a context (ww_mutex_lock).
     *
     * @return true if taken now, false if the context already holds it (-EALREADY)
     * @throws WouldDeadlockException if an older context holds it or waits for it ahead of this one
     * @throws IllegalStateException if the context's thread holds it otherwise
     */
    boolean lock(AcquireContext ctx) {
        if (head == null && OWNER.compareAndSet(this, (Object) null, ctx)) {
            return true;
        }
        if (owner == ctx) {
            return false;
        }
        checkNotHeld(ctx.thread());
        await(ctx.thread(), ctx, ctx, true, null);
        return true;
    }

    /** Waits for the lock for a context that holds nothing (ww_mutex_lock_slow): never dies. */
    void lockSlow(AcquireContext ctx) {
        if (head == null && OWNER.compareAndSet(this, (Object) null, ctx)) {
            return;
        }
        checkNotHeld(ctx.thread());
        await(ctx.thread(), ctx, ctx, false, null);
    }

    /** Releases a lock held by {@code ctx}, which forgets it itself. */
    void unlockFor(AcquireContext ctx) {
        if (owner != ctx) {
            throw new IllegalStateException("reservation not held by this acquire context");
        }
        release();
    }

    // ---- lock: the slow paths --------------------------------------------------------------

    /** Releases a lock the calling thread holds. */
    private void release() {
        if (head == null) {
            owner = null;
            if (head == null) {
                return;
            }
            synchronized (this) {
                grantFreeLocked(); // a waiter queued while we released: see "the release race"
            }
        } else {
            synchronized (this) {
                handOffLocked();
            }
        }
    }

    /** The caller owns the lock: hands it to the head of the queue, or frees it if nobody waits. */
    private void handOffLocked() {
        Waiter w = head;
        if (w == null) {
            owner = null;
            return;
        }
        dequeueHeadLocked();
        owner = w.token;
        w.granted = true;
        LockSupport.unpark(w.thread);
        signalDoomedLocked();
    }

    /** Grants a free lock to the head of the queue, if there is one and the lock is still free. */
    private void grantFreeLocked() {
        Waiter w = head;
        if (w != null && OWNER.compareAndSet(this, (Object) null, w.token)) {
            dequeueHeadLocked();
            w.granted = true;
            if (w.thread != Thread.currentThread()) {
                LockSupport.unpark(w.thread);
            }
        }
        signalDoomedLocked(); // the owner changed (to the head, or to a thread that overtook it)
    }

    /**
     * Waits in the queue until the lock is handed over.
     *
     * @return true once this thread owns the lock ({@code token}); false if {@code giveUp} said so
     */
    private boolean await(Thread me, Object token, AcquireContext ctx, boolean mayDie, BooleanSupplier giveUp) {
        if (giveUp != null && giveUp.getAsBoolean()) {
            return false;
        }
        Waiter w = new Waiter(me, token, ctx, mayDie, giveUp);
        synchronized (this) {
            if (head == null && OWNER.compareAndSet(this, (Object) null, token)) {
                return true;
            }
            enqueueLocked(w);
            if (owner == null) {
                grantFreeLocked();
            }
            if (!w.granted && mayDie && mustDieLocked(w)) {
                unlinkLocked(w);
                throw new WouldDeadlockException(this);
            }
        }
        boolean interrupted = false;
        try {
            while (!w.granted) {
                if (giveUp != null && askGiveUp(w)) {
                    return false;
                }
                LockSupport.park(this);
                if (Thread.interrupted()) {
                    interrupted = true;
                }
                if (mayDie && !w.granted) {
                    synchronized (this) {
                        if (!w.granted && mustDieLocked(w)) {
                            unlinkLocked(w);
                            throw new WouldDeadlockException(this);
                        }
                    }
                }
            }
            return true;
        } finally {
            if (interrupted) {
                me.interrupt();
            }
        }
    }

    /** Asks a queued waiter's condition; if true (or if it throws) the waiter leaves the queue. */
    private boolean askGiveUp(Waiter w) {
        boolean stop;
        try {
            stop = w.giveUp.getAsBoolean();
        } catch (RuntimeException | Error e) {
            leave(w);
            throw e;
        }
        if (stop) {
            leave(w);
        }
        return stop;
    }

    /** A waiter stops waiting: it leaves the queue, or passes the lock on if it was handed over already. */
    private void leave(Waiter w) {
        synchronized (this) {
            if (w.granted) {
                handOffLocked();
            } else {
                unlinkLocked(w);
            }
        }
    }

    /** @return whether waiter {@code w} would wait for an older context: the owner or one queued ahead */
    private boolean mustDieLocked(Waiter w) {
        AcquireContext me = w.ctx;
        if (owner instanceof AcquireContext o && o.isOlderThan(me)) {
            return true;
        }
        for (Waiter x = head; x != w && x != null; x = x.next) {
            if (x.ctx != null && x.ctx.isOlderThan(me)) {
                return true;
            }
        }
        return false;
    }

    /** The owner changed: wakes every waiter that must now die so that it re-checks and backs off. */
    private void signalDoomedLocked() {
        Waiter x = head;
        if (x == null) {
            return;
        }
        AcquireContext oldest = owner instanceof AcquireContext o ? o : null;
        for (; x != null; x = x.next) {
            if (x.mayDie && oldest != null && oldest.isOlderThan(x.ctx)) {
                LockSupport.unpark(x.thread);
            }
            if (x.ctx != null && (oldest == null || x.ctx.isOlderThan(oldest))) {
                oldest = x.ctx;
            }
        }
    }

    // The queue: head.prev is the last waiter (head's own when alone); other nodes' prev is
    // their predecessor; the last one's next is null. Unlinked nodes have null links.

    private void enqueueLocked(Waiter w) {
        Waiter h = head;
        w.next = null;
        if (h == null) {
            w.prev = w;
            head = w;
        } else {
            Waiter last = h.prev;
            w.prev = last;
            last.next = w;
            h.prev = w;
        }
    }

    private void dequeueHeadLocked() {
        Waiter w = head;
        Waiter n = w.next;
        if (n != null) {
            n.prev = w.prev; // the last waiter
        }
        head = n;
        w.next = null;
        w.prev = null;
    }

    private void unlinkLocked(Waiter w) {
        if (w == head) {
            dequeueHeadLocked();
            return;
        }
        Waiter p = w.prev;
        Waiter n = w.next;
        p.next = n;
        if (n == null) {
            head.prev = p; // w was the last
        } else {
            n.prev = p;
        }
        w.prev = null;
        w.next = null;
    }

    // ---- fences ----------------------------------------------------------------------------

    /**
     * Attaches a fence, with or without the lock held. Signaled fences are pruned first.
     *
     * @param fence the fence
     * @param usage how its work uses the buffer
     * @throws NullPointerException if fence or usage is null (nothing is added)
     */
    public void addFence(FenceCore fence, Usage usage) {
        Objects.requireNonNull(fence, "fence");
        Objects.requireNonNull(usage, "usage");
        synchronized (this) {
            pruneLocked();
            if (fences == null) {
                fences = new FenceCore[2];
                usages = new Usage[2];
            } else if (fenceCount == fences.length) {
                fences = Arrays.copyOf(fences, fenceCount * 2);
                usages = Arrays.copyOf(usages, fenceCount * 2);
            }
            fences[fenceCount] = fence;
            usages[fenceCount] = usage;
            fenceCount++;
        }
    }

    /**
     * Attaches a fence after collecting, in the same step, the unsignaled fences it must wait for
     * (implicit sync of a job: a writer waits on every fence up to READ, a reader on WRITE and
     * KERNEL), so that two jobs attached concurrently are ordered one after the other.
     *
     * @param waitFor fences of this usage and stronger ones are collected
     * @param out receives the fences to wait for (appended)
     * @throws NullPointerException if an argument is null (nothing is added)
     */
    public void addFenceAfter(FenceCore fence, Usage usage, Usage waitFor, java.util.List<FenceCore> out) {
        Objects.requireNonNull(fence, "fence");
        Objects.requireNonNull(usage, "usage");
        Objects.requireNonNull(waitFor, "waitFor");
        Objects.requireNonNull(out, "out");
        synchronized (this) {
            for (int i = 0; i < fenceCount; i++) {
                if (usages[i].coveredBy(waitFor) && !fences[i].isSignaled() && fences[i] != fence) {
                    out.add(fences[i]);
                }
            }
            addFence(fence, usage); // reentrant monitor
        }
    }

    /**
     * Tells whether the buffer is idle for a usage; never blocks.
     *
     * @param usage the usage queried; fences of it and of every stronger one count
     * @return true when every fence of {@code usage} or a stronger usage has signaled
     *     (KERNEL &lt; WRITE &lt; READ &lt; BOOKKEEP)
     * @throws NullPointerException if usage is null
     */
    public boolean isIdle(Usage usage) {
        Objects.requireNonNull(usage, "usage");
        synchronized (this) {
            return idleLocked(usage);
        }
    }

    /** @return whether every fence of {@code usage} or a stronger one has signaled; monitor held */
    private boolean idleLocked(Usage usage) {
        for (int i = 0; i < fenceCount; i++) {
            if (usages[i].coveredBy(usage) && !fences[i].isSignaled()) {
                return false;
            }
        }
        return true;
    }

    /**
     * Tells whether the buffer is busy: the shrinker skips busy buffers.
     *
     * @return whether any fence, of any usage, is unsignaled
     */
    public boolean isBusy() {
        return !isIdle(Usage.BOOKKEEP);
    }

    /**
     * Runs {@code commit} if no fence is unsignaled, atomically with respect to
     * {@link #addFence}: since fences may be added without the lock, a fence added while an
     * eviction or purge is underway is either seen here (nothing runs: the object stays) or added
     * after {@code commit} ran (its work then finds the object evicted or purged, as if attached
     * just after). {@code commit} runs under this object's monitor: it must take no lock.
     *
     * @return whether the commit ran
     */
    public boolean commitIfIdle(Runnable commit) {
        synchronized (this) {
            if (!idleLocked(Usage.BOOKKEEP)) {
                return false;
            }
            commit.run();
            return true;
        }
    }

    /**
     * Waits until {@link #isIdle(Usage) isIdle(usage)}, at most {@code timeout}. Waits without the
     * monitor: fences added meanwhile are not waited for.
     *
     * @param usage the usage queried; fences of it and of every stronger one count
     * @param timeout how long to wait at most
     * @return true if idle, false on timeout (or on interrupt, with the interrupt status set)
     * @throws NullPointerException if usage or timeout is null
     */
    public boolean awaitIdle(Usage usage, Duration timeout) {
        Objects.requireNonNull(usage, "usage");
        Objects.requireNonNull(timeout, "timeout");
        FenceCore[] pending;
        int n = 0;
        synchronized (this) {
            pending = new FenceCore[fenceCount];
            for (int i = 0; i < fenceCount; i++) {
                if (usages[i].coveredBy(usage) && !fences[i].isSignaled()) {
                    pending[n++] = fences[i];
                }
            }
        }
        long deadline = System.nanoTime() + Timeouts.nanos(timeout);
        for (int i = 0; i < n; i++) {
            if (!pending[i].await(deadline - System.nanoTime())) {
                return false;
            }
        }
        return true;
    }

    private void pruneLocked() {
        int kept = 0;
        for (int i = 0; i < fenceCount; i++) {
            if (!fences[i].isSignaled()) {
                fences[kept] = fences[i];
                usages[kept] = usages[i];
                kept++;
            }
        }
        for (int i = kept; i < fenceCount; i++) {
            fences[i] = null;
            usages[i] = null;
        }
        fenceCount = kept;
    }

    @Override
    public String toString() {
        Object o = owner;
        return "Resv[" + (o == null ? "free" : "held") + (head != null ? ", waiters" : "") + "]";
    }
}
