package dev.memmgr.internal.resv;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A ww acquire context (ww_acquire_ctx): locks several reservations without deadlock. Each
 * context gets a stamp when created; the smaller stamp is the older context and wins. Used by
 * one thread at a time.
 *
 * <pre>{@code
 * try (AcquireContext ctx = new AcquireContext()) {
 *     ctx.lockAll(List.of(a, b, c));   // backs off and retries on contention
 *     ... validate, add fences ...
 * }                                    // close() unlocks everything
 * }</pre>
 */
public final class AcquireContext implements AutoCloseable {
    private static final AtomicLong STAMPS = new AtomicLong();

    private final long stamp = STAMPS.incrementAndGet();
    private final List<Resv> held = new ArrayList<>();
    private boolean done;

    boolean isOlderThan(AcquireContext other) {
        return other == null || stamp < other.stamp;
    }

    /**
     * Locks one reservation (ww_mutex_lock).
     *
     * @return true if locked now, false if this context already held it
     * @throws WouldDeadlockException if an older context holds it: call {@link #unlockAll()},
     *     then {@link #lockSlow(Resv)} on {@link WouldDeadlockException#contended()}, then retry
     */
    public boolean lock(Resv resv) {
        checkOpen();
        return resv.lock(this);
    }

    /**
     * Waits for one reservation while holding none (ww_mutex_lock_slow): cannot die.
     *
     * @throws IllegalStateException if this context still holds locks
     */
    public void lockSlow(Resv resv) {
        checkOpen();
        if (!held.isEmpty()) {
            throw new IllegalStateException("lockSlow with " + held.size() + " reservations still held");
        }
        resv.lockSlow(this);
    }

    /**
     * Locks every reservation of {@code resvs}, backing off and retrying on contention until all
     * are held. Duplicates are allowed.
     */
    public void lockAll(Collection<Resv> resvs) {
        Resv slow = null;
        retry:
        while (true) {
            if (slow != null) {
                lockSlow(slow);
            }
            for (Resv r : resvs) {
                try {
                    lock(r);
                } catch (WouldDeadlockException e) {
                    unlockAll();
                    slow = e.contended();
                    continue retry;
                }
            }
            return;
        }
    }

    /** Unlocks every reservation this context holds. */
    public void unlockAll() {
        for (int i = held.size() - 1; i >= 0; i--) {
            held.get(i).unlock();
        }
        held.clear();
    }

    /** Unlocks everything (ww_acquire_fini); the context cannot be used again. Idempotent. */
    @Override
    public void close() {
        unlockAll();
        done = true;
    }

    void acquired(Resv resv) {
        held.add(resv);
    }

    void released(Resv resv) {
        held.remove(resv);
    }

    private void checkOpen() {
        if (done) {
            throw new IllegalStateException("acquire context closed");
        }
    }
}
