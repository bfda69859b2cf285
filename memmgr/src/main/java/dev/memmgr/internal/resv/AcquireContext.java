package dev.memmgr.internal.resv;

import java.util.Arrays;
import java.util.Collection;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * A ww acquire context (ww_acquire_ctx): locks several reservations without deadlock, and the
 * engine of the public {@code Exec}. Each context gets a stamp when created; the smaller stamp is
 * the older context and wins: a context that would wait for an older one dies
 * ({@link WouldDeadlockException}), {@link #backOff(Resv) backs off} and retries, keeping its
 * stamp, so it ends up the oldest and cannot starve.
 *
 * <p>The context belongs to the thread that created it (a reservation held through it counts as
 * held by that thread) and is used by that thread only. It remembers, in locking order, the
 * <em>key</em> of each reservation it holds: the reservation itself for a context made with
 * {@code new}, or what the caller of {@link #open(Function)} chose (the public
 * {@code Reservation}, for {@code Exec}) with the function that gives its reservation back: one
 * reference stored per lock (each reference store pays a garbage-collector write barrier), and
 * what {@code Exec.locked()} lists needs no second list. After a back-off, the contended
 * reservation is held but <em>unclaimed</em>: the next {@link #lock(Resv, Object)} of it returns
 * true and puts it in the list at that point; one not claimed again is released by
 * {@link #releaseUnclaimed()}.
 *
 * <pre>{@code
 * try (AcquireContext ctx = new AcquireContext()) {
 *     ctx.lockAll(List.of(a, b, c));   // backs off and retries on contention (see lockAll)
 *     ... validate, add fences ...
 * }                                    // close() unlocks everything
 * }</pre>
 *
 * <p><b>Reuse.</b> {@link #open(Function)} hands out the calling thread's reusable context (with
 * a new stamp) when it is closed, and a new one otherwise. Besides saving the allocation of a
 * context and its array per use, this keeps the owner token that each lock's CAS writes into a
 * reservation as long-lived as the Thread a plain lock writes: a just-allocated object written
 * into long-lived (old) reservations takes G1's card-marking slow path on every lock, measured
 * at 1.7x of 64 plain lock/unlock pairs for a 64-lock Exec, against 1.1x with the reused
 * context (bench ExecBench). A context is only ever the owner of locks during its current use
 * (close unlocks everything), so a waiter that finds it as the owner reads the stamp of that
 * use. Whoever keeps a reference to a closed context (a closed Exec) must not use it again.
 *
 * <p>Allocation: none per lock (one array of keys, for 16 at first, that grows by doubling).
 * Not thread-safe: the owner thread only; other threads get IllegalStateException.
 */
public final class AcquireContext implements AutoCloseable {
    private static final AtomicLong STAMPS = new AtomicLong();

    private static final Object[] NONE = {};
    /** A reusable context whose array grew past this many keys gets a small one again. */
    private static final int KEEP_KEYS = 512;
    /** The keys of a context made with {@code new} are the reservations. */
    private static final Function<Object, Resv> RESV_KEYS = key -> (Resv) key;
    /** Each thread's reusable context (see "Reuse"). */
    private static final ThreadLocal<AcquireContext> REUSABLE = new ThreadLocal<>();

    /** Smaller is older; a new one for each use of a reusable context. Volatile: read by waiters. */
    private volatile long stamp = STAMPS.incrementAndGet();
    private final Thread thread = Thread.currentThread();
    private final boolean reusable;
    /** The reservation of a key. */
    private Function<Object, Resv> resvOf = RESV_KEYS;
    /**
     * The keys of the held (claimed) reservations, in locking order; {@code count} of them. Slots
     * past {@code count} may keep stale keys until overwritten (unlocking does not clear them, to
     * keep the loop lean); {@link #close()} clears them.
     */
    private Object[] held = new Object[16];
    private int count;
    /** The highest {@code count} since the slots were last cleared. */
    private int used;
    /** Held after a back-off and not yet claimed by {@link #lock}; or null. */
    private Resv prelocked;
    private boolean closed;

    /** Creates a context owned by the calling thread, younger than every context created before. */
    public AcquireContext() {
        this(false);
    }

    private AcquireContext(boolean reusable) {
        this.reusable = reusable;
    }

    /**
     * Opens a context for the calling thread: its reusable one if that is closed (see "Reuse"),
     * else a new one. Either way younger than every context opened or created before.
     *
     * @param resvOf the reservation of each key given to {@link #lock(Resv, Object)}
     * @return an open context owned by the calling thread
     */
    public static AcquireContext open(Function<Object, Resv> resvOf) {
        AcquireContext c = REUSABLE.get();
        if (c == null) {
            c = new AcquireContext(true);
            REUSABLE.set(c);
        } else if (!c.closed) {
            c = new AcquireContext(); // the reusable one is in use: nested contexts each get their own
        } else {
            c.stamp = STAMPS.incrementAndGet();
            c.closed = false;
        }
        c.resvOf = resvOf;
        return c;
    }

    /** @return the thread that owns this context */
    Thread thread() {
        return thread;
    }

    /** @return whether this context is older (wins) than {@code other} */
    boolean isOlderThan(AcquireContext other) {
        return stamp < other.stamp;
    }

    /**
     * Locks a reservation (ww_mutex_lock), waiting for younger contexts and plain holders.
     *
     * @param resv the reservation
     * @param key what to remember for it, returned by {@link #key(int)}: the reservation itself,
     *     or a key whose reservation, by the function given to {@link #open(Function)}, is
     *     {@code resv}
     * @return true if locked now (or the unclaimed one after a back-off, claimed now), false if
     *     this context already holds it
     * @throws WouldDeadlockException if an older context holds it or waits for it first: call
     *     {@link #backOff(Resv)} with {@link WouldDeadlockException#contended()}, then retry
     * @throws IllegalStateException if the thread holds it outside this context, if the context
     *     is closed, or if called from another thread
     */
    public boolean lock(Resv resv, Object key) {
        checkUsable();
        assert resvOf.apply(key) == resv : "key of another reservation";
        if (resv == prelocked) {
            prelocked = null;
        } else if (!resv.lock(this)) {
            return false;
        }
        append(key);
        return true;
    }

    /**
     * Backs off after {@link WouldDeadlockException}: unlocks everything, then waits for
     * {@code contended} holding nothing (ww_mutex_lock_slow, which cannot die). It is then held
     * unclaimed (see the class comment).
     *
     * @param contended the reservation of the {@link WouldDeadlockException}
     * @throws IllegalStateException if the thread holds {@code contended} outside this context,
     *     if the context is closed, or if called from another thread
     */
    public void backOff(Resv contended) {
        checkUsable();
        unlockAll();
        contended.lockSlow(this);
        prelocked = contended;
    }

    /**
     * Locks every reservation of {@code resvs} (each its own key), backing off and retrying
     * on contention until all are held: the retry loop of drm_exec for a fixed set. Duplicates are
     * allowed.
     *
     * <pre>{@code
     * retry:
     * while (true) {
     *     for (Resv r : resvs) {
     *         try {
     *             lock(r, r);
     *         } catch (WouldDeadlockException e) {
     *             backOff(e.contended());   // drops everything, waits for the contended one
     *             continue retry;
     *         }
     *     }
     *     releaseUnclaimed();
     *     return;
     * }
     * }</pre>
     *
     * @param resvs the reservations, in locking order
     * @throws IllegalStateException as {@link #lock(Resv, Object)}, after unlocking everything
     */
    public void lockAll(Collection<Resv> resvs) {
        if (resvOf != RESV_KEYS) {
            throw new IllegalStateException("lockAll needs a context whose keys are the reservations");
        }
        retry:
        while (true) {
            for (Resv r : resvs) {
                try {
                    lock(r, r);
                } catch (WouldDeadlockException e) {
                    backOff(e.contended());
                    continue retry;
                } catch (RuntimeException | Error e) {
                    unlockAll();
                    throw e;
                }
            }
            releaseUnclaimed();
            return;
        }
    }

    /** Releases the reservation held since the last back-off if it was not claimed again. */
    public void releaseUnclaimed() {
        Resv p = prelocked;
        if (p != null) {
            prelocked = null;
            p.unlockFor(this);
        }
    }

    /**
     * Counts the claimed reservations.
     *
     * @return how many reservations this context holds and has claimed
     */
    public int size() {
        return count;
    }

    /**
     * Returns a key, in locking order.
     *
     * @param i the index, 0 for the first reservation claimed
     * @return the key of the {@code i}-th claimed reservation
     */
    public Object key(int i) {
        if (i < 0 || i >= count) {
            throw new IndexOutOfBoundsException(i);
        }
        return held[i];
    }

    /** Unlocks every reservation this context holds, the unclaimed one included; newest first. */
    public void unlockAll() {
        checkThread();
        if (count > used) {
            used = count;
        }
        Object[] h = held;
        Function<Object, Resv> r = resvOf;
        for (int i = count - 1; i >= 0; i--) {
            count = i;
            r.apply(h[i]).unlockFor(this); // the slot is overwritten by the next append
        }
        releaseUnclaimed();
    }

    /**
     * Unlocks everything (ww_acquire_fini) and drops the references kept in the slots; the
     * context cannot lock again (a reusable one may be handed out again by {@link #open(Function)}).
     * Idempotent.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        unlockAll();
        if (!reusable) {
            held = NONE;
        } else if (held.length > KEEP_KEYS) {
            held = new Object[16];
        } else {
            Arrays.fill(held, 0, used, null);
        }
        used = 0;
        resvOf = RESV_KEYS;
        closed = true;
    }

    /**
     * Tells whether the context is closed.
     *
     * @return whether {@link #close()} was called
     */
    public boolean isClosed() {
        return closed;
    }

    /** Called by {@link Resv#unlock()} when the owner thread unlocks one of ours directly. */
    void released(Resv resv) {
        if (resv == prelocked) {
            prelocked = null;
            return;
        }
        for (int i = count - 1; i >= 0; i--) {
            if (resvOf.apply(held[i]) == resv) {
                System.arraycopy(held, i + 1, held, i, count - i - 1);
                held[--count] = null;
                return;
            }
        }
    }

    private void append(Object key) {
        Object[] h = held;
        int i = count;
        if (i == h.length) {
            held = h = Arrays.copyOf(h, 2 * i);
        }
        h[i] = key;
        count = i + 1;
    }

    private void checkUsable() {
        checkThread();
        if (closed) {
            throw new IllegalStateException("acquire context closed");
        }
    }

    private void checkThread() {
        if (Thread.currentThread() != thread) {
            throw new IllegalStateException("acquire context used by a thread that does not own it");
        }
    }

    @Override
    public String toString() {
        return "AcquireContext[stamp " + stamp + ", " + count + " held" + (prelocked != null ? " + 1 unclaimed" : "") + "]";
    }
}
