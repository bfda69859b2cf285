package dev.memmgr.internal.vm;

import dev.memmgr.internal.gem.EvictionListener;
import dev.memmgr.internal.gem.GemObject;

/**
 * The link between one GPU VM and one buffer object (drm_gpuvm_bo): it exists while the object
 * has at least one mapping in the VM, holds one lifetime reference on the object, counts the
 * object's mappings there, and carries the evicted mark that the object's eviction listener sets
 * and the VM's validate clears.
 *
 * <p>Locking: every field but {@code facade} is guarded by the owning {@link VmEngine}'s lock.
 * The listener runs with the object's reservation held and takes that lock (the VM lock never
 * waits for a reservation, so this cannot invert).
 */
public final class VmBoLink {
    final VmEngine vm;
    final GemObject obj;
    /** Whether the object's reservation is not the VM's (an external object). */
    final boolean external;
    final EvictionListener listener;
    int mappings;
    boolean evicted;
    /** Unlinked: its last mapping went (or the VM closed); a late eviction notice is ignored. */
    boolean dead;

    VmBoLink(VmEngine vm, GemObject obj) {
        this.vm = vm;
        this.obj = obj;
        this.external = obj.resv() != vm.resv();
        this.listener = (o, purged) -> vm.evictedNotice(this);
    }

    /** @return the VM */
    public VmEngine vm() {
        return vm;
    }

    /** @return the object */
    public GemObject obj() {
        return obj;
    }

    /** @return whether the object's reservation is not the VM's */
    public boolean external() {
        return external;
    }

    /** @return whether the object lost its frames since the last validate (a snapshot) */
    public boolean evicted() {
        return vm.evicted(this);
    }

    /** @return whether the link is still in its VM (the object still has a mapping there) */
    public boolean isLinked() {
        return vm.isLinked(this);
    }

}
