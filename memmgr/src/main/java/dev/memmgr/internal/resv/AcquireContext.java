package dev.memmgr.internal.resv;

import java.util.Arrays;
import java.util.Collection;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A ww acquire context (ww_acquire_ctx): locks several reservations without deadlock, and the
 * engine of the public {@code Exec}. Each context gets a stamp when created; the smaller stamp is
 * the older context and wins: a context that would wait for an older one dies
 * ({@link WouldDeadlockException}), {@link #backOff(Resv) backs off} and retries, keeping its
 * stamp, so it ends up the oldest and cannot starve.
 *
 * <p>The context belongs to the thread that created it (a reservation held through it counts as
 * held by that thread) and is used by that thread only. It remembers, in locking order, each
 * reservation it holds with a caller's tag (the public {@code Reservation}, for {@code Exec}).
 * After a back-off, the contended reservation is held but <em>unclaimed</em>: the next
 * {@link #lock(Resv, Object)} of it returns true and puts it in the list at that point; one not
 * claimed again is released by {@link #releaseUnclaimed()}.
 *
 * <pre>{@code
 * try (AcquireContext ctx = new AcquireContext()) {
 *     ctx.lockAll(List.of(a, b, c));   // backs off and retries on contention (see lockAll)
 *     ... validate, add fences ...
 * }                                    // close() unlocks everything
 * }</pre>
 *
 * <p>Allocation: none per lock (one array of pairs, for 16 at first, that grows by doubling).
 * Not thread-safe: the owner thread only; other threads get IllegalStateException.
 */
public final class AcquireContext implements AutoCloseable {
    private static final AtomicLong STAMPS = new AtomicLong();

    private static final Object[] NONE = {};

    private final long stamp = STAMPS.incrementAndGet();
    private final Thread thread = Thread.currentThread();
    /**
     * Held (claimed) reservations and their tags, interleaved (reservation at 2i, tag at 2i + 1),
     * in locking order; {@code count} pairs. One array: half the allocation of two. Slots past
     * {@code count} may keep stale entries until overwritten (unlocking does not clear them, to
     * keep the loop lean); {@link #close()} drops the array.
     */
    private Object[] held = new Object[2 * 16];
    private int count;
    /** Held after a back-off and not yet claimed by {@link #lock}; or null. */
    private Resv prelocked;
    private boolean closed;

    /** Creates a context owned by the calling thread, younger than every context created before. */
    public AcquireContext() {
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
     * @param tag remembered with the reservation, returned by {@link #tag(int)}
     * @return true if locked now (or the unclaimed one after a back-off, claimed now), false if
     *     this context already holds it
     * @throws WouldDeadlockException if an older context holds it or waits for it first: call
     *     {@link #backOff(Resv)} with {@link WouldDeadlockException#contended()}, then retry
     * @throws IllegalStateException if the thread holds it outside this context, if the context
     *     is closed, or if called from another thread
     */
    public boolean lock(Resv resv, Object tag) {
        checkUsable();
        if (resv == prelocked) {
            prelocked = null;
        } else if (!resv.lock(this)) {
            return false;
        }
        append(resv, tag);
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
     * Locks every reservation of {@code resvs} (each tagged with itself), backing off and retrying
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
     * Returns a tag, in locking order.
     *
     * @param i the index, 0 for the first reservation claimed
     * @return the tag of the {@code i}-th claimed reservation
     */
    public Object tag(int i) {
        if (i < 0 || i >= count) {
            throw new IndexOutOfBoundsException(i);
        }
        return held[2 * i + 1];
    }

    /** Unlocks every reservation this context holds, the unclaimed one included; newest first. */
    public void unlockAll() {
        checkThread();
        Object[] h = held;
        for (int i = count - 1; i >= 0; i--) {
            count = i;
            ((Resv) h[2 * i]).unlockFor(this); // the slot is overwritten by the next append
        }
        releaseUnclaimed();
    }

    /** Unlocks everything (ww_acquire_fini); the context cannot lock again. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        unlockAll();
        closed = true;
        held = NONE; // drops the references kept in the slots
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
            if (held[2 * i] == resv) {
                System.arraycopy(held, 2 * i + 2, held, 2 * i, 2 * (count - i - 1));
                count--;
                held[2 * count] = null;
                held[2 * count + 1] = null;
                return;
            }
        }
    }

    private void append(Resv resv, Object tag) {
        Object[] h = held;
        int i = 2 * count;
        if (i == h.length) {
            held = h = Arrays.copyOf(h, 2 * i);
        }
        h[i] = resv;
        h[i + 1] = tag;
        count++;
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
