package dev.memmgr.vulkan;

/**
 * What a submission does with an imported object: decides which memmgr fences it waits for
 * (implicit synchronisation, as dma-resv does for GPU jobs) and how it marks the object busy.
 */
public enum Access {
    /**
     * The GPU reads the object: the submission waits for the object's unsignaled {@code WRITE}
     * (and {@code KERNEL}) fences and adds its own as a {@code READ} fence.
     */
    READ,
    /**
     * The GPU writes (and may read) the object: the submission waits for every unsignaled
     * {@code KERNEL}, {@code WRITE} and {@code READ} fence of the object and adds its own as a
     * {@code WRITE} fence.
     */
    WRITE
}
