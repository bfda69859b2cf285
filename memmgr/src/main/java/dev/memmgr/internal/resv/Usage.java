package dev.memmgr.internal.resv;

/**
 * How a fence uses the buffer whose {@link Resv} holds it (dma_resv_usage), from the strongest to
 * the weakest. A query at one usage covers it and every stronger one. The public
 * {@code FenceUsage} is translated to this by {@code Reservation}, constant by constant.
 */
public enum Usage {
    /** Kernel-internal work (memory moves, clears). */
    KERNEL,
    /** Implicit write access. */
    WRITE,
    /** Implicit read access. */
    READ,
    /** Explicitly synchronized work that implicit sync ignores. */
    BOOKKEEP;

    /** @return whether a query at {@code query} must wait for a fence of this usage */
    boolean coveredBy(Usage query) {
        return ordinal() <= query.ordinal();
    }
}
