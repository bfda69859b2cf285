package dev.memmgr.internal.sys;

/** Shim until the lower-layer exceptions land. */
public final class UnsupportedPlatformException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public UnsupportedPlatformException(String message) {
        super(message);
    }
}
