package dev.memmgr;

import dev.memmgr.internal.dmabuf.AttachmentCore;
import dev.memmgr.internal.dmabuf.DmaBufCore;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A buffer object shared with other parts of a program (struct dma_buf): made by
 * {@link BufferObject#export()}, imported by {@link Client#importBuffer(DmaBuf)} or attached to
 * by an importer that maps the pages itself.
 *
 * <pre>{@code
 * DmaBuf buf = frame.export();                      // the decoder shares a frame
 * BufferObject mine = compositor.importBuffer(buf); // the compositor's handle: same pages
 * Attachment a = buf.attach("capture", moved -> dropDescriptors(moved));
 * buf.resv().lock();
 * try {
 *     MemorySegment pages = a.map();                 // zero copy; eviction tells the listener first
 *     capture(pages);
 * } finally {
 *     buf.resv().unlock();
 * }
 * a.close();
 * buf.close();
 * }</pre>
 *
 * <p><b>Lifetime.</b> The export holds a reference on the exporting object until {@link #close()},
 * and so does every live attachment and every import into another manager: the object lives while
 * anyone uses the buffer, whoever closes first. An object has one open DmaBuf at a time:
 * {@code export()} returns it again.
 *
 * <p><b>Residency.</b> The exporter's manager keeps control: importers either pin (static
 * attachments, {@link #attach(String)}) or accept moves (dynamic ones, {@link #attach(String,
 * MoveListener)}): before an eviction or purge takes the pages, each mapped dynamic attachment is
 * told and then unmapped.
 *
 * <p>Thread-safe. A closed DmaBuf still answers {@link #size()}, {@link #exporter()} and
 * {@link #resv()}; {@code attach} then throws IllegalStateException.
 */
public final class DmaBuf implements AutoCloseable {
    private final DmaBufCore core;

    DmaBuf(DmaBufCore core) {
        this.core = core;
    }

    DmaBufCore core() {
        return core;
    }

    /**
     * Returns the size in bytes: the exporter's.
     *
     * @return the size in bytes
     */
    public long size() {
        return core.exporter().size();
    }

    /**
     * Returns the exporting object.
     *
     * @return the exporting object
     */
    public BufferObject exporter() {
        return core.exporter().facade();
    }

    /**
     * Returns the exporter's reservation: importers hold it to map and unmap attachments.
     *
     * @return the exporter's reservation
     */
    public Reservation resv() {
        return exporter().resv();
    }

    /**
     * Attaches a static importer: its {@link Attachment#map()} pins the exporter, so the pages
     * never move while it is mapped.
     *
     * @param importer a name for the importer (shown in diagnostics)
     * @return the attachment
     * @throws NullPointerException if importer is null
     * @throws IllegalStateException if this DmaBuf is closed, or the exporter freed with its manager
     */
    public Attachment attach(String importer) {
        Objects.requireNonNull(importer, "importer");
        return core.attach(importer, null).facade();
    }

    /**
     * Attaches a dynamic importer: its {@link Attachment#map()} takes a page use, which lets the
     * exporter be evicted; before the pages go, the listener is called (reservation held, the old
     * mapping still readable) and the attachment is unmapped. The next map brings the pages back.
     *
     * @param importer a name for the importer (shown in diagnostics)
     * @param listener told before the pages move
     * @return the attachment
     * @throws NullPointerException if importer or listener is null
     * @throws IllegalStateException if this DmaBuf is closed, or the exporter freed with its manager
     */
    public Attachment attach(String importer, MoveListener listener) {
        Objects.requireNonNull(importer, "importer");
        Objects.requireNonNull(listener, "listener");
        return core.attach(importer, a -> listener.moveNotify(a.facade())).facade();
    }

    /**
     * Returns every live attachment, including those imports into other managers own.
     *
     * @return the live attachments, in the order they were made (a snapshot)
     */
    public List<Attachment> attachments() {
        List<Attachment> out = new ArrayList<>();
        for (AttachmentCore a : core.attachments()) {
            out.add(a.facade());
        }
        return List.copyOf(out);
    }

    /**
     * Returns whether {@link #close()} was called.
     *
     * @return whether this DmaBuf is closed
     */
    public boolean isClosed() {
        return !core.isOpen();
    }

    /**
     * Closes the export: drops its reference on the exporter. Attachments and imports keep the
     * buffer alive. Idempotent.
     */
    @Override
    public void close() {
        core.close();
    }

    @Override
    public String toString() {
        return core.toString();
    }
}
