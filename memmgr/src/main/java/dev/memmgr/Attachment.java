package dev.memmgr;

import dev.memmgr.internal.dmabuf.AttachmentCore;
import java.lang.foreign.MemorySegment;

/**
 * One importer's attachment to a {@link DmaBuf} (struct dma_buf_attachment). Map it to get a
 * zero-copy view of the exporter's pages; close it to detach.
 *
 * <p><b>Locking.</b> {@link #map()} and {@link #unmap()} need the buffer's reservation
 * ({@code dmaBuf().resv()}) held by the calling thread, as dma_buf_map_attachment does;
 * {@link #close()} works with or without it (it takes the lock itself when the calling thread
 * does not hold it), so a {@link MoveListener} may detach.
 *
 * <p>A static attachment's mapping pins the exporter (one pin per mapped attachment). A dynamic
 * attachment's mapping takes a page use: the exporter may still be evicted, and then its
 * {@link MoveListener} is told first and the attachment unmapped; the old segment then throws
 * IllegalStateException, and the next {@code map()} swaps the pages back in.
 */
public final class Attachment implements AutoCloseable {
    private final AttachmentCore core;

    Attachment(AttachmentCore core) {
        this.core = core;
    }

    /**
     * Returns the buffer this attaches to.
     *
     * @return the buffer this attaches to
     */
    public DmaBuf dmaBuf() {
        return core.dmaBuf().facade();
    }

    /**
     * Returns the importer's name given to attach.
     *
     * @return the importer's name
     */
    public String importer() {
        return core.importer();
    }

    /**
     * Returns whether the attachment is dynamic (made with a MoveListener).
     *
     * @return whether the attachment is dynamic
     */
    public boolean isDynamic() {
        return core.isDynamic();
    }

    /**
     * Returns whether the attachment is mapped (a snapshot unless the reservation is held).
     *
     * @return whether the attachment is mapped
     */
    public boolean isMapped() {
        return core.isMapped();
    }

    /**
     * Maps the attachment: a zero-copy view of the exporter's pages, swapped in if needed. A
     * mapped attachment returns the same segment and takes nothing more.
     *
     * @return the view, {@code dmaBuf().size()} bytes
     * @throws IllegalStateException if the calling thread does not hold the buffer's reservation,
     *     the attachment is detached, or the exporter is freed or its manager closed
     * @throws PurgedException if the exporter was purged
     * @throws GpuOutOfMemoryException if frames cannot be found
     */
    public MemorySegment map() {
        return core.map();
    }

    /**
     * Unmaps the attachment: drops its pin or page use.
     *
     * @throws IllegalStateException if the calling thread does not hold the buffer's reservation,
     *     or the attachment is not mapped
     */
    public void unmap() {
        core.unmap();
    }

    /**
     * Detaches: unmaps if still mapped and drops the attachment's reference on the buffer.
     * Idempotent. With or without the buffer's reservation held (a {@link MoveListener} may
     * call it); without, it takes the reservation, so a {@link #map()} in another thread either
     * comes first and is undone, or comes after and fails.
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
