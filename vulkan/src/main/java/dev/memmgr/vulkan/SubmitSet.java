package dev.memmgr.vulkan;

import dev.memmgr.Exec;
import dev.memmgr.Fence;
import dev.memmgr.FenceUsage;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The imports one submission uses, each once with its strongest access, and the memmgr side of
 * the fence tie: waiting for the fences it depends on (explicit ones, and the implicit ones in
 * the objects' reservations, as dma-resv implicit sync), locking the reservations, and adding
 * the submission's fence to them.
 */
final class SubmitSet {
    /** How long one wait for a fence lasts before it is checked again (and interrupts seen). */
    private static final Duration WAIT_STEP = Duration.ofSeconds(1);

    private final Map<HostImport, Access> uses;

    private SubmitSet(Map<HostImport, Access> uses) {
        this.uses = uses;
    }

    /**
     * @throws IllegalArgumentException if an import belongs to another device
     * @throws IllegalStateException if an import is closed
     */
    static SubmitSet of(VulkanDevice dev, List<Use> list) {
        Objects.requireNonNull(list, "uses");
        Map<HostImport, Access> m = new LinkedHashMap<>();
        for (Use u : list) {
            Objects.requireNonNull(u, "use");
            if (u.target().device() != dev) {
                throw new IllegalArgumentException(u.target() + " belongs to another VulkanDevice");
            }
            if (u.target().isClosed()) {
                throw new IllegalStateException(u.target() + " is closed");
            }
            m.merge(u.target(), u.access(), (a, b) -> a == Access.WRITE ? a : b);
        }
        return new SubmitSet(m);
    }

    /** The implicit fences an access waits for: a reader waits for writers, a writer for everyone. */
    private static FenceUsage waitUsage(Access a) {
        return a == Access.WRITE ? FenceUsage.READ : FenceUsage.WRITE;
    }

    /**
     * Waits, holding no lock, until every explicit fence has signaled and every object is idle for
     * its access.
     *
     * @return the error of an explicit fence that signaled with one, or null
     * @throws IllegalStateException if the thread is interrupted (nothing was queued)
     */
    Throwable awaitFences(List<Fence> waits) {
        for (Fence f : waits) {
            while (!f.await(WAIT_STEP)) {
                checkInterrupt();
            }
            Throwable e = f.error().orElse(null);
            if (e != null) {
                return e;
            }
        }
        for (Map.Entry<HostImport, Access> u : uses.entrySet()) {
            while (!u.getKey().resv().awaitIdle(waitUsage(u.getValue()), WAIT_STEP)) {
                checkInterrupt();
            }
        }
        return null;
    }

    private static void checkInterrupt() {
        if (Thread.currentThread().isInterrupted()) {
            throw new IllegalStateException(
                    "interrupted while waiting for the fences of a submission; nothing was queued");
        }
    }

    /** Locks every object's reservation (wait-die, retried until all are held). */
    Exec lockAll() {
        return Exec.lockAll(e -> {
            for (HostImport i : uses.keySet()) {
                e.lock(i.resv());
            }
        });
    }

    /** @return whether nothing is left to wait for; reservations held */
    boolean ready(List<Fence> waits) {
        for (Fence f : waits) {
            if (!f.isSignaled()) {
                return false;
            }
        }
        for (Map.Entry<HostImport, Access> u : uses.entrySet()) {
            if (!u.getKey().resv().isIdle(waitUsage(u.getValue()))) {
                return false;
            }
        }
        return true;
    }

    /** Makes every import valid (swap-in, re-import); reservations held. */
    void validateLocked() {
        for (HostImport i : uses.keySet()) {
            i.validateLocked();
        }
    }

    /** Marks every object busy with the submission's fence; reservations held. */
    void fenceLocked(Fence fence, long value) {
        for (Map.Entry<HostImport, Access> u : uses.entrySet()) {
            HostImport i = u.getKey();
            i.resv().addFence(fence, u.getValue() == Access.WRITE ? FenceUsage.WRITE : FenceUsage.READ);
            i.usedBy(value);
        }
    }
}
