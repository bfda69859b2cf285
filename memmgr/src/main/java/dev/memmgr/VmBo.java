package dev.memmgr;

import dev.memmgr.internal.vm.VmBoLink;
import java.util.List;

/**
 * The link between a {@link GpuVm} and a buffer object mapped in it (drm_gpuvm_bo). It exists
 * while the object has at least one mapping in the VM, and holds one reference on the object
 * meanwhile (the object's {@link BufferObject#refCount()} is one higher, however many mappings).
 * Two VmBo values of the same link are equal.
 *
 * <p>Thread-safe; the answers are snapshots.
 */
public final class VmBo {
    private final GpuVm vm;
    private final VmBoLink link;

    VmBo(GpuVm vm, VmBoLink link) {
        this.vm = vm;
        this.link = link;
    }

    /**
     * Returns the VM.
     *
     * @return the VM
     */
    public GpuVm vm() {
        return vm;
    }

    /**
     * Returns the mapped object.
     *
     * @return the mapped object
     */
    public BufferObject bo() {
        return link.obj().facade();
    }

    /**
     * Returns whether the object's reservation is not the VM's (it is locked on its own by
     * {@link GpuVm#lockAll}).
     *
     * @return whether the object is external to the VM
     */
    public boolean external() {
        return link.external();
    }

    /**
     * Returns whether the object lost its frames since the last {@link GpuVm#validate()}.
     *
     * @return whether the link is marked evicted
     */
    public boolean evicted() {
        return link.evicted();
    }

    /**
     * Returns the object's mappings in the VM, in address order; empty once the link is gone.
     *
     * @return the mappings (a snapshot)
     */
    public List<GpuVa> mappings() {
        return GpuVm.vas(link.vm().mappingsOf(link));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof VmBo v && v.link == link;
    }

    @Override
    public int hashCode() {
        return System.identityHashCode(link);
    }

    @Override
    public String toString() {
        return "VmBo[" + vm.name() + ", " + bo() + (link.isLinked() ? "" : ", unlinked") + "]";
    }
}
