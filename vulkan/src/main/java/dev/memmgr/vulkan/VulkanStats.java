package dev.memmgr.vulkan;

/**
 * Counters of a {@link VulkanDevice} since it was opened.
 *
 * @param imports buffer objects imported as Vulkan memory for the first time (one per {@link HostImport})
 * @param reimports imports of the pages again after a move had dropped the Vulkan memory
 * @param invalidations moves (moveNotify of a dynamic import) that dropped an import's Vulkan
 *     memory and the resources bound to it
 * @param submissions command buffers queued
 * @param completed submissions whose completion has signaled their memmgr fence
 */
public record VulkanStats(long imports, long reimports, long invalidations, long submissions, long completed) {
}
