package dev.memmgr.internal.swap;

/** Shim until the lower-layer exceptions land. */
public final class SwapIoException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public SwapIoException(String message) {
        super(message);
    }
}
