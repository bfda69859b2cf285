package dev.memmgr.vulkan;

import static org.lwjgl.system.MemoryStack.stackPush;
import static org.lwjgl.vulkan.VK10.VK_SUCCESS;
import static org.lwjgl.vulkan.VK10.VK_TIMEOUT;
import static org.lwjgl.vulkan.VK12.vkGetSemaphoreCounterValue;
import static org.lwjgl.vulkan.VK12.vkWaitSemaphores;

import dev.memmgr.Fence;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.vulkan.VkCommandBuffer;
import org.lwjgl.vulkan.VkDevice;
import org.lwjgl.vulkan.VkSemaphoreWaitInfo;

/**
 * The GPU-to-memmgr half of the fence tie: one timeline semaphore that every submission signals
 * with its own value, in submission order, and one daemon thread that waits on it
 * ({@code vkWaitSemaphores}) and signals the memmgr {@link Fence} of each submission whose value
 * the semaphore has reached, then hands its command buffer back for reuse.
 *
 * <p>Locking: {@link #pending}, {@link #completed} and {@link #signaledUpTo} are guarded by this
 * object's monitor, a leaf; fences are signaled without it (their actions may take other locks).
 * {@link #await} waits on the semaphore itself, so a thread that waits for the GPU while holding a
 * reservation (moveNotify) never depends on this thread, whose fence actions might need that
 * reservation.
 */
final class Completion implements Runnable {
    /** How long one wait lasts before the thread looks at {@link #closing} again. */
    private static final long WAIT_NANOS = 100_000_000L;

    /** A queued submission. */
    record Pending(long value, Fence fence, VkCommandBuffer cmd) {
    }

    private final VkDevice device;
    private final long semaphore;
    private final ArrayDeque<Pending> pending = new ArrayDeque<>();
    /** Command buffers whose work has completed: reused by the next submission. */
    final ConcurrentLinkedQueue<VkCommandBuffer> free = new ConcurrentLinkedQueue<>();
    private final AtomicLong signaled = new AtomicLong();
    private final Thread thread;
    /** A semaphore value the GPU has reached; monitor. */
    private long completed;
    /** The value up to which every fence is signaled; monitor. */
    private long signaledUpTo;
    /** Set when the device is lost: every later wait fails with it; monitor. */
    private VulkanException lost;
    private boolean closing;

    Completion(VkDevice device, long semaphore) {
        this.device = device;
        this.semaphore = semaphore;
        this.thread = new Thread(this, "memmgr-vulkan-completion");
        thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    /** @return submissions whose fence this thread has signaled */
    long signaledCount() {
        return signaled.get();
    }

    /** Queues a submitted value; values arrive in increasing order (the caller holds the submit lock). */
    void track(long value, Fence fence, VkCommandBuffer cmd) {
        synchronized (this) {
            pending.addLast(new Pending(value, fence, cmd));
            notifyAll();
        }
    }

    /**
     * Waits until the GPU has finished every submission up to {@code value} (the semaphore has
     * reached it), waiting on the semaphore itself: it does not depend on this thread, whose fence
     * actions may take locks the caller holds (moveNotify holds a reservation). Any thread, any
     * locks held. Not interruptible: the GPU must be done before the caller frees what it uses.
     *
     * @throws VulkanException if the device was lost
     */
    void await(long value) {
        for (;;) {
            synchronized (this) {
                if (completed >= value) {
                    return;
                }
                if (lost != null) {
                    throw lost;
                }
            }
            int r = waitFor(value);
            if (r == VK_SUCCESS) {
                return;
            }
            if (r != VK_TIMEOUT) {
                throw new VulkanException("waiting for submitted GPU work", r);
            }
        }
    }

    /** Waits until every fence up to {@code value} is signaled (the thread has passed it). */
    void awaitSignaled(long value) {
        boolean interrupted = false;
        synchronized (this) {
            while (signaledUpTo < value && lost == null) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Stops the thread once nothing is pending (the caller has waited for the device to go idle). */
    void close() {
        synchronized (this) {
            closing = true;
            notifyAll();
        }
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void run() {
        for (;;) {
            long next;
            synchronized (this) {
                while (pending.isEmpty() && !closing) {
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        // only close() stops this thread
                    }
                }
                if (pending.isEmpty()) {
                    return;
                }
                next = pending.peekFirst().value;
            }
            int r = waitFor(next);
            if (r == VK_TIMEOUT) {
                continue;
            }
            if (r == VK_SUCCESS) {
                signalUpTo(Math.max(next, counterValue()), null); // the wait succeeded: at least next
            } else {
                VulkanException e = new VulkanException("waiting for submitted GPU work", r);
                synchronized (this) {
                    lost = e;
                }
                signalUpTo(Long.MAX_VALUE, e);
            }
        }
    }

    private int waitFor(long value) {
        try (MemoryStack s = stackPush()) {
            VkSemaphoreWaitInfo info = VkSemaphoreWaitInfo.calloc(s).sType$Default()
                    .semaphoreCount(1).pSemaphores(s.longs(semaphore)).pValues(s.longs(value));
            return vkWaitSemaphores(device, info, WAIT_NANOS);
        }
    }

    private long counterValue() {
        try (MemoryStack s = stackPush()) {
            var v = s.mallocLong(1);
            int r = vkGetSemaphoreCounterValue(device, semaphore, v);
            return r == VK_SUCCESS ? v.get(0) : 0;
        }
    }

    /**
     * Records that the GPU reached {@code value} (waking waiters), then signals, in order, the
     * fences of every pending submission up to it.
     */
    private void signalUpTo(long value, VulkanException error) {
        List<Pending> done = new ArrayList<>();
        synchronized (this) {
            if (error == null) {
                completed = Math.max(completed, value);
            }
            while (!pending.isEmpty() && pending.peekFirst().value <= value) {
                done.add(pending.pollFirst());
            }
        }
        long last = 0;
        for (Pending p : done) {
            free.add(p.cmd);
            try {
                if (error == null) {
                    p.fence.signal();
                } else {
                    p.fence.signal(error);
                }
            } catch (RuntimeException e) {
                // an action registered on the fence failed; the fence is signaled regardless
                Thread t = Thread.currentThread();
                t.getUncaughtExceptionHandler().uncaughtException(t, e);
            }
            signaled.incrementAndGet();
            last = p.value;
        }
        synchronized (this) {
            signaledUpTo = Math.max(signaledUpTo, last);
            notifyAll();
        }
    }
}
