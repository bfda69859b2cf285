package dev.memmgr.internal.resv;

/**
 * -EDEADLK of a wait-die ww-mutex: the acquire context asking for a lock is younger than the
 * context holding it, so it must back off: drop every lock it holds, wait for the contended one
 * with {@link AcquireContext#lockSlow(Resv)}, and retry. {@link AcquireContext#lockAll} does this.
 */
public final class WouldDeadlockException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient Resv contended;

    WouldDeadlockException(Resv contended) {
        super("wait-die: an older acquire context holds this reservation; back off and retry", null, false, false);
        this.contended = contended;
    }

    /** @return the reservation that could not be taken */
    public Resv contended() {
        return contended;
    }
}
