/**
 * memmgr buffer objects as Vulkan device memory: the adapter a Vulkan engine (through LWJGL) uses
 * to render from and into memory that memmgr manages, under memory pressure.
 *
 * <h2>How it works</h2>
 *
 * <p><b>Import.</b> {@link dev.memmgr.vulkan.VulkanDevice#importBuffer} exports a buffer object
 * and attaches to the DmaBuf as importer {@code "vulkan"}. Mapping the attachment gives the
 * object's mapping: its pages, contiguous in the process's address space, zero copy. The adapter
 * asks the driver which memory types can hold that host pointer
 * ({@code vkGetMemoryHostPointerPropertiesEXT}), intersects them with what each resource bound to
 * the import accepts, checks address and size against {@code minImportedHostPointerAlignment},
 * and allocates {@code VkDeviceMemory} with {@code VkImportMemoryHostPointerInfoEXT}
 * (VK_EXT_external_memory_host): the GPU then reads and writes the object's pages themselves, and
 * the CPU sees the results through {@code BufferObject.read}, a vmap, or the attachment. Buffers
 * and linear images ({@link dev.memmgr.vulkan.ImportedBuffer}, {@link dev.memmgr.vulkan.ImportedImage})
 * are created with {@code VkExternalMemory*CreateInfo} and bound at their offsets.
 *
 * <p><b>Static and dynamic.</b> A {@link dev.memmgr.vulkan.ImportMode#STATIC} import maps a static
 * attachment: the object is pinned until the import closes, never evicted, and its Vulkan memory
 * never changes. A {@link dev.memmgr.vulkan.ImportMode#DYNAMIC} import maps a dynamic one: the
 * mapping holds only a page use, so the shrinker may evict (or, for a DONTNEED object, purge) the
 * object once it is idle. Before the frames go, memmgr calls the attachment's {@code moveNotify}
 * in the evicting thread with the object's reservation held and the old mapping still in place;
 * the adapter waits for the GPU work that used the object (its last timeline value), destroys the
 * images, views and buffers bound to the memory, frees the {@code VkDeviceMemory}, and marks the
 * import invalid. The next submission that uses the object maps the attachment again (which swaps
 * the object in, at new frames and a new mapping) and imports the new pages, creating every
 * resource again; images restart in {@code VK_IMAGE_LAYOUT_PREINITIALIZED}, which keeps their
 * content. A purged object cannot come back: its next use throws {@code PurgedException}.
 *
 * <p><b>Fences, both ways.</b> {@link dev.memmgr.vulkan.VulkanDevice#submit} first waits, holding
 * no lock, for the memmgr fences the work depends on: explicit ones it is given, and the implicit
 * ones in each object's reservation (a reader waits for writers, a writer for everyone), as
 * dma-resv implicit sync does. It then locks every object's reservation at once (an
 * {@code Exec}: wait-die, no deadlock with other submitters), rechecks the fences, validates every
 * import, records and queues the command buffer with a signal of the device's timeline semaphore,
 * and adds a new memmgr {@link dev.memmgr.Fence} to every object (usage {@code WRITE} or
 * {@code READ}) before unlocking. While that fence is unsignaled the shrinker skips the objects;
 * no eviction can come in between, since the reservations are held from validation until the
 * fence is in place. A daemon thread waits on the timeline semaphore and signals each
 * submission's fence when the GPU has passed its value (with a {@code VulkanException} if the
 * device is lost), then recycles its command buffer.
 *
 * <p><b>Locks.</b> Reservations are taken before the device's submit lock (the queue and the
 * command pool); moveNotify runs with one reservation held and takes no other lock: it waits only
 * for the timeline, which the completion thread advances without locks. Resource handles of a
 * dynamic import may be read only with the object's reservation held, that is inside a
 * {@link dev.memmgr.vulkan.CommandRecorder}.
 *
 * <p><b>Limits.</b> Closing a {@code MemoryManager} frees its objects without telling importers:
 * the pages of a mapped import are replaced by zeros (the driver never faults on them, and nobody
 * else's bytes appear there), so work still running on the GPU reads zeros and writes nowhere.
 * Close the imports (or the device) first. Images are 2D, one level, one layer, linear tiling.
 */
package dev.memmgr.vulkan;
