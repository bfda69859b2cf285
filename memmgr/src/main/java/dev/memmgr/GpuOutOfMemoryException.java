package dev.memmgr;

/**
 * Not enough page frames: the allocation could not be satisfied even after the shrinker ran
 * (direct reclaim). Everything pinned, busy or locked by other threads, or swap full.
 *
 * <p>The operation that threw it changed nothing: counts, residency and content are as before.
 */
public class GpuOutOfMemoryException extends MemoryManagerException {
    private static final long serialVersionUID = 1L;

    /** Creates an exception with no message. */
    public GpuOutOfMemoryException() {
        super();
    }

    /**
     * Creates an exception with a message.
     *
     * @param message what went wrong
     */
    public GpuOutOfMemoryException(String message) {
        super(message);
    }

    /**
     * Creates an exception with a message and a cause.
     *
     * @param message what went wrong
     * @param cause the underlying failure
     */
    public GpuOutOfMemoryException(String message, Throwable cause) {
        super(message, cause);
    }
}
