package dev.memmgr.vulkan;

import static org.lwjgl.system.MemoryStack.stackPush;
import static org.lwjgl.vulkan.VK10.vkAllocateMemory;
import static org.lwjgl.vulkan.VK10.vkFreeMemory;
import static org.lwjgl.vulkan.EXTExternalMemoryHost.vkGetMemoryHostPointerPropertiesEXT;

import dev.memmgr.Attachment;
import dev.memmgr.BufferObject;
import dev.memmgr.DmaBuf;
import dev.memmgr.Reservation;
import java.lang.foreign.MemorySegment;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.vulkan.VkImportMemoryHostPointerInfoEXT;
import org.lwjgl.vulkan.VkMemoryAllocateInfo;
import org.lwjgl.vulkan.VkMemoryHostPointerPropertiesEXT;

/**
 * A buffer object imported into a {@link VulkanDevice} as {@code VkDeviceMemory}: a dma-buf
 * attachment named {@value VulkanDevice#IMPORTER} whose mapping (the pages of the object's
 * vmap, zero copy) is handed to the driver with VK_EXT_external_memory_host, and the
 * {@link ImportedBuffer}s and {@link ImportedImage}s bound to that memory.
 *
 * <p><b>States.</b> An import is <em>valid</em> while its VkDeviceMemory exists. A
 * {@link ImportMode#STATIC} import is valid from creation to {@link #close()} (its attachment
 * pins the object). A {@link ImportMode#DYNAMIC} one becomes invalid when the object moves
 * (eviction or purge: the attachment's moveNotify, in the evicting thread, waits for the GPU work
 * that uses the object, destroys the resources and frees the memory); it becomes valid again when
 * a submission uses it ({@link VulkanDevice#submit}) or on {@link #validate()}: the attachment is
 * mapped again, which swaps the object in, and the new pages are imported and every resource
 * created and bound anew. A purged object cannot come back: the next use throws
 * {@code PurgedException}.
 *
 * <p><b>Locking.</b> Everything that changes the import (validate, moveNotify, resource creation,
 * close) runs with the object's reservation held, which also guards the resources' handles.
 * {@link #close()} must be called without it.
 */
public final class HostImport implements AutoCloseable {
    private final VulkanDevice dev;
    private final BufferObject bo;
    private final DmaBuf buf;
    private final boolean ownsExport;
    private final ImportMode mode;
    private final Attachment attachment;
    /** The following fields: the object's reservation. */
    private final List<ImportedBuffer> buffers = new ArrayList<>();
    private final List<ImportedImage> images = new ArrayList<>();
    private long memory;
    private int memoryType;
    private long mappedAddress;
    /** Timeline value of the last submission that used the object. */
    private long lastUse;
    private volatile long generation;
    private volatile boolean valid;
    private volatile boolean closed;

    HostImport(VulkanDevice dev, DmaBuf buf, boolean ownsExport, ImportMode mode) {
        this.dev = dev;
        this.buf = buf;
        this.bo = buf.exporter();
        this.ownsExport = ownsExport;
        this.mode = mode;
        this.attachment = mode == ImportMode.STATIC ? buf.attach(VulkanDevice.IMPORTER)
                : buf.attach(VulkanDevice.IMPORTER, this::moveNotify);
    }

    /**
     * Returns the device the object is imported into.
     *
     * @return the device
     */
    public VulkanDevice device() {
        return dev;
    }

    /**
     * Returns the imported object (the exporter of the DmaBuf).
     *
     * @return the buffer object
     */
    public BufferObject bufferObject() {
        return bo;
    }

    /**
     * Returns the dma-buf attachment this import maps.
     *
     * @return the attachment
     */
    public Attachment attachment() {
        return attachment;
    }

    /**
     * Returns the mode given at import.
     *
     * @return the mode
     */
    public ImportMode mode() {
        return mode;
    }

    /**
     * Returns whether the pages are imported now (a snapshot unless the reservation is held).
     *
     * @return whether the VkDeviceMemory exists
     */
    public boolean isValid() {
        return valid;
    }

    /**
     * Returns whether {@link #close()} was called.
     *
     * @return whether the import is closed
     */
    public boolean isClosed() {
        return closed;
    }

    /**
     * Returns how many times the pages were imported: 1 after the first import, one more after each
     * re-import following a move.
     *
     * @return the number of imports of this object's pages
     */
    public long generation() {
        return generation;
    }

    /**
     * Returns the current {@code VkDeviceMemory}.
     *
     * @return the VkDeviceMemory handle
     * @throws IllegalStateException as {@link ImportedBuffer#handle()}
     */
    public long memory() {
        checkHandleAccess("HostImport.memory()");
        return memory;
    }

    /**
     * Makes the import valid now, as a submission would: maps the attachment (swapping the object in
     * if it was evicted) and imports the pages if a move dropped them. Takes the object's
     * reservation unless the calling thread holds it.
     *
     * @throws IllegalStateException if the import is closed or the object freed
     * @throws dev.memmgr.PurgedException if the object was purged
     * @throws dev.memmgr.GpuOutOfMemoryException if the object cannot be swapped in
     * @throws VulkanException if the driver refuses the import
     */
    public void validate() {
        locked(() -> {
            validateLocked();
            return null;
        });
    }

    /**
     * Creates a {@code VkBuffer} over bytes {@code [offset, offset + size)} of the object, bound to
     * the import's memory now if it is valid, else at the next import. It lives as long as the
     * import. Takes the object's reservation unless the calling thread holds it.
     *
     * @param offset where the buffer starts in the object; aligned as the driver requires for it
     * @param size the buffer's size in bytes, greater than 0
     * @param usage its {@code VkBufferUsageFlags}, not 0
     * @return the buffer
     * @throws IndexOutOfBoundsException if the range (or the memory the driver needs for it) is
     *     not inside the object
     * @throws IllegalArgumentException if usage is 0, the offset is misaligned, or no memory type
     *     fits the buffer and the import's other resources
     * @throws IllegalStateException if the import is closed
     */
    public ImportedBuffer createBuffer(long offset, long size, int usage) {
        checkRange(offset, size);
        if (usage == 0) {
            throw new IllegalArgumentException("buffer usage flags must not be 0");
        }
        return locked(() -> {
            checkOpen();
            ImportedBuffer b = ImportedBuffer.probe(this, offset, size, usage);
            buffers.add(b);
            afterAddLocked(b.typeBits, () -> b.bindLocked(memory), () -> buffers.remove(b));
            return b;
        });
    }

    /**
     * Creates a 2D colour {@code VkImage} with linear tiling, and its view, over the object from
     * {@code offset}, bound to the import's memory now if it is valid, else at the next import. It
     * lives as long as the import. Takes the object's reservation unless the calling thread holds it.
     *
     * @param offset where the pixels start in the object; aligned as the driver requires
     * @param width the width in pixels, greater than 0
     * @param height the height in pixels, greater than 0
     * @param format a colour {@code VkFormat}
     * @param usage its {@code VkImageUsageFlags}, not 0
     * @return the image
     * @throws IndexOutOfBoundsException if the image's memory is not inside the object
     * @throws IllegalArgumentException if a size or the usage is not positive, the format and usage
     *     cannot be imported from host memory with linear tiling, the offset is misaligned, or no
     *     memory type fits
     * @throws IllegalStateException if the import is closed
     */
    public ImportedImage createImage(long offset, int width, int height, int format, int usage) {
        if (offset < 0 || offset >= bo.size()) {
            throw new IndexOutOfBoundsException("image offset " + offset + " outside the object's " + bo.size()
                    + " bytes");
        }
        if (width <= 0 || height <= 0 || usage == 0) {
            throw new IllegalArgumentException("image " + width + "x" + height + " with usage 0x"
                    + Integer.toHexString(usage)
                    + ": sizes and usage must be positive");
        }
        return locked(() -> {
            checkOpen();
            ImportedImage i = ImportedImage.probe(this, offset, width, height, format, usage);
            images.add(i);
            afterAddLocked(i.typeBits, () -> i.bindLocked(memory), () -> images.remove(i));
            return i;
        });
    }

    /** A resource was added: bind it now, or re-import later if the memory's type does not suit it. */
    private void afterAddLocked(int typeBits, Runnable bind, Runnable forget) {
        if (memory == 0) {
            return;
        }
        try {
            if ((typeBits & (1 << memoryType)) == 0) {
                // imported again, with a type that suits every resource, at the next use
                dev.awaitValue(lastUse);
                dropLocked();
            } else {
                bind.run();
            }
        } catch (RuntimeException | Error e) {
            forget.run();
            throw e;
        }
    }

    /**
     * Closes the import: waits for the GPU work that uses the object, destroys the resources and
     * the Vulkan memory, unmaps and detaches the attachment (unpinning a static import), and closes
     * the object's export if {@link VulkanDevice#importBuffer} made it. Idempotent.
     *
     * @throws IllegalStateException if the calling thread holds the object's reservation
     */
    @Override
    public void close() {
        Reservation r = bo.resv();
        if (r.isHeldByCurrentThread()) {
            throw new IllegalStateException(
                    "HostImport.close() with the object's reservation held: it takes it itself");
        }
        r.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            dev.awaitValue(lastUse);
            dropLocked();
            if (attachment.isMapped()) {
                try {
                    attachment.unmap();
                } catch (IllegalStateException gone) {
                    // the object was freed (its manager closed): the mapping went with it
                }
            }
        } finally {
            r.unlock();
        }
        attachment.close();
        if (ownsExport) {
            buf.close();
        }
        dev.forget(this);
    }

    // ---- package: the device and the resources -------------------------------------------------

    Reservation resv() {
        return bo.resv();
    }

    /** Timeline value of the last submission that used the object; reservation held. */
    void usedBy(long value) {
        lastUse = Math.max(lastUse, value);
    }

    /**
     * Makes the import valid: maps the attachment and imports the mapping's pages if needed.
     * Reservation held.
     */
    void validateLocked() {
        checkOpen();
        bo.retain().release(); // IllegalStateException once the object is freed or its manager closed
        MemorySegment seg = attachment.map();
        if (memory != 0 && seg.address() == mappedAddress) {
            return;
        }
        dropLocked();
        importLocked(seg);
    }

    /** The attachment's move notice: the pages are about to move. Evicting thread, reservation held. */
    private void moveNotify(Attachment a) {
        if (memory == 0) {
            return;
        }
        dev.awaitValue(lastUse);
        dropLocked();
        dev.countInvalidation();
    }

    /** Destroys every resource and frees the memory. Reservation held; the GPU is done with them. */
    private void dropLocked() {
        valid = false;
        for (ImportedImage i : images) {
            i.destroyLocked();
        }
        for (ImportedBuffer b : buffers) {
            b.destroyLocked();
        }
        if (memory != 0) {
            vkFreeMemory(dev.vkDevice(), memory, null);
            memory = 0;
            mappedAddress = 0;
        }
    }

    private void importLocked(MemorySegment seg) {
        long address = seg.address();
        long size = seg.byteSize();
        long align = dev.hostPointerAlignment();
        if (address % align != 0 || size % align != 0) {
            throw new IllegalStateException("cannot import " + bo + ": its mapping at 0x" + Long.toHexString(address)
                    + " of " + size + " bytes is not aligned to the driver's minImportedHostPointerAlignment " + align);
        }
        int bits = hostPointerTypeBits(address);
        for (ImportedBuffer b : buffers) {
            bits &= b.typeBits;
        }
        for (ImportedImage i : images) {
            bits &= i.typeBits;
        }
        int type = dev.hostVisibleCoherentType(bits);
        if (type < 0) {
            throw new IllegalStateException("no host-visible, host-coherent memory type of " + dev.deviceName()
                    + " fits the host pointer and every resource of " + this + " (type bits 0x"
                    + Integer.toHexString(bits) + ")");
        }
        try (MemoryStack s = stackPush()) {
            VkImportMemoryHostPointerInfoEXT host = VkImportMemoryHostPointerInfoEXT.calloc(s).sType$Default()
                    .handleType(Vk.HOST_ALLOCATION).pHostPointer(address);
            VkMemoryAllocateInfo ai = VkMemoryAllocateInfo.calloc(s).sType$Default().pNext(host.address())
                    .allocationSize(size).memoryTypeIndex(type);
            LongBuffer p = s.mallocLong(1);
            Vk.check(vkAllocateMemory(dev.vkDevice(), ai, null, p), "vkAllocateMemory (import of host pointer)");
            memory = p.get(0);
        }
        mappedAddress = address;
        memoryType = type;
        try {
            for (ImportedBuffer b : buffers) {
                b.bindLocked(memory);
            }
            for (ImportedImage i : images) {
                i.bindLocked(memory);
            }
        } catch (RuntimeException | Error e) {
            dropLocked();
            throw e;
        }
        generation++;
        valid = true;
        dev.countImport(generation > 1);
    }

    private int hostPointerTypeBits(long address) {
        try (MemoryStack s = stackPush()) {
            VkMemoryHostPointerPropertiesEXT props = VkMemoryHostPointerPropertiesEXT.calloc(s).sType$Default();
            Vk.check(vkGetMemoryHostPointerPropertiesEXT(dev.vkDevice(), Vk.HOST_ALLOCATION, address, props),
                    "vkGetMemoryHostPointerPropertiesEXT");
            return props.memoryTypeBits();
        }
    }

    /** Checks where a resource's memory would lie in the object. */
    void checkPlacement(String what, long offset, long size, long alignment, int typeBits) {
        if (alignment > 0 && offset % alignment != 0) {
            throw new IllegalArgumentException(what + " offset " + offset + " is not a multiple of its alignment "
                    + alignment);
        }
        if (size > bo.size() - offset) {
            throw new IndexOutOfBoundsException(what + " needs " + size + " bytes from offset " + offset
                    + ", past the end of the object's " + bo.size() + " bytes");
        }
        if (dev.hostVisibleCoherentType(typeBits) < 0) {
            throw new IllegalArgumentException(what + " accepts no host-visible, host-coherent memory type"
                    + " (type bits 0x"
                    + Integer.toHexString(typeBits) + ")");
        }
    }

    /** Checks that a resource handle may be read by the calling thread now. */
    void checkHandleAccess(String what) {
        checkOpen();
        if (mode == ImportMode.DYNAMIC && !bo.resv().isHeldByCurrentThread()) {
            throw new IllegalStateException(what + " of a dynamic import needs the object's reservation held"
                    + " (use it inside a CommandRecorder): a move may destroy it at any other time");
        }
        if (!valid) {
            throw new IllegalStateException(what + ": " + this + " is not imported now (the object moved);"
                    + " the next submission that uses it imports it again");
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException(this + " is closed");
        }
    }

    private void checkRange(long offset, long size) {
        if (size <= 0) {
            throw new IllegalArgumentException("buffer size must be positive: " + size);
        }
        if (offset < 0 || offset > bo.size() - size) {
            throw new IndexOutOfBoundsException("buffer [" + offset + ", " + offset + " + " + size
                    + ") outside the object's " + bo.size() + " bytes");
        }
    }

    private <T> T locked(Supplier<T> action) {
        Reservation r = bo.resv();
        if (r.isHeldByCurrentThread()) {
            return action.get();
        }
        r.lock();
        try {
            return action.get();
        } finally {
            r.unlock();
        }
    }

    @Override
    public String toString() {
        return "HostImport[" + mode.name().toLowerCase(java.util.Locale.ROOT) + ", " + bo.size() + " bytes"
                + (closed ? ", closed" : valid ? ", valid" : ", moved") + "]";
    }

}
