package dev.memmgr.vulkan;

import org.lwjgl.vulkan.VkCommandBuffer;

/**
 * Records the commands of one submission into a command buffer that the adapter has begun and
 * will end and queue. It runs with the reservation of every object the submission uses held and
 * every one of them imported, so the handles of their {@link ImportedBuffer}s and
 * {@link ImportedImage}s are valid here, and only here: record descriptors with them inside
 * the recorder (push descriptors, or sets written for this submission), never cache them across
 * submissions of a {@link ImportMode#DYNAMIC} import.
 */
@FunctionalInterface
public interface CommandRecorder {
    /**
     * Records commands.
     *
     * @param cmd a primary command buffer in the recording state, submitted once
     */
    void record(VkCommandBuffer cmd);
}
