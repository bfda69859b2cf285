package dev.memmgr.vulkan;

import static org.lwjgl.system.MemoryStack.stackPush;
import static org.lwjgl.vulkan.VK10.VK_COMPONENT_SWIZZLE_IDENTITY;
import static org.lwjgl.vulkan.VK10.VK_IMAGE_ASPECT_COLOR_BIT;
import static org.lwjgl.vulkan.VK10.VK_IMAGE_LAYOUT_PREINITIALIZED;
import static org.lwjgl.vulkan.VK10.VK_IMAGE_TILING_LINEAR;
import static org.lwjgl.vulkan.VK10.VK_IMAGE_TYPE_2D;
import static org.lwjgl.vulkan.VK10.VK_IMAGE_VIEW_TYPE_2D;
import static org.lwjgl.vulkan.VK10.VK_SAMPLE_COUNT_1_BIT;
import static org.lwjgl.vulkan.VK10.VK_SHARING_MODE_EXCLUSIVE;
import static org.lwjgl.vulkan.VK10.VK_SUCCESS;
import static org.lwjgl.vulkan.VK10.vkBindImageMemory;
import static org.lwjgl.vulkan.VK10.vkCreateImage;
import static org.lwjgl.vulkan.VK10.vkCreateImageView;
import static org.lwjgl.vulkan.VK10.vkDestroyImage;
import static org.lwjgl.vulkan.VK10.vkDestroyImageView;
import static org.lwjgl.vulkan.VK10.vkGetImageMemoryRequirements;
import static org.lwjgl.vulkan.VK10.vkGetImageSubresourceLayout;
import static org.lwjgl.vulkan.VK11.VK_EXTERNAL_MEMORY_FEATURE_IMPORTABLE_BIT;
import static org.lwjgl.vulkan.VK11.vkGetPhysicalDeviceImageFormatProperties2;

import java.nio.LongBuffer;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.vulkan.VkDevice;
import org.lwjgl.vulkan.VkExternalImageFormatProperties;
import org.lwjgl.vulkan.VkExternalMemoryImageCreateInfo;
import org.lwjgl.vulkan.VkImageCreateInfo;
import org.lwjgl.vulkan.VkImageFormatProperties2;
import org.lwjgl.vulkan.VkImageSubresource;
import org.lwjgl.vulkan.VkImageViewCreateInfo;
import org.lwjgl.vulkan.VkMemoryRequirements;
import org.lwjgl.vulkan.VkPhysicalDeviceExternalImageFormatInfo;
import org.lwjgl.vulkan.VkPhysicalDeviceImageFormatInfo2;
import org.lwjgl.vulkan.VkSubresourceLayout;

/**
 * A 2D colour {@code VkImage} (one mip level, one layer, linear tiling) and its
 * {@code VkImageView} over a range of an imported object, made by
 * {@link HostImport#createImage(long, int, int, int, int)}. Linear tiling makes the object's bytes
 * the pixels, row by row, {@link #rowPitch()} bytes apart: the CPU writes a texture or reads a
 * rendered image through memmgr ({@code BufferObject.write}/{@code read}) with no copy.
 *
 * <p>The adapter creates and binds the image each time the object's pages are imported (in
 * layout {@code VK_IMAGE_LAYOUT_PREINITIALIZED}, which keeps the content) and destroys it when
 * they move. {@link #layout()} is the layout the recorded commands left it in: a recorder reads it
 * as the old layout of its barrier and sets the new one with {@link #setLayout(int)}.
 *
 * <p>Locking: as {@link ImportedBuffer}: the handles and the layout are guarded by the object's
 * reservation.
 */
public final class ImportedImage {
    private final HostImport owner;
    private final long offset;
    private final int width;
    private final int height;
    private final int format;
    private final int usage;
    private final long rowPitch;
    /** Memory types the image accepts. */
    final int typeBits;
    /** Current VkImage, VkImageView and layout; the object's reservation. */
    private long image;
    private long view;
    private int layout = VK_IMAGE_LAYOUT_PREINITIALIZED;

    private ImportedImage(HostImport owner, long offset, int width, int height, int format, int usage, long rowPitch,
                          int typeBits) {
        this.owner = owner;
        this.offset = offset;
        this.width = width;
        this.height = height;
        this.format = format;
        this.usage = usage;
        this.rowPitch = rowPitch;
        this.typeBits = typeBits;
    }

    /**
     * Checks that such an image can live at this offset of the object: the format and usage are
     * supported for host-memory imports with linear tiling, and a probe image's requirements fit.
     *
     * @throws IllegalArgumentException if not
     * @throws IndexOutOfBoundsException if the image's memory would pass the end of the object
     */
    static ImportedImage probe(HostImport owner, long offset, int width, int height, int format, int usage) {
        VulkanDevice dev = owner.device();
        checkSupported(dev, width, height, format, usage);
        VkDevice d = dev.vkDevice();
        long img = create(d, width, height, format, usage);
        try (MemoryStack s = stackPush()) {
            VkMemoryRequirements req = VkMemoryRequirements.malloc(s);
            vkGetImageMemoryRequirements(d, img, req);
            owner.checkPlacement("image", offset, req.size(), req.alignment(), req.memoryTypeBits());
            VkSubresourceLayout sl = VkSubresourceLayout.malloc(s);
            vkGetImageSubresourceLayout(d, img, VkImageSubresource.calloc(s).aspectMask(VK_IMAGE_ASPECT_COLOR_BIT), sl);
            if (sl.offset() != 0) {
                throw new IllegalArgumentException("the driver places the image's pixels " + sl.offset()
                        + " bytes into its memory; only 0 is supported");
            }
            return new ImportedImage(owner, offset, width, height, format, usage, sl.rowPitch(), req.memoryTypeBits());
        } finally {
            vkDestroyImage(d, img, null);
        }
    }

    private static void checkSupported(VulkanDevice dev, int width, int height, int format, int usage) {
        try (MemoryStack s = stackPush()) {
            VkPhysicalDeviceExternalImageFormatInfo ext = VkPhysicalDeviceExternalImageFormatInfo.calloc(s)
                    .sType$Default()
                    .handleType(Vk.HOST_ALLOCATION);
            VkPhysicalDeviceImageFormatInfo2 info = VkPhysicalDeviceImageFormatInfo2.calloc(s).sType$Default()
                    .pNext(ext.address()).format(format).type(VK_IMAGE_TYPE_2D).tiling(VK_IMAGE_TILING_LINEAR)
                    .usage(usage);
            VkExternalImageFormatProperties extProps = VkExternalImageFormatProperties.calloc(s).sType$Default();
            VkImageFormatProperties2 props = VkImageFormatProperties2.calloc(s).sType$Default()
                    .pNext(extProps.address());
            int r = vkGetPhysicalDeviceImageFormatProperties2(dev.vkPhysicalDevice(), info, props);
            if (r != VK_SUCCESS
                    || (extProps.externalMemoryProperties().externalMemoryFeatures()
                        & VK_EXTERNAL_MEMORY_FEATURE_IMPORTABLE_BIT) == 0) {
                throw new IllegalArgumentException("format " + format + " with usage 0x" + Integer.toHexString(usage)
                        + " and linear tiling cannot be imported from host memory on " + dev.deviceName()
                        + " (" + Vk.resultName(r) + ")");
            }
            var max = props.imageFormatProperties().maxExtent();
            if (width > max.width() || height > max.height()) {
                throw new IllegalArgumentException("image " + width + "x" + height + " exceeds the device's "
                        + max.width() + "x" + max.height() + " for format " + format + " with linear tiling");
            }
        }
    }

    private static long create(VkDevice d, int width, int height, int format, int usage) {
        try (MemoryStack s = stackPush()) {
            VkExternalMemoryImageCreateInfo ext = VkExternalMemoryImageCreateInfo.calloc(s).sType$Default()
                    .handleTypes(Vk.HOST_ALLOCATION);
            VkImageCreateInfo ci = VkImageCreateInfo.calloc(s).sType$Default().pNext(ext.address())
                    .imageType(VK_IMAGE_TYPE_2D).format(format).mipLevels(1).arrayLayers(1)
                    .samples(VK_SAMPLE_COUNT_1_BIT).tiling(VK_IMAGE_TILING_LINEAR).usage(usage)
                    .sharingMode(VK_SHARING_MODE_EXCLUSIVE).initialLayout(VK_IMAGE_LAYOUT_PREINITIALIZED);
            ci.extent().set(width, height, 1);
            LongBuffer p = s.mallocLong(1);
            Vk.check(vkCreateImage(d, ci, null, p), "vkCreateImage");
            return p.get(0);
        }
    }

    /** Creates the image and its view and binds the image to the import's memory. Reservation held. */
    void bindLocked(long memory) {
        VkDevice d = owner.device().vkDevice();
        long img = create(d, width, height, format, usage);
        try (MemoryStack s = stackPush()) {
            Vk.check(vkBindImageMemory(d, img, memory, offset), "vkBindImageMemory");
            VkImageViewCreateInfo vi = VkImageViewCreateInfo.calloc(s).sType$Default().image(img)
                    .viewType(VK_IMAGE_VIEW_TYPE_2D).format(format);
            vi.components().set(VK_COMPONENT_SWIZZLE_IDENTITY, VK_COMPONENT_SWIZZLE_IDENTITY,
                    VK_COMPONENT_SWIZZLE_IDENTITY, VK_COMPONENT_SWIZZLE_IDENTITY);
            vi.subresourceRange().set(VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1);
            LongBuffer p = s.mallocLong(1);
            Vk.check(vkCreateImageView(d, vi, null, p), "vkCreateImageView");
            image = img;
            view = p.get(0);
            layout = VK_IMAGE_LAYOUT_PREINITIALIZED;
        } catch (RuntimeException | Error e) {
            vkDestroyImage(d, img, null);
            throw e;
        }
    }

    /** Destroys the view and the image, if any. Reservation held; the GPU no longer uses them. */
    void destroyLocked() {
        VkDevice d = owner.device().vkDevice();
        if (view != 0) {
            vkDestroyImageView(d, view, null);
            view = 0;
        }
        if (image != 0) {
            vkDestroyImage(d, image, null);
            image = 0;
        }
    }

    /**
     * Returns the import this image belongs to.
     *
     * @return the import this image belongs to
     */
    public HostImport owner() {
        return owner;
    }

    /**
     * Returns where the image's pixels start in the object, in bytes.
     *
     * @return the offset in the object
     */
    public long offset() {
        return offset;
    }

    /**
     * Returns the width in pixels.
     *
     * @return the width in pixels
     */
    public int width() {
        return width;
    }

    /**
     * Returns the height in pixels.
     *
     * @return the height in pixels
     */
    public int height() {
        return height;
    }

    /**
     * Returns the {@code VkFormat}.
     *
     * @return the VkFormat
     */
    public int format() {
        return format;
    }

    /**
     * Returns the {@code VkImageUsageFlags} it was created with.
     *
     * @return the usage flags
     */
    public int usage() {
        return usage;
    }

    /**
     * Returns the bytes between the starts of two rows, as the driver lays the image out: row
     * {@code y} starts at {@code offset() + y * rowPitch()} in the object.
     *
     * @return the row pitch in bytes
     */
    public long rowPitch() {
        return rowPitch;
    }

    /**
     * Returns the current {@code VkImage}.
     *
     * @return the VkImage handle
     * @throws IllegalStateException as {@link ImportedBuffer#handle()}
     */
    public long image() {
        owner.checkHandleAccess("ImportedImage.image()");
        return image;
    }

    /**
     * Returns the current {@code VkImageView} (2D, the whole image, identity swizzle).
     *
     * @return the VkImageView handle
     * @throws IllegalStateException as {@link ImportedBuffer#handle()}
     */
    public long view() {
        owner.checkHandleAccess("ImportedImage.view()");
        return view;
    }

    /**
     * Returns the layout the image is in after the commands recorded so far:
     * {@code VK_IMAGE_LAYOUT_PREINITIALIZED} after each import.
     *
     * @return the VkImageLayout
     * @throws IllegalStateException as {@link ImportedBuffer#handle()}
     */
    public int layout() {
        owner.checkHandleAccess("ImportedImage.layout()");
        return layout;
    }

    /**
     * Records the layout the recorded commands leave the image in (after a layout transition).
     *
     * @param newLayout the VkImageLayout
     * @throws IllegalStateException as {@link ImportedBuffer#handle()}
     */
    public void setLayout(int newLayout) {
        owner.checkHandleAccess("ImportedImage.setLayout()");
        layout = newLayout;
    }

    @Override
    public String toString() {
        return "ImportedImage[" + width + "x" + height + " at " + offset + " of " + owner + "]";
    }
}
