package dev.memmgr.vulkan;

import static org.lwjgl.vulkan.VK10.VK_SUCCESS;

import org.lwjgl.vulkan.VK10;
import org.lwjgl.vulkan.VK11;
import org.lwjgl.vulkan.VK12;
import org.lwjgl.vulkan.VK13;
import org.lwjgl.vulkan.EXTExternalMemoryHost;
import org.lwjgl.vulkan.KHRExternalMemory;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.HashMap;
import java.util.Map;

/** Small helpers around VkResult codes. */
final class Vk {
    /** {@code VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT}. */
    static final int HOST_ALLOCATION = EXTExternalMemoryHost.VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT;

    private static final Map<Integer, String> NAMES = names();

    private Vk() {
    }

    /**
     * Throws a VulkanException unless {@code result} is VK_SUCCESS.
     *
     * @param result the VkResult of a call
     * @param what the call, for the message
     */
    static void check(int result, String what) {
        if (result != VK_SUCCESS) {
            throw new VulkanException(what + " failed", result);
        }
    }

    /** @return the VkResult's name, e.g. "VK_ERROR_OUT_OF_HOST_MEMORY", or its number */
    static String resultName(int result) {
        String n = NAMES.get(result);
        return n != null ? n : "VkResult " + result;
    }

    /** The VkResult constants of the core versions and the extensions used, by value. */
    private static Map<Integer, String> names() {
        Map<Integer, String> m = new HashMap<>();
        for (Class<?> c : new Class<?>[] {VK10.class, VK11.class, VK12.class, VK13.class, KHRExternalMemory.class}) {
            for (Field f : c.getFields()) {
                int mod = f.getModifiers();
                String name = f.getName();
                if (Modifier.isStatic(mod) && f.getType() == int.class
                        && (name.startsWith("VK_ERROR_") || name.equals("VK_SUCCESS") || name.equals("VK_TIMEOUT")
                            || name.equals("VK_NOT_READY") || name.equals("VK_INCOMPLETE"))) {
                    try {
                        m.putIfAbsent(f.getInt(null), name);
                    } catch (IllegalAccessException e) {
                        throw new AssertionError(e);
                    }
                }
            }
        }
        return Map.copyOf(m);
    }
}
