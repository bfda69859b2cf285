package dev.memmgr.vulkan;

import dev.memmgr.Fence;
import java.time.Duration;
import java.util.Objects;

/**
 * A command buffer queued by {@link VulkanDevice#submit}: its memmgr {@link #fence()} signals
 * when the GPU has finished it (with a {@link VulkanException} if the device was lost), and
 * stays in the reservations of the objects it used until then, so the shrinker leaves them alone
 * while the driver works.
 */
public final class Submission {
    private final long value;
    private final Fence fence;

    Submission(long value, Fence fence) {
        this.value = value;
        this.fence = fence;
    }

    /**
     * Returns the fence that signals when the GPU is done with this submission.
     *
     * @return the completion fence
     */
    public Fence fence() {
        return fence;
    }

    /**
     * Returns the value the device's timeline semaphore reaches when this submission completes: 0
     * for a submission that was never queued because a fence it waited for failed.
     *
     * @return the timeline value
     */
    public long timelineValue() {
        return value;
    }

    /**
     * Returns whether the GPU is done (or the submission failed).
     *
     * @return whether the completion fence has signaled
     */
    public boolean isDone() {
        return fence.isSignaled();
    }

    /**
     * Waits for completion.
     *
     * @param timeout how long to wait at most
     * @return true if done, false if the timeout elapsed first
     * @throws VulkanException if the submission failed (device lost, or a fence it waited for
     *     signaled with an error: then it was never queued)
     * @throws NullPointerException if timeout is null
     */
    public boolean await(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        if (!fence.await(timeout)) {
            return false;
        }
        Throwable e = fence.error().orElse(null);
        if (e instanceof VulkanException v) {
            throw v;
        }
        if (e != null) {
            throw new VulkanException("the submission was not queued: a fence it waited for failed",
                    org.lwjgl.vulkan.VK12.VK_ERROR_UNKNOWN, e);
        }
        return true;
    }

    @Override
    public String toString() {
        return "Submission[" + value + (isDone() ? ", done" : "") + "]";
    }
}
