package dev.memmgr;

import dev.memmgr.internal.gem.GemObject;
import dev.memmgr.internal.resv.Resv;
import dev.memmgr.internal.resv.Usage;
import java.time.Duration;
import java.util.Objects;

/**
 * A buffer object's reservation (dma_resv): its lock and the fences of work on it.
 *
 * <p><b>Lock.</b> A mutual-exclusion lock, not reentrant, that every transition of the object
 * takes (population, swap-in, eviction, the first pin and the last unpin...). Holding it makes a
 * sequence of operations on the object atomic: operations called by the holding thread do not
 * lock again. The shrinker only try-locks, so holding it also keeps the object from being evicted
 * or purged. The lock is fair: on unlock it is handed to the thread that has waited longest, so a
 * thread that needs many locks is not starved by threads that re-take one. Internally it is a
 * wait-die ww-mutex, so that several reservations can be locked deadlock-free for GPU work
 * submission with {@link Exec}; a reservation locked through an {@code Exec} counts as held by the
 * thread that runs it.
 *
 * <p><b>Fences.</b> A fence attached here makes the object busy until it signals: the shrinker
 * skips busy objects. Usages are ordered {@code KERNEL < WRITE < READ < BOOKKEEP}; a query at one
 * usage covers it and every stronger one.
 *
 * <p>Thread-safe. Works after the object is freed too (so that a holder can still unlock).
 */
public final class Reservation {
    /** The object this is the reservation of, or null for a GPU VM's own. */
    private final GemObject obj;
    private final Resv resv;

    Reservation(GemObject obj) {
        this.obj = obj;
        this.resv = obj.resv();
    }

    /** A GPU VM's reservation (shared by the VM's local objects). */
    Reservation(Resv resv) {
        this.obj = null;
        this.resv = resv;
    }

    /** @return the internal reservation, for {@link Exec} */
    Resv core() {
        return resv;
    }

    /**
     * Takes the lock, waiting as long as needed, behind the threads that waited for it first. Not
     * interruptible: an interrupt during the wait is kept (the interrupt status is set again once
     * the lock is taken).
     *
     * @throws IllegalStateException if the calling thread already holds it
     */
    public void lock() {
        resv.lock();
    }

    /**
     * Takes the lock if it is free and no thread waits for it; never blocks. Fails if any thread
     * holds it, the caller included (the lock is not reentrant).
     *
     * @return true if the lock was free and is now held; never blocks (false if held, even by the
     *     caller, or if other threads wait for it)
     */
    public boolean tryLock() {
        return resv.tryLock();
    }

    /**
     * Releases the lock, handing it to the thread that has waited longest, if any. A lock taken
     * through an {@link Exec} may be released here too; the Exec then no longer lists it.
     *
     * @throws IllegalStateException if the calling thread does not hold the lock
     */
    public void unlock() {
        resv.unlock();
    }

    /**
     * Returns whether the calling thread holds the lock (plainly or through an {@link Exec}).
     *
     * @return whether the calling thread holds the lock
     */
    public boolean isHeldByCurrentThread() {
        return resv.isHeldByCurrentThread();
    }

    /**
     * Attaches a fence, with or without the lock held; the object is busy until it signals.
     * Counts as a use for the LRU.
     *
     * @param fence the fence
     * @param usage how the work uses the object
     * @throws NullPointerException if fence or usage is null
     */
    public void addFence(Fence fence, FenceUsage usage) {
        Objects.requireNonNull(fence, "fence");
        resv.addFence(fence.core(), usage(usage));
        if (obj != null) {
            obj.touch();
        }
    }

    /**
     * Tells whether the object is idle for a usage, without blocking.
     *
     * @param usage the usage; fences of it and of every stronger usage count
     * @return true when every fence of {@code usage} or a stronger usage has signaled
     * @throws NullPointerException if usage is null
     */
    public boolean isIdle(FenceUsage usage) {
        return resv.isIdle(usage(usage));
    }

    /**
     * Waits until {@link #isIdle(FenceUsage) isIdle(usage)}, at most {@code timeout}. Fences
     * attached during the wait are not waited for. An interrupt ends the wait (returning false
     * unless idle, with the interrupt status set).
     *
     * @param usage the usage; fences of it and of every stronger usage count
     * @param timeout how long to wait at most
     * @return true if idle, false if the timeout elapsed first
     * @throws NullPointerException if usage or timeout is null
     */
    public boolean awaitIdle(FenceUsage usage, Duration timeout) {
        Usage u = usage(usage);
        return resv.awaitIdle(u, Objects.requireNonNull(timeout, "timeout"));
    }

    /** @return the internal usage of a public one, constant by constant */
    private static Usage usage(FenceUsage usage) {
        return switch (Objects.requireNonNull(usage, "usage")) {
            case KERNEL -> Usage.KERNEL;
            case WRITE -> Usage.WRITE;
            case READ -> Usage.READ;
            case BOOKKEEP -> Usage.BOOKKEEP;
        };
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Reservation r && r.resv == resv;
    }

    @Override
    public int hashCode() {
        return System.identityHashCode(resv);
    }

    @Override
    public String toString() {
        return "Reservation[" + (obj == null ? "GPU VM" : "buffer object " + obj.handle())
                + (resv.isLocked() ? ", locked" : "") + "]";
    }
}
