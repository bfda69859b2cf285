package dev.memmgr.internal.gem;

import dev.memmgr.internal.reclaim.LruNode;
import dev.memmgr.internal.resv.Resv;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The reference counts of a buffer object (kref and the GEM handle), and the template every
 * slow-path operation runs in: a transient reference, then the reservation (unless the calling
 * thread holds it), then the device {@link Gate}; undone in the reverse order.
 *
 * <p>{@code refs} packs two counts in one long: the high half counts lifetime references (the
 * handle, the user's retains and lookups), the low half transient ones taken by operations in
 * flight and by the shrinker. A transient reference is only taken while a lifetime one exists
 * (kref_get_unless_zero), and the object is freed when both reach zero: so no operation ever runs
 * on a freed object, and freeing needs no lock, since nobody else can reach the object (seed 000).
 * {@code userRefs} counts retains and lookups alone, so that a release without one is refused
 * and changes nothing.
 *
 * <p>The counts are lock-free; every method is thread-safe.
 */
abstract class GemRefs extends LruNode {
    static final long LIFETIME = 1L << 32;
    private static final long TRANSIENT_MASK = 0xFFFF_FFFFL;
    private static final VarHandle REFS;
    private static final VarHandle USER_REFS;
    private static final VarHandle HANDLE_OPEN;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            REFS = l.findVarHandle(GemRefs.class, "refs", long.class);
            USER_REFS = l.findVarHandle(GemRefs.class, "userRefs", int.class);
            HANDLE_OPEN = l.findVarHandle(GemRefs.class, "handleOpen", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private volatile long refs = LIFETIME; // the handle's reference
    private volatile int userRefs;
    private volatile int handleOpen = 1;

    /** Releases the object: both counts reached zero. Runs once, in the thread that dropped the last. */
    abstract void free();

    /**
     * The last lifetime reference went while operations (or the shrinker) still hold transient
     * ones: the free waits for them, but what the user can still see of the object must go now.
     * No lock; may race with those operations.
     */
    abstract void dying();

    /** @return the object's reservation */
    abstract Resv resv();

    /** @return the gate of the object's device */
    abstract Gate gate();

    /** Takes the object's handle out of its client's table. */
    abstract void closeHandleInFile();

    /** @return the exception for a use of a freed object */
    abstract IllegalStateException freedException();

    /**
     * @return whether the object was released, which can happen with references left when the
     *     whole manager closes: then it counts as freed for references too
     */
    abstract boolean isFreed();

    /** @return lifetime references: the open handle plus retains and lookups not yet released */
    public int refCount() {
        return isFreed() ? 0 : (int) (refs >>> 32);
    }

    /** @return whether the object is freed or about to be (no lifetime reference left) */
    public boolean isDying() {
        return refs >>> 32 == 0 || isFreed();
    }

    /** retain(): a lifetime reference the caller gives back with {@link #releaseUser()}. */
    public void retainUser() {
        while (true) {
            long r = refs;
            if (r >>> 32 == 0 || isFreed()) {
                throw freedException();
            }
            if (REFS.compareAndSet(this, r, r + LIFETIME)) {
                break;
            }
        }
        USER_REFS.getAndAdd(this, 1);
    }

    /** release(): gives back a reference from retain or lookup; frees the object at zero. */
    public void releaseUser() {
        while (true) {
            int u = userRefs;
            if (refs >>> 32 == 0 || isFreed()) {
                throw freedException();
            }
            if (u <= 0) {
                throw new IllegalStateException("release() without a matching retain() or lookup()");
            }
            if (USER_REFS.compareAndSet(this, u, u - 1)) {
                break;
            }
        }
        dropLifetime();
    }

    /** Closes the handle and drops its reference; idempotent (never drops twice). */
    public void closeHandle() {
        if (HANDLE_OPEN.compareAndSet(this, 1, 0)) {
            closeHandleInFile();
            dropLifetime();
        }
    }

    private void dropLifetime() {
        long r = (long) REFS.getAndAdd(this, -LIFETIME) - LIFETIME;
        if (r == 0) {
            free();
        } else if (r >>> 32 == 0) {
            dying();
        }
    }

    /** A transient reference (kref_get_unless_zero); false once no lifetime reference is left. */
    boolean tryGet() {
        while (true) {
            long r = refs;
            if (r >>> 32 == 0 || isFreed()) {
                return false;
            }
            if (REFS.compareAndSet(this, r, r + 1)) {
                return true;
            }
        }
    }

    /** Drops a transient reference; the last one of a dying object frees it. */
    void put() {
        long r = (long) REFS.getAndAdd(this, -1L) - 1L;
        if (r == 0) {
            free();
        }
        assert (r & TRANSIENT_MASK) != TRANSIENT_MASK : "transient reference underflow";
    }

    // ---- the operation template ------------------------------------------------------------

    /**
     * Starts a slow-path operation: a transient reference, the reservation (unless this thread
     * holds it) and the device gate.
     *
     * @return whether the reservation was locked here (to unlock in {@link #end(boolean)})
     * @throws IllegalStateException if the object is freed or the manager closed
     */
    final boolean begin() {
        if (!tryGet()) {
            throw freedException();
        }
        boolean locked = false;
        Resv resv = resv();
        try {
            if (!resv.isHeldByCurrentThread()) {
                resv.lock();
                locked = true;
            }
            if (!gate().enter()) {
                throw new IllegalStateException("memory manager is closed");
            }
        } catch (RuntimeException | Error e) {
            if (locked) {
                resv.unlock();
            }
            put();
            throw e;
        }
        return locked;
    }

    final void end(boolean locked) {
        gate().exit();
        if (locked) {
            resv().unlock();
        }
        put();
    }

    /** Runs a slow-path step in the operation template (see {@link #begin()}). */
    final void locked(Consumer<GemObject> step) {
        boolean locked = begin();
        try {
            step.accept((GemObject) this); // the only subclass
        } finally {
            end(locked);
        }
    }

    /** {@link #locked(Consumer)} for a step with a result. */
    final <R> R lockedCall(Function<GemObject, R> step) {
        boolean locked = begin();
        try {
            return step.apply((GemObject) this);
        } finally {
            end(locked);
        }
    }
}
