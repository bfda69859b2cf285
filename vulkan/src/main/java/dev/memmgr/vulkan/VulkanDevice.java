package dev.memmgr.vulkan;

import static org.lwjgl.system.MemoryStack.stackPush;
import static org.lwjgl.vulkan.VK10.VK_COMMAND_BUFFER_LEVEL_PRIMARY;
import static org.lwjgl.vulkan.VK10.VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
import static org.lwjgl.vulkan.VK10.VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
import static org.lwjgl.vulkan.VK10.VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
import static org.lwjgl.vulkan.VK10.VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
import static org.lwjgl.vulkan.VK10.VK_NULL_HANDLE;
import static org.lwjgl.vulkan.VK10.vkAllocateCommandBuffers;
import static org.lwjgl.vulkan.VK10.vkBeginCommandBuffer;
import static org.lwjgl.vulkan.VK10.vkCreateCommandPool;
import static org.lwjgl.vulkan.VK10.vkCreateSemaphore;
import static org.lwjgl.vulkan.VK10.vkDestroyCommandPool;
import static org.lwjgl.vulkan.VK10.vkDestroyDevice;
import static org.lwjgl.vulkan.VK10.vkDestroyInstance;
import static org.lwjgl.vulkan.VK10.vkDestroySemaphore;
import static org.lwjgl.vulkan.VK10.vkDeviceWaitIdle;
import static org.lwjgl.vulkan.VK10.vkEndCommandBuffer;
import static org.lwjgl.vulkan.VK10.vkGetDeviceQueue;
import static org.lwjgl.vulkan.VK10.vkQueueSubmit;
import static org.lwjgl.vulkan.VK10.vkResetCommandBuffer;
import static org.lwjgl.vulkan.VK12.VK_SEMAPHORE_TYPE_TIMELINE;

import dev.memmgr.BufferObject;
import dev.memmgr.DmaBuf;
import dev.memmgr.Exec;
import dev.memmgr.Fence;
import java.nio.LongBuffer;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import org.lwjgl.PointerBuffer;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.vulkan.VkCommandBuffer;
import org.lwjgl.vulkan.VkCommandBufferAllocateInfo;
import org.lwjgl.vulkan.VkCommandBufferBeginInfo;
import org.lwjgl.vulkan.VkCommandPoolCreateInfo;
import org.lwjgl.vulkan.VkDevice;
import org.lwjgl.vulkan.VkInstance;
import org.lwjgl.vulkan.VkPhysicalDevice;
import org.lwjgl.vulkan.VkQueue;
import org.lwjgl.vulkan.VkSemaphoreCreateInfo;
import org.lwjgl.vulkan.VkSemaphoreTypeCreateInfo;
import org.lwjgl.vulkan.VkSubmitInfo;
import org.lwjgl.vulkan.VkTimelineSemaphoreSubmitInfo;

/**
 * A Vulkan device that uses memmgr buffer objects as its memory: it imports them
 * ({@link #importBuffer}) as {@code VkDeviceMemory} over their pages, zero copy, and queues
 * command buffers that use them ({@link #submit}) with the fences tied both ways. See the package
 * documentation for the whole mechanism.
 *
 * <p>The device owns a {@code VkInstance}, the first physical device with
 * VK_EXT_external_memory_host and timeline semaphores, a logical device with one queue that does
 * graphics and compute (plus dynamic rendering and synchronization2 where Vulkan 1.3 has them),
 * a command pool, a timeline semaphore and a daemon thread ({@code memmgr-vulkan-completion})
 * that signals the memmgr fences of finished submissions. Engines record their own pipelines,
 * descriptors and commands with LWJGL on {@link #vkDevice()}.
 *
 * <p>Thread-safe. Close every import and the device before closing the memory managers whose
 * objects it imported: the driver keeps raw pointers to their pages.
 */
public final class VulkanDevice implements AutoCloseable {
    /** The name of the adapter's dma-buf attachments ({@code Attachment.importer()}). */
    public static final String IMPORTER = "vulkan";

    private final DeviceSetup.Created setup;
    private final VkQueue queue;
    private final long commandPool;
    private final long timeline;
    private final Completion completion;
    /** Guards the queue, the command pool and {@link #lastValue} (Vulkan's external synchronisation). */
    private final ReentrantLock submitLock = new ReentrantLock();
    private long lastValue;
    private final Set<HostImport> imports = ConcurrentHashMap.newKeySet();
    private final AtomicLong importCount = new AtomicLong();
    private final AtomicLong reimportCount = new AtomicLong();
    private final AtomicLong invalidationCount = new AtomicLong();
    private final AtomicLong submissionCount = new AtomicLong();
    private volatile boolean closed;

    private VulkanDevice(DeviceSetup.Created setup) {
        this.setup = setup;
        VkDevice d = setup.device();
        try (MemoryStack s = stackPush()) {
            PointerBuffer q = s.mallocPointer(1);
            vkGetDeviceQueue(d, setup.queueFamily(), 0, q);
            queue = new VkQueue(q.get(0), d);
            LongBuffer p = s.mallocLong(1);
            Vk.check(vkCreateCommandPool(d, VkCommandPoolCreateInfo.calloc(s).sType$Default()
                    .flags(VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT).queueFamilyIndex(setup.queueFamily()),
                    null, p),
                    "vkCreateCommandPool");
            commandPool = p.get(0);
            VkSemaphoreTypeCreateInfo type = VkSemaphoreTypeCreateInfo.calloc(s).sType$Default()
                    .semaphoreType(VK_SEMAPHORE_TYPE_TIMELINE).initialValue(0);
            VkSemaphoreCreateInfo ci = VkSemaphoreCreateInfo.calloc(s).sType$Default().pNext(type.address());
            int r = vkCreateSemaphore(d, ci, null, p);
            if (r != 0) {
                vkDestroyCommandPool(d, commandPool, null);
                Vk.check(r, "vkCreateSemaphore (timeline)");
            }
            timeline = p.get(0);
        }
        completion = new Completion(d, timeline);
        completion.start();
    }

    /**
     * Tells whether this machine has a Vulkan driver the adapter can use, without throwing: opens a
     * device and closes it.
     *
     * @return available with the device's description, or unavailable with the reason and the
     *     package to install
     */
    public static VulkanAvailability probe() {
        try (VulkanDevice d = open()) {
            return new VulkanAvailability(true, d.describe());
        } catch (RuntimeException | LinkageError e) {
            String why = e.getMessage() != null ? e.getMessage() : e.toString();
            return new VulkanAvailability(false, "no usable Vulkan driver: " + why + ". Install Mesa's lavapipe (a CPU"
                    + " Vulkan driver): apt-get install " + VulkanAvailability.DRIVER_PACKAGE);
        }
    }

    /**
     * Opens the first device that has what the adapter needs.
     *
     * @return the device
     * @throws VulkanException if no device qualifies (the message says what each one lacks) or a
     *     Vulkan call fails
     * @throws LinkageError if the Vulkan loader (libvulkan.so.1) cannot be loaded
     */
    public static VulkanDevice open() {
        return open(List.of());
    }

    /**
     * Opens the first device that has what the adapter needs and the extensions given, enabled.
     *
     * @param extraExtensions device extensions the engine needs (e.g. {@code VK_KHR_push_descriptor})
     * @return the device
     * @throws VulkanException if no device qualifies or a Vulkan call fails
     * @throws NullPointerException if the list or an element is null
     */
    public static VulkanDevice open(List<String> extraExtensions) {
        List<String> extra = List.copyOf(extraExtensions);
        DeviceSetup.Created c = DeviceSetup.create(extra);
        try {
            return new VulkanDevice(c);
        } catch (RuntimeException | Error e) {
            vkDestroyDevice(c.device(), null);
            vkDestroyInstance(c.instance(), null);
            throw e;
        }
    }

    // ---- what the device is ---------------------------------------------------------------------

    /**
     * Returns the LWJGL instance.
     *
     * @return the VkInstance
     */
    public VkInstance vkInstance() {
        return setup.instance();
    }

    /**
     * Returns the physical device in use.
     *
     * @return the VkPhysicalDevice
     */
    public VkPhysicalDevice vkPhysicalDevice() {
        return setup.physical();
    }

    /**
     * Returns the logical device, for the engine's own objects (pipelines, samplers, ...).
     *
     * @return the VkDevice
     */
    public VkDevice vkDevice() {
        return setup.device();
    }

    /**
     * Returns the index of the queue family of the device's queue.
     *
     * @return the queue family index
     */
    public int queueFamily() {
        return setup.queueFamily();
    }

    /**
     * Returns the device's name, e.g. {@code llvmpipe (LLVM 15.0.6, 256 bits)} for lavapipe.
     *
     * @return the device's name
     */
    public String deviceName() {
        return setup.name();
    }

    /**
     * Returns the Vulkan version in use (the lower of the instance's and the device's).
     *
     * @return the API version, as VK_MAKE_API_VERSION encodes it
     */
    public int apiVersion() {
        return setup.apiVersion();
    }

    /**
     * Returns {@code minImportedHostPointerAlignment}: imports need the address and the size of
     * an object's mapping to be multiples of it.
     *
     * @return the alignment in bytes
     */
    public long hostPointerAlignment() {
        return setup.hostPointerAlignment();
    }

    /**
     * Returns whether dynamic rendering ({@code vkCmdBeginRendering}) is enabled.
     *
     * @return whether Vulkan 1.3 dynamic rendering is on
     */
    public boolean dynamicRendering() {
        return setup.dynamicRendering();
    }

    /**
     * Returns whether a device extension is enabled (the adapter's or one asked for at open).
     *
     * @param name the extension's name
     * @return whether it is enabled
     */
    public boolean hasExtension(String name) {
        return setup.extensions().contains(name);
    }

    /**
     * Returns the counters since the device was opened.
     *
     * @return the counters
     */
    public VulkanStats stats() {
        return new VulkanStats(importCount.get(), reimportCount.get(), invalidationCount.get(), submissionCount.get(),
                completion.signaledCount());
    }

    /**
     * Returns the imports that are not closed.
     *
     * @return a snapshot of the open imports
     */
    public List<HostImport> imports() {
        return List.copyOf(imports);
    }

    // ---- imports --------------------------------------------------------------------------------

    /**
     * Imports a buffer object: exports it ({@code bo.export()}), attaches as {@value #IMPORTER},
     * and, for a static import, maps the attachment (pinning the object) and imports its pages
     * now; a dynamic import imports them at its first use. Closing the import closes the export
     * too: to share the export with other importers, use {@link #importDmaBuf}.
     *
     * @param bo the object, of any manager
     * @param mode static (pinned) or dynamic (evictable, re-imported)
     * @return the import
     * @throws NullPointerException if an argument is null
     * @throws IllegalStateException if the device is closed or the object freed
     * @throws VulkanException if the driver refuses the pages (nothing is left attached)
     */
    public HostImport importBuffer(BufferObject bo, ImportMode mode) {
        Objects.requireNonNull(bo, "bo");
        Objects.requireNonNull(mode, "mode");
        checkOpen();
        DmaBuf buf = bo.export();
        try {
            return register(new HostImport(this, buf, true, mode));
        } catch (RuntimeException | Error e) {
            buf.close();
            throw e;
        }
    }

    /**
     * Imports an exported buffer: attaches as {@value #IMPORTER}, as {@link #importBuffer} does; the
     * DmaBuf stays the caller's to close.
     *
     * @param buf the export
     * @param mode static (pinned) or dynamic (evictable, re-imported)
     * @return the import
     * @throws NullPointerException if an argument is null
     * @throws IllegalStateException if the device or the DmaBuf is closed
     * @throws VulkanException if the driver refuses the pages (nothing is left attached)
     */
    public HostImport importDmaBuf(DmaBuf buf, ImportMode mode) {
        Objects.requireNonNull(buf, "buf");
        Objects.requireNonNull(mode, "mode");
        checkOpen();
        return register(new HostImport(this, buf, false, mode));
    }

    private HostImport register(HostImport imp) {
        imports.add(imp);
        if (closed) { // close() has taken its snapshot of the imports
            imp.close();
            throw new IllegalStateException("the Vulkan device is closed");
        }
        if (imp.mode() == ImportMode.STATIC) {
            try {
                imp.validate();
            } catch (RuntimeException | Error e) {
                imp.close();
                throw e;
            }
        }
        return imp;
    }

    // ---- submission -----------------------------------------------------------------------------

    /**
     * Queues a command buffer that uses these imports, as {@link #submit(List, List, CommandRecorder)}
     * with no explicit fences to wait for.
     *
     * @param uses the imports the commands use, and how
     * @param recorder records the commands
     * @return the submission
     */
    public Submission submit(List<Use> uses, CommandRecorder recorder) {
        return submit(uses, List.of(), recorder);
    }

    /**
     * Queues a command buffer that uses these imports:
     * <ol>
     * <li>waits, holding no lock, for the explicit fences and for the implicit ones of each object
     * (a {@link Access#READ} use waits for its {@code WRITE} fences, a {@link Access#WRITE} use
     * for all but {@code BOOKKEEP}), then locks every object's reservation (an {@link Exec},
     * wait-die), and waits again without the locks if a new fence came in meanwhile;
     * <li>validates every import (swap-in and re-import of moved ones), with the locks held, so no
     * object can move until the submission's fence is on it;
     * <li>begins a command buffer, runs the recorder, ends it, queues it with a timeline semaphore
     * signal operation, and adds the submission's memmgr fence to every object ({@code READ} or
     * {@code WRITE} usage), then unlocks.
     * </ol>
     * If an explicit fence signaled with an error, nothing is recorded or queued, and the returned
     * submission's fence is already signaled with that error (as drm_sched skips a job whose
     * dependency failed).
     *
     * @param uses the imports the commands use, and how; an import listed twice counts once, as a
     *     write if either use is
     * @param waitFor memmgr fences that must signal before the commands are queued
     * @param recorder records the commands
     * @return the submission
     * @throws NullPointerException if an argument or an element is null
     * @throws IllegalArgumentException if an import belongs to another device
     * @throws IllegalStateException if the device or an import is closed, an object is freed, or
     *     the calling thread holds an object's reservation
     * @throws dev.memmgr.PurgedException if an object was purged
     * @throws VulkanException if a Vulkan call fails (nothing is queued)
     */
    public Submission submit(List<Use> uses, List<Fence> waitFor, CommandRecorder recorder) {
        Objects.requireNonNull(recorder, "recorder");
        List<Fence> waits = List.copyOf(waitFor);
        SubmitSet set = SubmitSet.of(this, uses);
        checkOpen();
        for (;;) {
            Throwable failed = set.awaitFences(waits);
            if (failed != null) {
                Fence f = new Fence();
                f.signal(failed);
                return new Submission(0, f);
            }
            Exec exec = set.lockAll();
            try {
                if (set.ready(waits)) {
                    set.validateLocked();
                    return queueLocked(set, recorder);
                }
                // a fence came in between the wait and the lock: wait again, unlocked
            } finally {
                exec.close();
            }
        }
    }

    /** Records and queues; every reservation of the set is held. */
    private Submission queueLocked(SubmitSet set, CommandRecorder recorder) {
        Fence fence = new Fence();
        long value;
        submitLock.lock();
        try {
            checkOpen();
            VkCommandBuffer cmd = takeCommandBuffer();
            try (MemoryStack s = stackPush()) {
                Vk.check(vkBeginCommandBuffer(cmd, VkCommandBufferBeginInfo.calloc(s).sType$Default()
                        .flags(VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT)), "vkBeginCommandBuffer");
                recorder.record(cmd);
                Vk.check(vkEndCommandBuffer(cmd), "vkEndCommandBuffer");
                value = lastValue + 1;
                VkTimelineSemaphoreSubmitInfo tl = VkTimelineSemaphoreSubmitInfo.calloc(s).sType$Default()
                        .signalSemaphoreValueCount(1).pSignalSemaphoreValues(s.longs(value));
                VkSubmitInfo info = VkSubmitInfo.calloc(s).sType$Default().pNext(tl.address())
                        .pCommandBuffers(s.pointers(cmd)).pSignalSemaphores(s.longs(timeline));
                Vk.check(vkQueueSubmit(queue, info, VK_NULL_HANDLE), "vkQueueSubmit");
            } catch (RuntimeException | Error e) {
                vkResetCommandBuffer(cmd, 0); // never queued (maybe still recording): back to initial
                completion.free.add(cmd);
                throw e;
            }
            lastValue = value;
            submissionCount.incrementAndGet();
            completion.track(value, fence, cmd);
        } finally {
            submitLock.unlock();
        }
        set.fenceLocked(fence, value);
        return new Submission(value, fence);
    }

    private VkCommandBuffer takeCommandBuffer() {
        VkCommandBuffer cmd = completion.free.poll();
        if (cmd != null) {
            return cmd;
        }
        try (MemoryStack s = stackPush()) {
            PointerBuffer p = s.mallocPointer(1);
            Vk.check(vkAllocateCommandBuffers(vkDevice(), VkCommandBufferAllocateInfo.calloc(s).sType$Default()
                    .commandPool(commandPool).level(VK_COMMAND_BUFFER_LEVEL_PRIMARY).commandBufferCount(1), p),
                    "vkAllocateCommandBuffers");
            return new VkCommandBuffer(p.get(0), vkDevice());
        }
    }

    /**
     * Waits until every submission queued so far has completed and its fence signaled.
     *
     * @throws VulkanException if the device was lost
     */
    public void waitIdle() {
        long v;
        submitLock.lock();
        try {
            v = lastValue;
        } finally {
            submitLock.unlock();
        }
        completion.await(v);
        completion.awaitSignaled(v);
    }

    // ---- package: imports and counters --------------------------------------------------------

    void awaitValue(long value) {
        if (value > 0) {
            completion.await(value);
        }
    }

    void forget(HostImport imp) {
        imports.remove(imp);
    }

    void countImport(boolean again) {
        (again ? reimportCount : importCount).incrementAndGet();
    }

    void countInvalidation() {
        invalidationCount.incrementAndGet();
    }

    /** @return the lowest memory type in {@code bits} that is host-visible and host-coherent, or -1 */
    int hostVisibleCoherentType(int bits) {
        int need = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
        int[] flags = setup.memoryTypeFlags();
        for (int i = 0; i < flags.length; i++) {
            if ((bits & (1 << i)) != 0 && (flags[i] & need) == need) {
                return i;
            }
        }
        return -1;
    }

    void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the Vulkan device is closed");
        }
    }

    /**
     * Describes the device in one line: name, the Vulkan version it reports and the one in use,
     * host pointer alignment.
     *
     * @return a line that says which device this is
     */
    public String describe() {
        return deviceName() + ", Vulkan " + DeviceSetup.version(setup.deviceApiVersion()) + " (API "
                + DeviceSetup.version(apiVersion()) + " in use), minImportedHostPointerAlignment "
                + hostPointerAlignment();
    }

    /**
     * Closes the device: refuses new submissions and imports, waits for the GPU, closes every open
     * import (unpinning static ones), then destroys the Vulkan objects. Idempotent. Call it
     * without holding any imported object's reservation.
     *
     * @throws IllegalStateException if the calling thread holds the reservation of an object still
     *     imported (nothing is closed then)
     */
    @Override
    public void close() {
        for (HostImport imp : imports) {
            if (imp.resv().isHeldByCurrentThread()) {
                throw new IllegalStateException("VulkanDevice.close() with the reservation of an imported object held");
            }
        }
        submitLock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
        } finally {
            submitLock.unlock();
        }
        waitIdleQuietly();
        for (HostImport imp : List.copyOf(imports)) {
            imp.close();
        }
        vkDeviceWaitIdle(vkDevice());
        completion.close();
        vkDestroySemaphore(vkDevice(), timeline, null);
        vkDestroyCommandPool(vkDevice(), commandPool, null);
        vkDestroyDevice(vkDevice(), null);
        vkDestroyInstance(vkInstance(), null);
    }

    private void waitIdleQuietly() {
        try {
            waitIdle();
        } catch (VulkanException lost) {
            // the device is gone: its fences carry the error; teardown goes on
        }
    }

    @Override
    public String toString() {
        return "VulkanDevice[" + describe() + (closed ? ", closed" : "") + "]";
    }
}
