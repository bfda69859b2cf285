package dev.memmgr.bench;

import dev.memmgr.BufferObject;
import dev.memmgr.Exec;
import dev.memmgr.Fence;
import dev.memmgr.FenceUsage;
import dev.memmgr.GpuOutOfMemoryException;
import dev.memmgr.GpuVm;
import dev.memmgr.PurgedException;
import dev.memmgr.Residency;
import dev.memmgr.VmBo;
import java.util.SplittableRandom;

/**
 * The SUBMIT operation of {@link StressVm}: a GPU submission by hand, as a driver makes it before
 * its job runs (what the scheduler does for a job with a VM, checked step by step here). The
 * worker's last batch of jobs is waited for first. Same thread and state as its StressVm.
 */
final class VmSubmission {
    private static final FenceUsage[] OBJECT_USAGES = {FenceUsage.READ, FenceUsage.WRITE};

    private final Stress run;
    private final StressVm owner;
    private final VmModel model;
    private final StressReport report;
    private final String name;
    private final SplittableRandom rnd;

    VmSubmission(Stress run, StressVm owner, VmModel model, String name, SplittableRandom rnd) {
        this.run = run;
        this.owner = owner;
        this.model = model;
        this.report = run.report;
        this.name = name;
        this.rnd = rnd;
    }

    /**
     * SUBMIT: what a driver does before its job runs: lockAll (the VM's reservation first, then
     * exactly the external objects' and the extras'), validate (every mapped object that is not
     * purged is then resident or never populated, and not listed evicted), then a job's finished
     * fence on the VM (BOOKKEEP) and on every external object (READ or WRITE).
     */
    void submit() {
        owner.jobs.drain();
        GpuVm vm = owner.vm();
        VmModel.Bound extra = rnd.nextInt(4) == 0 ? model.pick(rnd, false, false) : null;
        BufferObject[] extras = extra != null && extra.handleOpen ? new BufferObject[] {extra.s.bo} : new BufferObject[0];
        boolean purged = false;
        try (Exec e = vm.lockAll(extras)) {
            String wrongLocks = model.checkLocks(e.locked(), vm.resv(), extras);
            if (wrongLocks != null) {
                report.violation(name + ": vm " + wrongLocks);
            }
            report.vmValidates.increment();
            if (!vm.evicted().isEmpty()) {
                report.vmValidatesEvicted.increment();
            }
            try {
                vm.validate();
            } catch (PurgedException pe) {
                purged = true;
                checkPurgedListed(vm, pe);
            } catch (GpuOutOfMemoryException oom) {
                report.gpuOutOfMemory.increment();
                return;
            }
            for (VmModel.Bound b : model.bound) {
                Residency r = b == null || !b.linked ? null : b.s.bo.residency();
                if (r != null && r != Residency.PURGED && (r == Residency.EVICTED
                        || vm.vmBo(b.s.bo).map(VmBo::evicted).orElse(true))) {
                    report.violation(name + ": " + b.s + " after validate() under lockAll: " + r + ", VmBo "
                            + vm.vmBo(b.s.bo).map(v -> v.evicted() ? "evicted" : "not evicted").orElse("missing"));
                }
            }
            Fence fence = run.gpu.sleepJob(owner.jobs.fenceQueue, rnd, name);
            fence.onSignal(report::fenceSignaled);
            vm.resv().addFence(fence, FenceUsage.BOOKKEEP);
            for (VmBo v : vm.externalObjects()) {
                v.bo().resv().addFence(fence, OBJECT_USAGES[rnd.nextInt(OBJECT_USAGES.length)]);
            }
            report.fencesAttached.increment();
        }
        if (purged) {
            owner.retirePurged();
        }
    }

    /** validate threw PurgedException: every object it left listed must be a purged DONTNEED one. */
    private void checkPurgedListed(GpuVm vm, PurgedException pe) {
        boolean found = false;
        for (VmBo v : vm.evicted()) {
            int slot = model.slotOf(v.bo());
            Object what = slot < 0 ? v.bo() : model.bound[slot].s;
            boolean isPurged = v.bo().residency() == Residency.PURGED;
            if (slot >= 0 && model.bound[slot].s.dontNeed && isPurged) {
                found = true;
                report.purgedSeen.increment();
            } else if (isPurged) {
                report.corruption(name + ": " + what + " is purged but was never marked DONTNEED (validate: "
                        + pe.getMessage() + ")");
            } else {
                report.violation(name + ": validate threw PurgedException (" + pe.getMessage() + ") and left " + what
                        + " listed evicted, " + v.bo().residency());
            }
        }
        if (!found) {
            report.corruption(name + ": validate threw PurgedException (" + pe.getMessage() + ") with no purged"
                    + " DONTNEED object listed evicted");
        }
    }
}
