package dev.memmgr.internal.dmabuf;

/**
 * The move notice of a dynamic attachment (dma_buf_attach_ops.move_notify): called with the
 * exporter's reservation held, before its frames go, while the mapping still shows the content.
 * Must not wait for other reservations.
 */
@FunctionalInterface
public interface MoveCallback {
    void moveNotify(AttachmentCore a);
}
