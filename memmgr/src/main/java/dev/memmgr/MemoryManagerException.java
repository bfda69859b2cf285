package dev.memmgr;

/**
 * Base class of the exceptions memmgr throws for conditions that are not caller mistakes:
 * memory exhausted, content purged, swap failures, unknown handles and operating system errors.
 *
 * <p>Unchecked. Argument errors are reported with the standard {@link IllegalArgumentException},
 * {@link IndexOutOfBoundsException} and {@link NullPointerException}; use of a freed object, a
 * closed client or a closed manager and unbalanced counts with {@link IllegalStateException}.
 */
public class MemoryManagerException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Creates an exception with no message. */
    public MemoryManagerException() {
        super();
    }

    /**
     * Creates an exception with a message.
     *
     * @param message what went wrong
     */
    public MemoryManagerException(String message) {
        super(message);
    }

    /**
     * Creates an exception with a message and a cause.
     *
     * @param message what went wrong
     * @param cause the underlying failure
     */
    public MemoryManagerException(String message, Throwable cause) {
        super(message, cause);
    }
}
