package dev.memmgr.vulkan;

import java.util.Objects;

/**
 * Whether this machine has a Vulkan driver the adapter can use, from {@link VulkanDevice#probe()}.
 *
 * @param available true if {@link VulkanDevice#open()} is expected to work
 * @param description the device that would be used (name, driver, API version, host pointer
 *     alignment) when available; otherwise why not, and what to install
 */
public record VulkanAvailability(boolean available, String description) {
    /** The Debian package of Mesa's CPU Vulkan driver, lavapipe. */
    public static final String DRIVER_PACKAGE = "mesa-vulkan-drivers";

    /**
     * Checks the components.
     *
     * @throws NullPointerException if description is null
     */
    public VulkanAvailability {
        Objects.requireNonNull(description, "description");
    }
}
