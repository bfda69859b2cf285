package dev.memmgr;

/**
 * Told before the pages of a dynamically attached {@link DmaBuf} move (dma_buf_attach_ops
 * .move_notify): the exporter is being evicted or purged. Called once per mapped dynamic
 * attachment, in the evicting thread, with the buffer's reservation held and the old mapping
 * still showing the content. It may call its attachment's methods and read the old segment; it
 * must not wait for other reservations. When it returns, the attachment is unmapped.
 */
@FunctionalInterface
public interface MoveListener {
    /**
     * The attachment's pages are about to move.
     *
     * @param a the attachment, still mapped
     */
    void moveNotify(Attachment a);
}
