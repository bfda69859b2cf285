package dev.memmgr.vulkan;

/** How a {@link HostImport} holds the pages of its buffer object. */
public enum ImportMode {
    /**
     * A static dma-buf attachment: the object is pinned for as long as it is imported, so its
     * pages never move and the Vulkan memory stays valid until {@link HostImport#close()}.
     */
    STATIC,
    /**
     * A dynamic dma-buf attachment: the object holds a page use only, so the shrinker may evict
     * or purge it when it is idle; the adapter is told first (moveNotify), waits for the GPU work
     * that uses it, destroys the Vulkan memory and everything bound to it, and imports the pages
     * again on the next submission that uses the object.
     */
    DYNAMIC
}
