package dev.memmgr;

import dev.memmgr.internal.gem.GemObject;
import java.lang.foreign.MemorySegment;

/**
 * An open CPU view of a buffer object ({@link BufferObject#vmap()}). While any view of the
 * object is open, the object is pinned: its pages do not move.
 *
 * <p>Thread-safe; {@link #close()} is idempotent and lock-free unless it closes the object's
 * last view.
 */
public final class Vmap implements AutoCloseable {
    private final GemObject obj;
    private final MemorySegment segment;
    /** Guarded by this view's monitor: the lock is elided when the view does not escape. */
    private boolean closed;

    Vmap(GemObject obj, MemorySegment segment) {
        this.obj = obj;
        this.segment = segment;
    }

    /**
     * The view: {@code byteSize() == } the object's size, zero copy (writes are the object's
     * content). Shared by all open views of the object. Once the object's last view is closed
     * and its mapping torn down (eviction, purge, free, manager close), every access throws
     * IllegalStateException.
     *
     * @return the segment
     */
    public MemorySegment segment() {
        return segment;
    }

    /**
     * Returns whether this view was closed.
     *
     * @return whether this view was closed
     */
    public boolean isClosed() {
        synchronized (this) {
            return closed;
        }
    }

    /**
     * Closes this view (vunmap). The last view of an object drops the vmaps' pin; the mapping
     * stays cached until the object's frames go. Idempotent; does nothing once the object is
     * freed.
     */
    @Override
    public void close() {
        boolean wasOpen;
        synchronized (this) {
            wasOpen = !closed;
            closed = true;
        }
        if (wasOpen) {
            obj.vunmap();
        }
    }
}
