package dev.memmgr.internal.swap;

/**
 * The swap file failed: it cannot be created, opened, sized, written or read, a read came back
 * short, or a page's checksum does not match. The message names the operation, the slots and the
 * cause (errno name and message, or the checksums).
 *
 * <p>Internal and unchecked: the gem layer translates it into the public
 * {@code dev.memmgr.SwapIoException} ({@code swap} depends on nothing of the public package).
 * Immutable; thread-safe.
 */
public final class SwapIoException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public SwapIoException(String message) {
        super(message);
    }

    public SwapIoException(String message, Throwable cause) {
        super(message, cause);
    }
}
