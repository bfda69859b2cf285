package dev.memmgr;

/**
 * {@link Client#lookup(int)} was given a handle that is not open in that client (never
 * created there, or already closed). Handles are per client: a handle of one client means nothing
 * in another.
 */
public class NoSuchHandleException extends MemoryManagerException {
    private static final long serialVersionUID = 1L;

    /** Creates an exception with no message. */
    public NoSuchHandleException() {
        super();
    }

    /**
     * Creates an exception with a message.
     *
     * @param message what went wrong
     */
    public NoSuchHandleException(String message) {
        super(message);
    }

    /**
     * Creates an exception with a message and a cause.
     *
     * @param message what went wrong
     * @param cause the underlying failure
     */
    public NoSuchHandleException(String message, Throwable cause) {
        super(message, cause);
    }
}
