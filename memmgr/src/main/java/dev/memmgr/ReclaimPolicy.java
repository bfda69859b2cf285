package dev.memmgr;

/**
 * Which idle objects the shrinker evicts first ({@link MemoryManager.Builder#reclaimPolicy}).
 * Objects marked DONTNEED are purged before anything is evicted under either policy.
 */
public enum ReclaimPolicy {
    /**
     * Adaptive replacement (ARC, Megiddo and Modha), the default: objects used once and objects
     * used again are kept on two lists whose sizes adapt to which of them the workload misses,
     * remembered after eviction. Resists scans (one-shot staging buffers no longer push out the
     * textures used every frame) and mixes of clients; measured against {@link #LRU} on
     * buffer-access traces (bench/RESULTS.md), it moved 7% to 93% fewer bytes on three of five
     * and stayed within 2% on the other two.
     */
    ARC,
    /**
     * Least recently used with second chance, as the kernel's GEM drivers do: idle objects
     * without page uses first, then those with, least recently used first; an object used since
     * the last look is passed over once.
     */
    LRU
}
