package dev.memmgr.internal.sys;

/**
 * memmgr cannot run on this operating system or processor (see {@link Platform}). Internal and
 * unchecked; translated into the public exception at the gem boundary. Immutable; thread-safe.
 */
public final class UnsupportedPlatformException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public UnsupportedPlatformException(String message) {
        super(message);
    }
}
