package dev.memmgr.vulkan;

import dev.memmgr.MemoryManagerException;

/**
 * A Vulkan call failed: the message names the call and its {@code VkResult}.
 * {@link #result()} returns the code (negative for errors, e.g. {@code VK_ERROR_DEVICE_LOST}).
 */
public class VulkanException extends MemoryManagerException {
    private static final long serialVersionUID = 1L;

    /** The VkResult of the failed call. */
    private final int result;

    /**
     * Creates the exception.
     *
     * @param message what failed, in the user's terms
     * @param result the VkResult of the failed call
     */
    public VulkanException(String message, int result) {
        super(message + " (" + Vk.resultName(result) + ")");
        this.result = result;
    }

    /**
     * Creates the exception with a cause.
     *
     * @param message what failed, in the user's terms
     * @param result the VkResult of the failed call
     * @param cause what made it fail
     */
    public VulkanException(String message, int result, Throwable cause) {
        super(message + " (" + Vk.resultName(result) + ")", cause);
        this.result = result;
    }

    /**
     * Returns the VkResult of the failed call.
     *
     * @return the VkResult of the failed call
     */
    public int result() {
        return result;
    }
}
