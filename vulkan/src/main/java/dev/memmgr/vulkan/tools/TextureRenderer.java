package dev.memmgr.vulkan.tools;

import static org.lwjgl.system.MemoryStack.stackPush;
import static org.lwjgl.vulkan.KHRPushDescriptor.VK_DESCRIPTOR_SET_LAYOUT_CREATE_PUSH_DESCRIPTOR_BIT_KHR;
import static org.lwjgl.vulkan.KHRPushDescriptor.vkCmdPushDescriptorSetKHR;
import static org.lwjgl.vulkan.VK10.*;
import static org.lwjgl.vulkan.VK13.vkCmdBeginRendering;
import static org.lwjgl.vulkan.VK13.vkCmdEndRendering;

import dev.memmgr.vulkan.GlslCompiler;
import dev.memmgr.vulkan.ImportedImage;
import dev.memmgr.vulkan.VulkanDevice;
import dev.memmgr.vulkan.VulkanException;
import java.nio.LongBuffer;
import java.util.List;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.vulkan.VkCommandBuffer;
import org.lwjgl.vulkan.VkDescriptorImageInfo;
import org.lwjgl.vulkan.VkDescriptorSetLayoutBinding;
import org.lwjgl.vulkan.VkDescriptorSetLayoutCreateInfo;
import org.lwjgl.vulkan.VkDevice;
import org.lwjgl.vulkan.VkGraphicsPipelineCreateInfo;
import org.lwjgl.vulkan.VkImageMemoryBarrier;
import org.lwjgl.vulkan.VkPipelineColorBlendAttachmentState;
import org.lwjgl.vulkan.VkPipelineColorBlendStateCreateInfo;
import org.lwjgl.vulkan.VkPipelineDynamicStateCreateInfo;
import org.lwjgl.vulkan.VkPipelineInputAssemblyStateCreateInfo;
import org.lwjgl.vulkan.VkPipelineLayoutCreateInfo;
import org.lwjgl.vulkan.VkPipelineMultisampleStateCreateInfo;
import org.lwjgl.vulkan.VkPipelineRasterizationStateCreateInfo;
import org.lwjgl.vulkan.VkPipelineRenderingCreateInfo;
import org.lwjgl.vulkan.VkPipelineShaderStageCreateInfo;
import org.lwjgl.vulkan.VkPipelineVertexInputStateCreateInfo;
import org.lwjgl.vulkan.VkPipelineViewportStateCreateInfo;
import org.lwjgl.vulkan.VkPushConstantRange;
import org.lwjgl.vulkan.VkRect2D;
import org.lwjgl.vulkan.VkRenderingAttachmentInfo;
import org.lwjgl.vulkan.VkRenderingInfo;
import org.lwjgl.vulkan.VkSamplerCreateInfo;
import org.lwjgl.vulkan.VkViewport;
import org.lwjgl.vulkan.VkWriteDescriptorSet;

/**
 * A render pass (dynamic rendering) that draws tiles into an {@code R8G8B8A8_UNORM} target, each
 * tile a full-tile triangle whose fragments sample one texture with a nearest sampler at texel
 * centres and write it swizzled ({@code .bgra}): integer-exact on any conformant device, so
 * {@link #reference} predicts every byte. Textures and target are {@link ImportedImage}s (linear,
 * memmgr pages); textures are sampled in {@code VK_IMAGE_LAYOUT_GENERAL}, so the CPU may rewrite
 * them between frames.
 */
public final class TextureRenderer implements AutoCloseable {
    /** The pixel format of textures and target. */
    public static final int FORMAT = VK_FORMAT_R8G8B8A8_UNORM;
    /** Usage of a texture image. */
    public static final int TEXTURE_USAGE = VK_IMAGE_USAGE_SAMPLED_BIT;
    /** Usage of a target image. */
    public static final int TARGET_USAGE = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT;

    static final String VERTEX = """
            #version 450
            void main() {
                vec2 p = vec2((gl_VertexIndex << 1) & 2, gl_VertexIndex & 2);
                gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
            }
            """;
    static final String FRAGMENT = """
            #version 450
            layout(set = 0, binding = 0) uniform sampler2D tex;
            layout(push_constant) uniform P { vec2 origin; vec2 tile; } pc;
            layout(location = 0) out vec4 color;
            void main() {
                vec2 ts = vec2(textureSize(tex, 0));
                vec2 texel = floor((gl_FragCoord.xy - pc.origin) * ts / pc.tile);
                color = texture(tex, (texel + 0.5) / ts).bgra;
            }
            """;

    /** Where one texture is drawn: the tile {@code [x, x + w) x [y, y + h)} of the target. */
    public record Tile(ImportedImage texture, int x, int y, int w, int h) {
    }

    private final VkDevice d;
    private final long sampler;
    private final long setLayout;
    private final long layout;
    private final long pipeline;

    /**
     * Compiles the shaders and builds the pipeline.
     *
     * @param dev a device with dynamic rendering, opened with {@link ComputeKernel#PUSH_DESCRIPTOR}
     */
    public TextureRenderer(VulkanDevice dev) {
        if (!dev.dynamicRendering()) {
            throw new IllegalArgumentException("the renderer needs Vulkan 1.3 dynamic rendering; " + dev.deviceName()
                    + " has not");
        }
        d = dev.vkDevice();
        long vs = ShaderModules.create(d, VERTEX, GlslCompiler.Stage.VERTEX, "tile.vert");
        long fs = 0;
        try (MemoryStack s = stackPush()) {
            fs = ShaderModules.create(d, FRAGMENT, GlslCompiler.Stage.FRAGMENT, "tile.frag");
            LongBuffer p = s.mallocLong(1);
            check(vkCreateSampler(d, VkSamplerCreateInfo.calloc(s).sType$Default().magFilter(VK_FILTER_NEAREST)
                    .minFilter(VK_FILTER_NEAREST).mipmapMode(VK_SAMPLER_MIPMAP_MODE_NEAREST)
                    .addressModeU(VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE)
                    .addressModeV(VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE)
                    .addressModeW(VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE).maxLod(0f), null, p), "sampler");
            sampler = p.get(0);
            VkDescriptorSetLayoutBinding.Buffer b = VkDescriptorSetLayoutBinding.calloc(1, s);
            b.get(0).binding(0).descriptorType(VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER).descriptorCount(1)
                    .stageFlags(VK_SHADER_STAGE_FRAGMENT_BIT);
            check(vkCreateDescriptorSetLayout(d, VkDescriptorSetLayoutCreateInfo.calloc(s).sType$Default()
                    .flags(VK_DESCRIPTOR_SET_LAYOUT_CREATE_PUSH_DESCRIPTOR_BIT_KHR).pBindings(b), null, p),
                    "set layout");
            setLayout = p.get(0);
            VkPushConstantRange.Buffer pc = VkPushConstantRange.calloc(1, s);
            pc.get(0).stageFlags(VK_SHADER_STAGE_FRAGMENT_BIT).offset(0).size(16);
            check(vkCreatePipelineLayout(d, VkPipelineLayoutCreateInfo.calloc(s).sType$Default()
                    .pSetLayouts(s.longs(setLayout)).pPushConstantRanges(pc), null, p), "pipeline layout");
            layout = p.get(0);
            pipeline = createPipeline(s, vs, fs);
        } finally {
            vkDestroyShaderModule(d, vs, null);
            if (fs != 0) {
                vkDestroyShaderModule(d, fs, null);
            }
        }
    }

    private long createPipeline(MemoryStack s, long vs, long fs) {
        VkPipelineShaderStageCreateInfo.Buffer stages = VkPipelineShaderStageCreateInfo.calloc(2, s);
        stages.get(0).sType$Default().stage(VK_SHADER_STAGE_VERTEX_BIT).module(vs).pName(s.UTF8("main"));
        stages.get(1).sType$Default().stage(VK_SHADER_STAGE_FRAGMENT_BIT).module(fs).pName(s.UTF8("main"));
        VkPipelineColorBlendAttachmentState.Buffer blend = VkPipelineColorBlendAttachmentState.calloc(1, s);
        blend.get(0).colorWriteMask(VK_COLOR_COMPONENT_R_BIT | VK_COLOR_COMPONENT_G_BIT | VK_COLOR_COMPONENT_B_BIT
                | VK_COLOR_COMPONENT_A_BIT);
        VkPipelineRenderingCreateInfo rendering = VkPipelineRenderingCreateInfo.calloc(s).sType$Default()
                .colorAttachmentCount(1).pColorAttachmentFormats(s.ints(FORMAT));
        VkGraphicsPipelineCreateInfo.Buffer ci = VkGraphicsPipelineCreateInfo.calloc(1, s);
        ci.get(0).sType$Default().pNext(rendering.address()).pStages(stages)
                .pVertexInputState(VkPipelineVertexInputStateCreateInfo.calloc(s).sType$Default())
                .pInputAssemblyState(VkPipelineInputAssemblyStateCreateInfo.calloc(s).sType$Default()
                        .topology(VK_PRIMITIVE_TOPOLOGY_TRIANGLE_LIST))
                .pViewportState(VkPipelineViewportStateCreateInfo.calloc(s).sType$Default().viewportCount(1)
                        .scissorCount(1))
                .pRasterizationState(VkPipelineRasterizationStateCreateInfo.calloc(s).sType$Default()
                        .polygonMode(VK_POLYGON_MODE_FILL).cullMode(VK_CULL_MODE_NONE)
                        .frontFace(VK_FRONT_FACE_COUNTER_CLOCKWISE)
                        .lineWidth(1f))
                .pMultisampleState(VkPipelineMultisampleStateCreateInfo.calloc(s).sType$Default()
                        .rasterizationSamples(VK_SAMPLE_COUNT_1_BIT))
                .pColorBlendState(VkPipelineColorBlendStateCreateInfo.calloc(s).sType$Default().pAttachments(blend))
                .pDynamicState(VkPipelineDynamicStateCreateInfo.calloc(s).sType$Default()
                        .pDynamicStates(s.ints(VK_DYNAMIC_STATE_VIEWPORT, VK_DYNAMIC_STATE_SCISSOR)))
                .layout(layout);
        LongBuffer p = s.mallocLong(1);
        check(vkCreateGraphicsPipelines(d, VK_NULL_HANDLE, ci, null, p), "graphics pipeline");
        return p.get(0);
    }

    private static void check(int r, String what) {
        if (r != 0) {
            throw new VulkanException("creating the texture renderer's " + what, r);
        }
    }

    /**
     * Records one frame: every texture and the target into their layouts, a render pass over the
     * whole target (cleared to zero) drawing each tile, and the target back to
     * {@code VK_IMAGE_LAYOUT_GENERAL}, made visible to the host. Runs inside a CommandRecorder
     * whose uses hold the target (write) and every texture (read).
     *
     * @param cmd the command buffer being recorded
     * @param target the image rendered into
     * @param tiles what to draw where
     */
    public void record(VkCommandBuffer cmd, ImportedImage target, List<Tile> tiles) {
        try (MemoryStack s = stackPush()) {
            for (Tile t : tiles) {
                ImportedImage tex = t.texture();
                if (tex.layout() != VK_IMAGE_LAYOUT_GENERAL) {
                    barrier(s, cmd, tex, VK_ACCESS_HOST_WRITE_BIT, VK_ACCESS_SHADER_READ_BIT, VK_IMAGE_LAYOUT_GENERAL,
                            VK_PIPELINE_STAGE_HOST_BIT, VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT);
                }
            }
            barrier(s, cmd, target, 0, VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL,
                    VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT);
            VkRenderingAttachmentInfo.Buffer color = VkRenderingAttachmentInfo.calloc(1, s);
            color.get(0).sType$Default().imageView(target.view()).imageLayout(VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL)
                    .loadOp(VK_ATTACHMENT_LOAD_OP_CLEAR).storeOp(VK_ATTACHMENT_STORE_OP_STORE);
            VkRenderingInfo ri = VkRenderingInfo.calloc(s).sType$Default().layerCount(1).pColorAttachments(color);
            ri.renderArea().extent().set(target.width(), target.height());
            vkCmdBeginRendering(cmd, ri);
            vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, pipeline);
            for (Tile t : tiles) {
                VkDescriptorImageInfo.Buffer img = VkDescriptorImageInfo.calloc(1, s);
                img.get(0).sampler(sampler).imageView(t.texture().view()).imageLayout(VK_IMAGE_LAYOUT_GENERAL);
                VkWriteDescriptorSet.Buffer w = VkWriteDescriptorSet.calloc(1, s);
                w.get(0).sType$Default().dstBinding(0).descriptorCount(1)
                        .descriptorType(VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER).pImageInfo(img);
                vkCmdPushDescriptorSetKHR(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, layout, 0, w);
                vkCmdPushConstants(cmd, layout, VK_SHADER_STAGE_FRAGMENT_BIT, 0, s.floats(t.x(), t.y(), t.w(), t.h()));
                VkViewport.Buffer vp = VkViewport.calloc(1, s);
                vp.get(0).set(t.x(), t.y(), t.w(), t.h(), 0f, 1f);
                vkCmdSetViewport(cmd, 0, vp);
                VkRect2D.Buffer sc = VkRect2D.calloc(1, s);
                sc.get(0).offset().set(t.x(), t.y());
                sc.get(0).extent().set(t.w(), t.h());
                vkCmdSetScissor(cmd, 0, sc);
                vkCmdDraw(cmd, 3, 1, 0, 0);
            }
            vkCmdEndRendering(cmd);
            barrier(s, cmd, target, VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT, VK_ACCESS_HOST_READ_BIT,
                    VK_IMAGE_LAYOUT_GENERAL, VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT, VK_PIPELINE_STAGE_HOST_BIT);
        }
    }

    private static void barrier(MemoryStack s, VkCommandBuffer cmd, ImportedImage img, int srcAccess, int dstAccess,
                                int newLayout, int srcStage, int dstStage) {
        VkImageMemoryBarrier.Buffer b = VkImageMemoryBarrier.calloc(1, s);
        b.get(0).sType$Default().srcAccessMask(srcAccess).dstAccessMask(dstAccess).oldLayout(img.layout())
                .newLayout(newLayout).srcQueueFamilyIndex(VK_QUEUE_FAMILY_IGNORED)
                .dstQueueFamilyIndex(VK_QUEUE_FAMILY_IGNORED)
                .image(img.image()).subresourceRange(r -> r.set(VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1));
        vkCmdPipelineBarrier(cmd, srcStage, dstStage, 0, null, null, b);
        img.setLayout(newLayout);
    }

    /**
     * Writes RGBA pixels into a texture's object at the image's row pitch.
     *
     * @param image the texture
     * @param rgba {@code width * height} pixels, row by row, 4 bytes each
     * @return the bytes of the image's rows as they lie in the object, from {@code image.offset()}
     */
    public static byte[] layOut(ImportedImage image, byte[] rgba) {
        int w = image.width();
        int h = image.height();
        int pitch = Math.toIntExact(image.rowPitch());
        byte[] out = new byte[pitch * (h - 1) + w * 4];
        for (int y = 0; y < h; y++) {
            System.arraycopy(rgba, y * w * 4, out, y * pitch, w * 4);
        }
        return out;
    }

    /**
     * Computes on the CPU the pixels a frame renders.
     *
     * @param width the target's width
     * @param height the target's height
     * @param tiles the tiles, with each texture's pixels ({@code textures.get(i)} for tile i)
     * @param textures the RGBA pixels of each tile's texture, row by row
     * @return the target's RGBA pixels, row by row (zero outside the tiles)
     */
    public static byte[] reference(int width, int height, List<Tile> tiles, List<byte[]> textures) {
        byte[] out = new byte[width * height * 4];
        for (int k = 0; k < tiles.size(); k++) {
            Tile t = tiles.get(k);
            byte[] tex = textures.get(k);
            int tw = t.texture().width();
            int th = t.texture().height();
            for (int y = 0; y < t.h(); y++) {
                int ty = (2 * y + 1) * th / (2 * t.h()); // floor((y + 0.5) * th / h): the shader's texel
                for (int x = 0; x < t.w(); x++) {
                    int tx = (2 * x + 1) * tw / (2 * t.w());
                    int src = (ty * tw + tx) * 4;
                    int dst = ((t.y() + y) * width + t.x() + x) * 4;
                    out[dst] = tex[src + 2];
                    out[dst + 1] = tex[src + 1];
                    out[dst + 2] = tex[src];
                    out[dst + 3] = tex[src + 3];
                }
            }
        }
        return out;
    }

    @Override
    public void close() {
        vkDestroyPipeline(d, pipeline, null);
        vkDestroyPipelineLayout(d, layout, null);
        vkDestroyDescriptorSetLayout(d, setLayout, null);
        vkDestroySampler(d, sampler, null);
    }
}
