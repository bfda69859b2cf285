package dev.memmgr;

/** How urgent an {@link Entity}'s jobs are: higher priorities are picked first, FIFO by push within one. */
public enum Priority {
    /** The library's or the driver's own work (memory moves, clears). */
    KERNEL,
    /** Latency-sensitive work (the frame being presented). */
    HIGH,
    /** Ordinary work. */
    NORMAL,
    /** Background work. */
    LOW
}
