package dev.memmgr;

/**
 * How a fence uses the buffer it is attached to (dma_resv_usage). Ordered from the strongest to
 * the weakest: {@code KERNEL < WRITE < READ < BOOKKEEP}. A query at one usage covers that usage
 * and every stronger one: {@link Reservation#isIdle(FenceUsage) isIdle(READ)} waits for KERNEL,
 * WRITE and READ fences; {@code isIdle(BOOKKEEP)} for every fence.
 */
public enum FenceUsage {
    /** Kernel-internal work that must finish before anything else (memory moves, clears). */
    KERNEL,
    /** Implicit write access. */
    WRITE,
    /** Implicit read access. */
    READ,
    /** Bookkeeping: explicitly synchronized work that implicit sync ignores. */
    BOOKKEEP
}
