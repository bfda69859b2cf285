package dev.memmgr.internal.dmabuf;

import dev.memmgr.Attachment;
import dev.memmgr.DmaBuf;
import dev.memmgr.internal.gem.EvictionListener;
import dev.memmgr.internal.gem.GemObject;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/**
 * An exported buffer (struct dma_buf): the exporting object, its attachments, and what keeps the
 * object alive for them.
 *
 * <p><b>DOC: References.</b> A DmaBuf counts one reference for the export itself (until
 * {@code close}) and one per live attachment; while any is left it holds one lifetime reference on
 * the exporter, so importers keep the buffer alive after the exporter's handle and the DmaBuf are
 * closed (dma_buf file references). The export registers one eviction listener on the exporter for
 * as long as it lives. An object has at most one open export: {@link #export} returns it again.
 * A closed DmaBuf whose attachments still live is not given out again: a later export makes a new
 * one, and the object counts as shared while any of them lives. The open export and the count are
 * kept on the object itself, so nothing global keeps an object (or its closed manager) reachable.
 *
 * <p><b>DOC: Moves.</b> The exporter may be evicted while dynamic attachments are mapped (they hold
 * a page use, which does not keep reclaim away; TTM's move_notify). Before its frames go, the
 * listener calls {@code moveNotify} once for each mapped dynamic attachment, with the exporter's
 * reservation held by the evicting thread and the old mapping still showing the content; then it
 * unmaps the attachment. Static attachments pin: the exporter is never reclaimed while one is
 * mapped, so they are never told.
 *
 * <p><b>Locking.</b> An attachment's map state is guarded by the exporter's reservation (its map
 * and unmap need it held: dma_buf_map_attachment); the reference count and the export's open flag
 * by this object's monitor, a leaf; an exporter's open export and export count by a global monitor
 * taken inside the exporter's reservation (export) or with no lock (the last unref), with only a
 * DmaBuf's monitor inside it; the attachment list is copy-on-write, read without a lock.
 */
public final class DmaBufCore {
    /**
     * Guards each exporter's open export and count of live exports (kept on the object, so that
     * nothing global keeps an object, and its manager, reachable). A leaf: only a DmaBuf's own
     * monitor is taken inside it.
     */
    private static final Object EXPORTS = new Object();

    final GemObject exporter;
    private final DmaBuf facade;
    private final Function<AttachmentCore, Attachment> attachmentFactory;
    final CopyOnWriteArrayList<AttachmentCore> attachments = new CopyOnWriteArrayList<>();
    private final EvictionListener listener = this::beforeFramesGo;
    /** The export's own reference plus one per live attachment; this monitor. */
    private int refs = 1;
    private boolean open = true;

    private DmaBufCore(GemObject exporter, Function<DmaBufCore, DmaBuf> factory,
                       Function<AttachmentCore, Attachment> attachmentFactory) {
        this.exporter = exporter;
        this.attachmentFactory = attachmentFactory;
        this.facade = factory.apply(this);
    }

    /**
     * The object's open export, or a new one (which takes a lifetime reference on the object). An
     * imported object re-exports its exporter's buffer, as the kernel returns the original
     * dma_buf.
     *
     * @throws IllegalStateException if the object is freed or its manager closed
     */
    public static DmaBufCore export(GemObject obj, Function<DmaBufCore, DmaBuf> factory,
                                    Function<AttachmentCore, Attachment> attachmentFactory) {
        if (obj.isImported()) {
            obj.checkAlive(); // a freed import has no buffer to give, whatever its exporter's state
        }
        GemObject exporter = obj.isImported() ? obj.imported().exporter() : obj;
        return exporter.withLock(o -> {
            synchronized (EXPORTS) {
                if (o.openExport() instanceof DmaBufCore open && open.isOpen()) {
                    return open;
                }
                o.retainLifetime();
                DmaBufCore d = new DmaBufCore(o, factory, attachmentFactory);
                o.openExport(d);
                o.exportsChanged(1);
                o.dev().addEvictionListenerLocked(o, d.listener);
                return d;
            }
        });
    }

    /** @return the public object of this export */
    public DmaBuf facade() {
        return facade;
    }

    /** @return the exporting object */
    public GemObject exporter() {
        return exporter;
    }

    /** @return whether the export itself is still open (attach works) */
    public synchronized boolean isOpen() {
        return open;
    }

    /** Closes the export: drops its reference; attachments and imports keep the buffer alive. Idempotent. */
    public void close() {
        synchronized (this) {
            if (!open) {
                return;
            }
            open = false;
        }
        unref();
    }

    /**
     * Attaches an importer (dma_buf_attach); takes no lock of the exporter.
     *
     * @param callback null for a static attachment (its map pins), else the move notice of a dynamic one
     * @throws IllegalStateException if the export is closed, or the exporter freed (its manager closed)
     */
    public AttachmentCore attach(String importer, MoveCallback callback) {
        AttachmentCore a;
        synchronized (this) {
            if (!open) {
                throw new IllegalStateException("the DmaBuf of buffer object " + exporter.handle() + " is closed");
            }
            exporter.checkAlive(); // freed with its manager: nothing to attach to
            refs++;
        }
        a = new AttachmentCore(this, importer, callback, attachmentFactory);
        attachments.add(a);
        return a;
    }

    /** @return the live attachments, in the order they were made */
    public List<AttachmentCore> attachments() {
        return List.copyOf(attachments);
    }

    /** An attachment was detached: forget it and drop its reference. */
    void detached(AttachmentCore a) {
        if (attachments.remove(a)) {
            unref();
        }
    }

    private void unref() {
        synchronized (this) {
            if (--refs > 0) {
                return;
            }
        }
        exporter.dev().removeEvictionListener(exporter, listener);
        synchronized (EXPORTS) {
            if (exporter.openExport() == this) {
                exporter.openExport(null);
            }
            exporter.exportsChanged(-1); // shared while any of its DmaBufs lives, not only the last made
        }
        exporter.dropLifetime(); // no lock held: the last reference frees the object
    }

    /**
     * The exporter's eviction listener: tell each mapped dynamic attachment, then unmap it.
     * Exporter's reservation held, by the evicting thread.
     */
    private void beforeFramesGo(GemObject o, boolean purged) {
        for (AttachmentCore a : attachments) {
            if (a.isDynamic() && a.isMappedLocked()) {
                a.moveNotifyLocked();
            }
        }
    }

    @Override
    public String toString() {
        return "DmaBuf[buffer object " + exporter.handle() + ", " + attachments.size() + " attachments"
                + (isOpen() ? "" : ", closed") + "]";
    }
}
