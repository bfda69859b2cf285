package dev.memmgr;

/**
 * The swap file failed: an I/O error, or a page whose CRC32C checksum did not match on swap-in.
 *
 * <p>memmgr never hands out wrong bytes: an object whose swap-in failed stays
 * {@link Residency#EVICTED} and keeps its swap slots, and an eviction whose write failed leaves
 * the object resident and intact.
 */
public class SwapException extends MemoryManagerException {
    private static final long serialVersionUID = 1L;

    /** Creates an exception with no message. */
    public SwapException() {
        super();
    }

    /**
     * Creates an exception with a message.
     *
     * @param message what went wrong
     */
    public SwapException(String message) {
        super(message);
    }

    /**
     * Creates an exception with a message and a cause.
     *
     * @param message what went wrong
     * @param cause the underlying failure
     */
    public SwapException(String message, Throwable cause) {
        super(message, cause);
    }
}
