package dev.memmgr.internal.dmabuf;

import dev.memmgr.Attachment;
import dev.memmgr.internal.gem.GemObject;
import dev.memmgr.internal.resv.Resv;
import java.lang.foreign.MemorySegment;
import java.util.function.Function;

/**
 * One importer's attachment to a DmaBuf (struct dma_buf_attachment). Static (no move callback):
 * its mapping pins the exporter. Dynamic: its mapping takes a page use, and an eviction tells it
 * ({@link MoveCallback}) and unmaps it before the frames go. The mapping is the exporter's own
 * (shared with its vmaps): zero copy.
 *
 * <p>Locking: {@link #map()} and {@link #unmap()} need the exporter's reservation held by the
 * calling thread (IllegalStateException otherwise), which guards the map state; {@link #close()}
 * (detach) must be called without it and takes it itself when the attachment is still mapped.
 * {@code isMapped} is readable without the lock (a snapshot).
 */
public final class AttachmentCore {
    static final System.Logger LOG = System.getLogger("dev.memmgr");

    final DmaBufCore buf;
    private final String importer;
    private final MoveCallback callback;
    private final Attachment facade;
    /** The exporter's reservation. */
    private MemorySegment segment;
    private volatile boolean mapped;
    private boolean detached;

    AttachmentCore(DmaBufCore buf, String importer, MoveCallback callback, Function<AttachmentCore, Attachment> factory) {
        this.buf = buf;
        this.importer = importer;
        this.callback = callback;
        this.facade = factory.apply(this);
    }

    public DmaBufCore dmaBuf() {
        return buf;
    }

    public String importer() {
        return importer;
    }

    public boolean isDynamic() {
        return callback != null;
    }

    public Attachment facade() {
        return facade;
    }

    /** @return whether mapped (a snapshot; exact with the exporter's reservation held) */
    public boolean isMapped() {
        return mapped;
    }

    boolean isMappedLocked() {
        return mapped;
    }

    public synchronized boolean isDetached() {
        return detached;
    }

    private GemObject exporter() {
        return buf.exporter;
    }

    private void requireHeld(String what) {
        if (!exporter().resv().isHeldByCurrentThread()) {
            throw new IllegalStateException(what + " needs the DmaBuf's reservation held by the calling thread");
        }
    }

    /**
     * Maps the attachment (dma_buf_map_attachment): a view of the exporter's pages. A mapped
     * attachment returns the same segment and takes nothing more. Exporter's reservation held.
     *
     * @throws IllegalStateException without the reservation, once detached, or if the exporter is freed
     * @throws dev.memmgr.PurgedException if the exporter was purged
     */
    public MemorySegment map() {
        requireHeld("map()");
        if (mapped) {
            exporter().checkAlive(); // a mapping of a freed exporter (its manager closed) is dead
            return segment;
        }
        if (isDetached()) {
            throw new IllegalStateException("map() of a detached attachment");
        }
        boolean pin = callback == null;
        MemorySegment s = exporter().withLock(o -> o.attachMapLocked(pin));
        segment = s;
        mapped = true;
        return s;
    }

    /**
     * Unmaps the attachment: drops its pin or page use. Exporter's reservation held.
     *
     * @throws IllegalStateException without the reservation, or if not mapped
     */
    public void unmap() {
        requireHeld("unmap()");
        if (!mapped) {
            throw new IllegalStateException("unmap() of an attachment that is not mapped");
        }
        unmapHeld();
    }

    /** Drops the mapping; the exporter's reservation is held by this thread. */
    private void unmapHeld() {
        boolean pin = callback == null;
        mapped = false;
        segment = null;
        try {
            exporter().withLock(o -> {
                o.attachUnmapLocked(pin);
                return null;
            });
        } catch (IllegalStateException exporterGone) {
            // freed or its manager closed: its mapping and counts went with it
        }
    }

    /**
     * The exporter is being evicted or purged: tell the importer (the mapping still shows the
     * content), then unmap, whatever the callback did. Evicting thread, reservation held.
     */
    void moveNotifyLocked() {
        try {
            callback.moveNotify(this);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "moveNotify of importer '" + importer + "' failed", e);
        } finally {
            if (mapped) {
                mapped = false;
                segment = null;
                exporter().attachUnmapLocked(false);
            }
        }
    }

    /**
     * Detaches (dma_buf_detach): unmaps if still mapped and forgets the attachment under the
     * reservation (taken unless this thread holds it, as a {@link dev.memmgr.MoveListener} does,
     * so that a map() racing it cannot leave a detached attachment mapped), and
     * drops its reference on the buffer. Idempotent. Dropping that reference may free the
     * exporter; a holder of its reservation can still unlock it.
     */
    public void close() {
        Resv r = exporter().resv();
        if (r.isHeldByCurrentThread()) {
            closeHeld();
            return;
        }
        synchronized (this) {
            if (detached) {
                return;
            }
        }
        r.lock(); // always: a map() racing this close (misuse) then either comes first and is
        try {     // unmapped here, or comes after and finds the attachment detached
            closeHeld();
        } finally {
            r.unlock();
        }
    }

    /** Unmaps if mapped and detaches; the exporter's reservation is held by this thread. */
    private void closeHeld() {
        if (mapped) {
            unmapHeld();
        }
        detachUnmapped();
    }

    /** Forgets an unmapped attachment: no lock needed. Idempotent. */
    void detachUnmapped() {
        synchronized (this) {
            if (detached) {
                return;
            }
            detached = true;
        }
        buf.detached(this);
    }

    /**
     * Unmaps with the exporter's reservation held by this thread (the free path of an import).
     */
    void unmapIfMappedHeld() {
        if (mapped) {
            unmapHeld();
        }
    }

    @Override
    public String toString() {
        return "Attachment[" + importer + (isDynamic() ? ", dynamic" : ", static") + (mapped ? ", mapped" : "")
                + (isDetached() ? ", detached" : "") + "]";
    }
}
