package dev.memmgr.internal.gem;

import java.nio.file.Path;

/**
 * Validated settings of a device (what {@code MemoryManager.Builder} collects).
 *
 * @param capacity bytes of page frames
 * @param pageSize bytes per page
 * @param swapFile a chosen swap file, or null for an unlinked temp file
 * @param swapBytes bytes of swap; 0 with {@code swapFile == null} means the default of 2 x capacity
 * @param noSwap eviction disabled
 * @param lowWatermark fraction of capacity below which background reclaim starts
 * @param highWatermark fraction of capacity background reclaim restores
 * @param backgroundReclaim whether the background reclaim thread runs
 * @param evictionWaitNanos how long an allocation may wait for busy objects to go idle (0: not at all)
 * @param name the name of Builder.name (JMX, events, dumps, counters), or null
 * @param leakDetection whether objects remember where they were created and their counts taken
 * @param publishCounters whether the figures go to the process's counters file
 * @param arc the reclaim policy: ARC when true, LRU with second chance when false
 */
public record DeviceConfig(long capacity, int pageSize, Path swapFile, long swapBytes, boolean noSwap,
                           double lowWatermark, double highWatermark, boolean backgroundReclaim,
                           long evictionWaitNanos, String name, boolean leakDetection, boolean publishCounters,
                           boolean arc) {
}
