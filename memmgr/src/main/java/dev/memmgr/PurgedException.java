package dev.memmgr;

/**
 * The object was marked {@link Madvise#DONTNEED} and the shrinker purged it: its content is gone
 * for good. Thrown by every operation that needs content (pin, vmap, getPages, read, write).
 * A purged object can only be freed.
 */
public class PurgedException extends MemoryManagerException {
    private static final long serialVersionUID = 1L;

    /** Creates an exception with no message. */
    public PurgedException() {
        super();
    }

    /**
     * Creates an exception with a message.
     *
     * @param message what went wrong
     */
    public PurgedException(String message) {
        super(message);
    }

    /**
     * Creates an exception with a message and a cause.
     *
     * @param message what went wrong
     * @param cause the underlying failure
     */
    public PurgedException(String message, Throwable cause) {
        super(message, cause);
    }
}
