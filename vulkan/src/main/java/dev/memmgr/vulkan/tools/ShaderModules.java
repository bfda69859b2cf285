package dev.memmgr.vulkan.tools;

import static org.lwjgl.system.MemoryStack.stackPush;
import static org.lwjgl.vulkan.VK10.vkCreateShaderModule;

import dev.memmgr.vulkan.GlslCompiler;
import dev.memmgr.vulkan.VulkanException;
import java.nio.ByteBuffer;
import java.nio.LongBuffer;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.vulkan.VkDevice;
import org.lwjgl.vulkan.VkShaderModuleCreateInfo;

/** Shader modules from GLSL compiled at run time. */
final class ShaderModules {
    private ShaderModules() {
    }

    /** @return a VkShaderModule of the GLSL source; the caller destroys it */
    static long create(VkDevice d, String glsl, GlslCompiler.Stage stage, String name) {
        byte[] spv = GlslCompiler.compile(glsl, stage, name);
        try (MemoryStack s = stackPush()) {
            ByteBuffer code = s.malloc(spv.length);
            code.put(spv).flip();
            LongBuffer p = s.mallocLong(1);
            int r = vkCreateShaderModule(d, VkShaderModuleCreateInfo.calloc(s).sType$Default().pCode(code), null, p);
            if (r != 0) {
                throw new VulkanException("vkCreateShaderModule " + name, r);
            }
            return p.get(0);
        }
    }
}
