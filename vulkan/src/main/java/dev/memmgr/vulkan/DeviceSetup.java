package dev.memmgr.vulkan;

import static org.lwjgl.system.MemoryStack.stackPush;
import static org.lwjgl.vulkan.VK10.VK_QUEUE_COMPUTE_BIT;
import static org.lwjgl.vulkan.VK10.VK_QUEUE_GRAPHICS_BIT;
import static org.lwjgl.vulkan.VK10.VK_SUCCESS;
import static org.lwjgl.vulkan.VK10.VK_VERSION_MAJOR;
import static org.lwjgl.vulkan.VK10.VK_VERSION_MINOR;
import static org.lwjgl.vulkan.VK10.VK_VERSION_PATCH;
import static org.lwjgl.vulkan.VK10.vkCreateDevice;
import static org.lwjgl.vulkan.VK10.vkCreateInstance;
import static org.lwjgl.vulkan.VK10.vkDestroyInstance;
import static org.lwjgl.vulkan.VK10.vkEnumerateDeviceExtensionProperties;
import static org.lwjgl.vulkan.VK10.vkEnumeratePhysicalDevices;
import static org.lwjgl.vulkan.VK10.vkGetPhysicalDeviceMemoryProperties;
import static org.lwjgl.vulkan.VK10.vkGetPhysicalDeviceQueueFamilyProperties;
import static org.lwjgl.vulkan.VK11.vkEnumerateInstanceVersion;
import static org.lwjgl.vulkan.VK11.vkGetPhysicalDeviceFeatures2;
import static org.lwjgl.vulkan.VK11.vkGetPhysicalDeviceProperties2;
import static org.lwjgl.vulkan.VK12.VK_API_VERSION_1_2;
import static org.lwjgl.vulkan.VK13.VK_API_VERSION_1_3;

import java.nio.IntBuffer;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.lwjgl.PointerBuffer;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.vulkan.EXTExternalMemoryHost;
import org.lwjgl.vulkan.VkApplicationInfo;
import org.lwjgl.vulkan.VkDevice;
import org.lwjgl.vulkan.VkDeviceCreateInfo;
import org.lwjgl.vulkan.VkDeviceQueueCreateInfo;
import org.lwjgl.vulkan.VkExtensionProperties;
import org.lwjgl.vulkan.VkInstance;
import org.lwjgl.vulkan.VkInstanceCreateInfo;
import org.lwjgl.vulkan.VkPhysicalDevice;
import org.lwjgl.vulkan.VkPhysicalDeviceExternalMemoryHostPropertiesEXT;
import org.lwjgl.vulkan.VkPhysicalDeviceFeatures2;
import org.lwjgl.vulkan.VkPhysicalDeviceMemoryProperties;
import org.lwjgl.vulkan.VkPhysicalDeviceProperties2;
import org.lwjgl.vulkan.VkPhysicalDeviceVulkan12Features;
import org.lwjgl.vulkan.VkPhysicalDeviceVulkan13Features;
import org.lwjgl.vulkan.VkQueueFamilyProperties;

/**
 * Finding a device the adapter can use and creating it: an instance (API 1.3 when the loader has
 * it, else 1.2), the first physical device with VK_EXT_external_memory_host, timeline semaphores,
 * a queue family that does graphics and compute, and every extension asked for; a logical device
 * with one queue of that family, timeline semaphores on and dynamic rendering and
 * synchronization2 on when the device has them (API 1.3).
 */
final class DeviceSetup {
    /** What {@link #create} found and made. */
    record Created(VkInstance instance, VkPhysicalDevice physical, VkDevice device, int queueFamily, String name,
                   int apiVersion, int deviceApiVersion, long hostPointerAlignment, int[] memoryTypeFlags,
                   Set<String> extensions,
                   boolean dynamicRendering) {
    }

    private DeviceSetup() {
    }

    /**
     * Creates an instance and a device. On failure nothing is left behind.
     *
     * @param extra device extensions the caller needs besides the adapter's
     * @throws VulkanException when a call fails or no device qualifies (result
     *     VK_ERROR_INITIALIZATION_FAILED), naming what is missing
     */
    static Created create(List<String> extra) {
        Set<String> wanted = new LinkedHashSet<>();
        wanted.add(EXTExternalMemoryHost.VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME);
        wanted.addAll(extra);
        VkInstance instance = createInstance();
        try {
            return createDevice(instance, wanted);
        } catch (RuntimeException | Error e) {
            vkDestroyInstance(instance, null);
            throw e;
        }
    }

    private static VkInstance createInstance() {
        try (MemoryStack s = stackPush()) {
            IntBuffer v = s.mallocInt(1);
            int loader = vkEnumerateInstanceVersion(v) == VK_SUCCESS ? v.get(0) : VK_API_VERSION_1_2;
            int api = loader >= VK_API_VERSION_1_3 ? VK_API_VERSION_1_3 : VK_API_VERSION_1_2;
            VkApplicationInfo app = VkApplicationInfo.calloc(s).sType$Default()
                    .pApplicationName(s.UTF8("memmgr")).pEngineName(s.UTF8("memmgr")).apiVersion(api);
            VkInstanceCreateInfo ci = VkInstanceCreateInfo.calloc(s).sType$Default().pApplicationInfo(app);
            PointerBuffer p = s.mallocPointer(1);
            Vk.check(vkCreateInstance(ci, null, p), "vkCreateInstance");
            return new VkInstance(p.get(0), ci);
        }
    }

    private static Created createDevice(VkInstance instance, Set<String> wanted) {
        try (MemoryStack s = stackPush()) {
            IntBuffer n = s.mallocInt(1);
            Vk.check(vkEnumeratePhysicalDevices(instance, n, null), "vkEnumeratePhysicalDevices");
            if (n.get(0) == 0) {
                throw new VulkanException("no Vulkan device found (the loader found no driver)",
                        org.lwjgl.vulkan.VK10.VK_ERROR_INITIALIZATION_FAILED);
            }
            PointerBuffer handles = s.mallocPointer(n.get(0));
            Vk.check(vkEnumeratePhysicalDevices(instance, n, handles), "vkEnumeratePhysicalDevices");
            List<String> rejected = new ArrayList<>();
            for (int i = 0; i < n.get(0); i++) {
                VkPhysicalDevice pd = new VkPhysicalDevice(handles.get(i), instance);
                String why = unsuitable(pd, wanted);
                if (why == null) {
                    return open(instance, pd, wanted);
                }
                rejected.add(why);
            }
            throw new VulkanException("no Vulkan device qualifies: " + String.join("; ", rejected),
                    org.lwjgl.vulkan.VK10.VK_ERROR_INITIALIZATION_FAILED);
        }
    }

    /** @return why the device cannot be used, or null */
    private static String unsuitable(VkPhysicalDevice pd, Set<String> wanted) {
        try (MemoryStack s = stackPush()) {
            VkPhysicalDeviceProperties2 props = VkPhysicalDeviceProperties2.calloc(s).sType$Default();
            vkGetPhysicalDeviceProperties2(pd, props);
            String name = props.properties().deviceNameString();
            if (props.properties().apiVersion() < VK_API_VERSION_1_2) {
                return name + ": Vulkan " + version(props.properties().apiVersion()) + ", 1.2 needed";
            }
            Set<String> has = extensions(pd);
            List<String> missing = wanted.stream().filter(e -> !has.contains(e)).toList();
            if (!missing.isEmpty()) {
                return name + ": lacks " + String.join(", ", missing);
            }
            VkPhysicalDeviceVulkan12Features f12 = VkPhysicalDeviceVulkan12Features.calloc(s).sType$Default();
            VkPhysicalDeviceFeatures2 f = VkPhysicalDeviceFeatures2.calloc(s).sType$Default().pNext(f12.address());
            vkGetPhysicalDeviceFeatures2(pd, f);
            if (!f12.timelineSemaphore()) {
                return name + ": no timeline semaphores";
            }
            if (queueFamily(pd) < 0) {
                return name + ": no queue family with graphics and compute";
            }
            return null;
        }
    }

    private static Created open(VkInstance instance, VkPhysicalDevice pd, Set<String> wanted) {
        try (MemoryStack s = stackPush()) {
            VkPhysicalDeviceExternalMemoryHostPropertiesEXT host = VkPhysicalDeviceExternalMemoryHostPropertiesEXT
                    .calloc(s).sType$Default();
            VkPhysicalDeviceProperties2 props = VkPhysicalDeviceProperties2.calloc(s).sType$Default()
                    .pNext(host.address());
            vkGetPhysicalDeviceProperties2(pd, props);
            int api = Math.min(props.properties().apiVersion(), instance.getCapabilities().apiVersion);
            boolean v13 = api >= VK_API_VERSION_1_3;

            VkPhysicalDeviceVulkan13Features has13 = VkPhysicalDeviceVulkan13Features.calloc(s).sType$Default();
            VkPhysicalDeviceFeatures2 query = VkPhysicalDeviceFeatures2.calloc(s).sType$Default();
            if (v13) {
                query.pNext(has13.address());
                vkGetPhysicalDeviceFeatures2(pd, query);
            }
            boolean dynamicRendering = v13 && has13.dynamicRendering();

            int family = queueFamily(pd);
            VkDeviceQueueCreateInfo.Buffer queues = VkDeviceQueueCreateInfo.calloc(1, s);
            queues.get(0).sType$Default().queueFamilyIndex(family).pQueuePriorities(s.floats(1f));
            PointerBuffer names = s.mallocPointer(wanted.size());
            for (String e : wanted) {
                names.put(s.UTF8(e));
            }
            names.flip();
            VkPhysicalDeviceVulkan12Features on12 = VkPhysicalDeviceVulkan12Features.calloc(s).sType$Default()
                    .timelineSemaphore(true);
            VkPhysicalDeviceVulkan13Features on13 = VkPhysicalDeviceVulkan13Features.calloc(s).sType$Default()
                    .dynamicRendering(dynamicRendering).synchronization2(v13 && has13.synchronization2());
            if (v13) {
                on12.pNext(on13.address());
            }
            VkDeviceCreateInfo ci = VkDeviceCreateInfo.calloc(s).sType$Default().pNext(on12.address())
                    .pQueueCreateInfos(queues).ppEnabledExtensionNames(names);
            PointerBuffer p = s.mallocPointer(1);
            Vk.check(vkCreateDevice(pd, ci, null, p), "vkCreateDevice");
            VkDevice device = new VkDevice(p.get(0), pd, ci, api);

            VkPhysicalDeviceMemoryProperties mem = VkPhysicalDeviceMemoryProperties.calloc(s);
            vkGetPhysicalDeviceMemoryProperties(pd, mem);
            int[] flags = new int[mem.memoryTypeCount()];
            for (int i = 0; i < flags.length; i++) {
                flags[i] = mem.memoryTypes(i).propertyFlags();
            }
            String name = props.properties().deviceNameString();
            return new Created(instance, pd, device, family, name, api, props.properties().apiVersion(),
                    host.minImportedHostPointerAlignment(), flags,
                    Set.copyOf(wanted), dynamicRendering);
        }
    }

    private static int queueFamily(VkPhysicalDevice pd) {
        try (MemoryStack s = stackPush()) {
            IntBuffer n = s.mallocInt(1);
            vkGetPhysicalDeviceQueueFamilyProperties(pd, n, null);
            VkQueueFamilyProperties.Buffer fams = VkQueueFamilyProperties.malloc(n.get(0), s);
            vkGetPhysicalDeviceQueueFamilyProperties(pd, n, fams);
            int need = VK_QUEUE_GRAPHICS_BIT | VK_QUEUE_COMPUTE_BIT;
            for (int i = 0; i < fams.capacity(); i++) {
                if ((fams.get(i).queueFlags() & need) == need) {
                    return i;
                }
            }
            return -1;
        }
    }

    private static Set<String> extensions(VkPhysicalDevice pd) {
        try (MemoryStack s = stackPush()) {
            IntBuffer n = s.mallocInt(1);
            Vk.check(vkEnumerateDeviceExtensionProperties(pd, (String) null, n, null),
                    "vkEnumerateDeviceExtensionProperties");
            VkExtensionProperties.Buffer props = VkExtensionProperties.malloc(n.get(0), s);
            Vk.check(vkEnumerateDeviceExtensionProperties(pd, (String) null, n, props),
                    "vkEnumerateDeviceExtensionProperties");
            Set<String> out = new LinkedHashSet<>();
            for (int i = 0; i < props.capacity(); i++) {
                out.add(props.get(i).extensionNameString());
            }
            return out;
        }
    }

    /** @return "major.minor.patch" of a Vulkan version number */
    static String version(int v) {
        return VK_VERSION_MAJOR(v) + "." + VK_VERSION_MINOR(v) + "." + VK_VERSION_PATCH(v);
    }
}
