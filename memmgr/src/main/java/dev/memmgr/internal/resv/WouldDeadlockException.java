package dev.memmgr.internal.resv;

/**
 * -EDEADLK of a wait-die ww-mutex: the acquire context asking for a lock would wait for an older
 * context (the holder, or one queued for it first), so it must back off: drop every lock it holds,
 * wait for the contended one, and retry; {@link AcquireContext#backOff(Resv)} does the first two.
 * Stackless: contention is routine, not an error.
 */
public final class WouldDeadlockException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient Resv contended;

    WouldDeadlockException(Resv contended) {
        super("wait-die: an older acquire context holds or waits for this reservation; back off and retry", null, false, false);
        this.contended = contended;
    }

    /**
     * Returns the reservation that could not be taken: the one to back off on.
     *
     * @return the reservation that could not be taken
     */
    public Resv contended() {
        return contended;
    }
}
