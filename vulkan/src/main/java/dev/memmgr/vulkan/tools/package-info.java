/**
 * What {@code bin/memmgr} runs on the Vulkan adapter, and what its tests share: the texture
 * streaming demo ({@code VulkanDemo}), the upload benchmark
 * ({@code VulkanUploadBench}), and two small pipelines with their CPU
 * references ({@link dev.memmgr.vulkan.tools.ComputeKernel},
 * {@link dev.memmgr.vulkan.tools.TextureRenderer}). Not part of the adapter's jar.
 */
package dev.memmgr.vulkan.tools;
