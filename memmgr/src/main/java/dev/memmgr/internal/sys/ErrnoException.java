package dev.memmgr.internal.sys;

/**
 * A libc call failed. Carries the call, the errno value, its symbolic name and the C library's
 * message, e.g. {@code "mmap: ENOMEM (Cannot allocate memory)"}.
 *
 * <p>Internal and unchecked: the layers above translate it into the public exceptions at the
 * gem boundary ({@code sys} depends on nothing of the public package). Immutable; thread-safe.
 */
public final class ErrnoException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String call;
    private final int errno;

    public ErrnoException(String call, int errno) {
        super(call + ": " + Errno.name(errno) + " (" + LibC.strerror(errno) + ")");
        this.call = call;
        this.errno = errno;
    }

    /** @return the libc function that failed, e.g. "mmap" */
    public String call() {
        return call;
    }

    /** @return the errno value */
    public int errno() {
        return errno;
    }

    /** @return the symbolic errno name, e.g. "ENOSPC" */
    public String errnoName() {
        return Errno.name(errno);
    }
}
