package dev.memmgr.vulkan;

import static org.lwjgl.system.MemoryStack.stackPush;
import static org.lwjgl.vulkan.VK10.VK_SHARING_MODE_EXCLUSIVE;
import static org.lwjgl.vulkan.VK10.vkBindBufferMemory;
import static org.lwjgl.vulkan.VK10.vkCreateBuffer;
import static org.lwjgl.vulkan.VK10.vkDestroyBuffer;
import static org.lwjgl.vulkan.VK10.vkGetBufferMemoryRequirements;

import java.nio.LongBuffer;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.vulkan.VkBufferCreateInfo;
import org.lwjgl.vulkan.VkDevice;
import org.lwjgl.vulkan.VkExternalMemoryBufferCreateInfo;
import org.lwjgl.vulkan.VkMemoryRequirements;

/**
 * A {@code VkBuffer} over a range of an imported object, made by
 * {@link HostImport#createBuffer(long, long, int)}. The adapter creates and binds the VkBuffer each
 * time the object's pages are imported, and destroys it when they move; {@link #handle()} is the
 * current one.
 *
 * <p>Locking: the handle is guarded by the object's reservation. A {@link ImportMode#DYNAMIC}
 * import's handle may only be read with the reservation held (inside a {@link CommandRecorder});
 * a {@link ImportMode#STATIC} one's stays valid until the import is closed.
 */
public final class ImportedBuffer {
    private final HostImport owner;
    private final long offset;
    private final long size;
    private final int usage;
    /** Memory types the buffer accepts (from its requirements). */
    final int typeBits;
    /** The bound VkBuffer, or 0 while the import is invalid; the object's reservation. */
    private long handle;

    private ImportedBuffer(HostImport owner, long offset, long size, int usage, int typeBits) {
        this.owner = owner;
        this.offset = offset;
        this.size = size;
        this.usage = usage;
        this.typeBits = typeBits;
    }

    /**
     * Checks that a buffer of this usage can live at this offset of the object: creates one, reads
     * its memory requirements, destroys it.
     *
     * @throws IllegalArgumentException if the offset is not aligned as the buffer needs, or no
     *     memory type fits
     * @throws IndexOutOfBoundsException if the buffer's memory would pass the end of the object
     */
    static ImportedBuffer probe(HostImport owner, long offset, long size, int usage) {
        VkDevice d = owner.device().vkDevice();
        long b = create(d, size, usage);
        try (MemoryStack s = stackPush()) {
            VkMemoryRequirements req = VkMemoryRequirements.malloc(s);
            vkGetBufferMemoryRequirements(d, b, req);
            owner.checkPlacement("buffer", offset, req.size(), req.alignment(), req.memoryTypeBits());
            return new ImportedBuffer(owner, offset, size, usage, req.memoryTypeBits());
        } finally {
            vkDestroyBuffer(d, b, null);
        }
    }

    private static long create(VkDevice d, long size, int usage) {
        try (MemoryStack s = stackPush()) {
            VkExternalMemoryBufferCreateInfo ext = VkExternalMemoryBufferCreateInfo.calloc(s).sType$Default()
                    .handleTypes(Vk.HOST_ALLOCATION);
            VkBufferCreateInfo ci = VkBufferCreateInfo.calloc(s).sType$Default().pNext(ext.address())
                    .size(size).usage(usage).sharingMode(VK_SHARING_MODE_EXCLUSIVE);
            LongBuffer p = s.mallocLong(1);
            Vk.check(vkCreateBuffer(d, ci, null, p), "vkCreateBuffer");
            return p.get(0);
        }
    }

    /** Creates the VkBuffer and binds it to the import's memory. Reservation held. */
    void bindLocked(long memory) {
        VkDevice d = owner.device().vkDevice();
        long b = create(d, size, usage);
        int r = vkBindBufferMemory(d, b, memory, offset);
        if (r != 0) {
            vkDestroyBuffer(d, b, null);
            Vk.check(r, "vkBindBufferMemory");
        }
        handle = b;
    }

    /** Destroys the VkBuffer, if any. Reservation held; the GPU no longer uses it. */
    void destroyLocked() {
        if (handle != 0) {
            vkDestroyBuffer(owner.device().vkDevice(), handle, null);
            handle = 0;
        }
    }

    /**
     * Returns the import this buffer belongs to.
     *
     * @return the import this buffer belongs to
     */
    public HostImport owner() {
        return owner;
    }

    /**
     * Returns where the buffer starts in the object, in bytes.
     *
     * @return the offset in the object
     */
    public long offset() {
        return offset;
    }

    /**
     * Returns the size of the buffer in bytes.
     *
     * @return the size in bytes
     */
    public long size() {
        return size;
    }

    /**
     * Returns the {@code VkBufferUsageFlags} it was created with.
     *
     * @return the usage flags
     */
    public int usage() {
        return usage;
    }

    /**
     * Returns the current {@code VkBuffer}.
     *
     * @return the VkBuffer handle, bound to the object's pages
     * @throws IllegalStateException if the import is closed or not imported now (a move dropped
     *     it: the next submission that uses it imports it again), or if it is dynamic and the
     *     calling thread does not hold the object's reservation
     */
    public long handle() {
        owner.checkHandleAccess("ImportedBuffer.handle()");
        return handle;
    }

    @Override
    public String toString() {
        return "ImportedBuffer[" + offset + "+" + size + " of " + owner + "]";
    }
}
