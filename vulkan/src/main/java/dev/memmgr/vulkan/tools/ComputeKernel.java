package dev.memmgr.vulkan.tools;

import static org.lwjgl.system.MemoryStack.stackPush;
import static org.lwjgl.vulkan.KHRPushDescriptor.VK_DESCRIPTOR_SET_LAYOUT_CREATE_PUSH_DESCRIPTOR_BIT_KHR;
import static org.lwjgl.vulkan.KHRPushDescriptor.vkCmdPushDescriptorSetKHR;
import static org.lwjgl.vulkan.VK10.VK_ACCESS_HOST_READ_BIT;
import static org.lwjgl.vulkan.VK10.VK_ACCESS_SHADER_WRITE_BIT;
import static org.lwjgl.vulkan.VK10.VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
import static org.lwjgl.vulkan.VK10.VK_NULL_HANDLE;
import static org.lwjgl.vulkan.VK10.VK_PIPELINE_BIND_POINT_COMPUTE;
import static org.lwjgl.vulkan.VK10.VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT;
import static org.lwjgl.vulkan.VK10.VK_PIPELINE_STAGE_HOST_BIT;
import static org.lwjgl.vulkan.VK10.VK_SHADER_STAGE_COMPUTE_BIT;
import static org.lwjgl.vulkan.VK10.VK_WHOLE_SIZE;
import static org.lwjgl.vulkan.VK10.vkCmdBindPipeline;
import static org.lwjgl.vulkan.VK10.vkCmdDispatch;
import static org.lwjgl.vulkan.VK10.vkCmdPipelineBarrier;
import static org.lwjgl.vulkan.VK10.vkCmdPushConstants;
import static org.lwjgl.vulkan.VK10.vkCreateComputePipelines;
import static org.lwjgl.vulkan.VK10.vkCreateDescriptorSetLayout;
import static org.lwjgl.vulkan.VK10.vkCreatePipelineLayout;
import static org.lwjgl.vulkan.VK10.vkDestroyDescriptorSetLayout;
import static org.lwjgl.vulkan.VK10.vkDestroyPipeline;
import static org.lwjgl.vulkan.VK10.vkDestroyPipelineLayout;
import static org.lwjgl.vulkan.VK10.vkDestroyShaderModule;

import dev.memmgr.vulkan.GlslCompiler;
import dev.memmgr.vulkan.ImportedBuffer;
import dev.memmgr.vulkan.VulkanDevice;
import dev.memmgr.vulkan.VulkanException;
import java.nio.LongBuffer;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.vulkan.VkCommandBuffer;
import org.lwjgl.vulkan.VkComputePipelineCreateInfo;
import org.lwjgl.vulkan.VkDescriptorBufferInfo;
import org.lwjgl.vulkan.VkDescriptorSetLayoutBinding;
import org.lwjgl.vulkan.VkDescriptorSetLayoutCreateInfo;
import org.lwjgl.vulkan.VkDevice;
import org.lwjgl.vulkan.VkMemoryBarrier;
import org.lwjgl.vulkan.VkPipelineLayoutCreateInfo;
import org.lwjgl.vulkan.VkPushConstantRange;
import org.lwjgl.vulkan.VkWriteDescriptorSet;

/**
 * A compute shader over three storage buffers of 32-bit words, {@code c[i] = mix(a[i], b[i],
 * salt)} (an integer hash: exact on any device), compiled from GLSL at run time, with push
 * descriptors (VK_KHR_push_descriptor) so that each submission binds the buffers' current handles.
 * {@link #reference} computes the same on the CPU.
 */
public final class ComputeKernel implements AutoCloseable {
    /** The device extension the kernel needs. */
    public static final String PUSH_DESCRIPTOR = "VK_KHR_push_descriptor";
    /** Invocations per workgroup. */
    static final int LOCAL_SIZE = 64;

    static final String GLSL = """
            #version 450
            layout(local_size_x = 64) in;
            layout(std430, set = 0, binding = 0) readonly buffer A { uint a[]; };
            layout(std430, set = 0, binding = 1) readonly buffer B { uint b[]; };
            layout(std430, set = 0, binding = 2) writeonly buffer C { uint c[]; };
            layout(push_constant) uniform P { uint n; uint salt; } pc;
            void main() {
                uint i = gl_GlobalInvocationID.x;
                if (i >= pc.n) {
                    return;
                }
                uint x = a[i] * 2654435761u + b[i];
                x ^= x >> 15;
                x *= 0x2c1b3c6du;
                x ^= (x >> 12) + pc.salt;
                c[i] = x ^ i;
            }
            """;

    private final VkDevice d;
    private final long setLayout;
    private final long layout;
    private final long pipeline;

    /**
     * Compiles the shader and builds the pipeline.
     *
     * @param dev a device opened with {@link #PUSH_DESCRIPTOR}
     */
    public ComputeKernel(VulkanDevice dev) {
        d = dev.vkDevice();
        long module = ShaderModules.create(d, GLSL, GlslCompiler.Stage.COMPUTE, "kernel.comp");
        try (MemoryStack s = stackPush()) {
            VkDescriptorSetLayoutBinding.Buffer b = VkDescriptorSetLayoutBinding.calloc(3, s);
            for (int i = 0; i < 3; i++) {
                b.get(i).binding(i).descriptorType(VK_DESCRIPTOR_TYPE_STORAGE_BUFFER).descriptorCount(1)
                        .stageFlags(VK_SHADER_STAGE_COMPUTE_BIT);
            }
            LongBuffer p = s.mallocLong(1);
            check(vkCreateDescriptorSetLayout(d, VkDescriptorSetLayoutCreateInfo.calloc(s).sType$Default()
                    .flags(VK_DESCRIPTOR_SET_LAYOUT_CREATE_PUSH_DESCRIPTOR_BIT_KHR).pBindings(b), null, p),
                    "set layout");
            setLayout = p.get(0);
            VkPushConstantRange.Buffer pc = VkPushConstantRange.calloc(1, s);
            pc.get(0).stageFlags(VK_SHADER_STAGE_COMPUTE_BIT).offset(0).size(8);
            check(vkCreatePipelineLayout(d, VkPipelineLayoutCreateInfo.calloc(s).sType$Default()
                    .pSetLayouts(s.longs(setLayout)).pPushConstantRanges(pc), null, p), "pipeline layout");
            layout = p.get(0);
            VkComputePipelineCreateInfo.Buffer ci = VkComputePipelineCreateInfo.calloc(1, s);
            ci.get(0).sType$Default().layout(layout).stage(st -> st.sType$Default().stage(VK_SHADER_STAGE_COMPUTE_BIT)
                    .module(module).pName(s.UTF8("main")));
            check(vkCreateComputePipelines(d, VK_NULL_HANDLE, ci, null, p), "compute pipeline");
            pipeline = p.get(0);
        } finally {
            vkDestroyShaderModule(d, module, null);
        }
    }

    private static void check(int r, String what) {
        if (r != 0) {
            throw new VulkanException("creating the compute kernel's " + what, r);
        }
    }

    /**
     * Records the dispatch over the first {@code n} words, then a barrier that makes the results
     * visible to the host (for a read through memmgr after the submission completes).
     *
     * @param cmd the command buffer being recorded
     * @param a the first input, at least {@code 4 n} bytes
     * @param b the second input, at least {@code 4 n} bytes
     * @param c the output, at least {@code 4 n} bytes
     * @param n the number of words
     * @param salt mixed into every result
     */
    public void record(VkCommandBuffer cmd, ImportedBuffer a, ImportedBuffer b, ImportedBuffer c, int n, int salt) {
        try (MemoryStack s = stackPush()) {
            vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline);
            VkWriteDescriptorSet.Buffer w = VkWriteDescriptorSet.calloc(3, s);
            ImportedBuffer[] bufs = {a, b, c};
            for (int i = 0; i < 3; i++) {
                VkDescriptorBufferInfo.Buffer info = VkDescriptorBufferInfo.calloc(1, s);
                info.get(0).buffer(bufs[i].handle()).offset(0).range(VK_WHOLE_SIZE);
                w.get(i).sType$Default().dstBinding(i).descriptorCount(1)
                        .descriptorType(VK_DESCRIPTOR_TYPE_STORAGE_BUFFER)
                        .pBufferInfo(info);
            }
            vkCmdPushDescriptorSetKHR(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, layout, 0, w);
            vkCmdPushConstants(cmd, layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, s.ints(n, salt));
            vkCmdDispatch(cmd, (n + LOCAL_SIZE - 1) / LOCAL_SIZE, 1, 1);
            VkMemoryBarrier.Buffer mb = VkMemoryBarrier.calloc(1, s);
            mb.get(0).sType$Default().srcAccessMask(VK_ACCESS_SHADER_WRITE_BIT).dstAccessMask(VK_ACCESS_HOST_READ_BIT);
            vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, mb,
                    null, null);
        }
    }

    /**
     * Computes on the CPU what the kernel computes.
     *
     * @param a the first input
     * @param b the second input, as long as {@code a}
     * @param salt mixed into every result
     * @return {@code c} for inputs {@code a}, {@code b} and {@code salt}
     */
    public static int[] reference(int[] a, int[] b, int salt) {
        int[] c = new int[a.length];
        for (int i = 0; i < a.length; i++) {
            int x = a[i] * 0x9E3779B1 + b[i];
            x ^= x >>> 15;
            x *= 0x2c1b3c6d;
            x ^= (x >>> 12) + salt;
            c[i] = x ^ i;
        }
        return c;
    }

    @Override
    public void close() {
        vkDestroyPipeline(d, pipeline, null);
        vkDestroyPipelineLayout(d, layout, null);
        vkDestroyDescriptorSetLayout(d, setLayout, null);
    }
}
