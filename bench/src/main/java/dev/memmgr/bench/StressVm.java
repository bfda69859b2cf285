package dev.memmgr.bench;

import dev.memmgr.BufferObject;
import dev.memmgr.GpuVa;
import dev.memmgr.GpuVm;
import dev.memmgr.Madvise;
import dev.memmgr.Residency;
import dev.memmgr.VaOp;
import dev.memmgr.VmBo;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The stress tool's GPU VM workload: each worker keeps one {@link GpuVm} and binds, rebinds and
 * unbinds ranges of its objects in it, as a driver serving sparse textures and suballocated heaps
 * would, checked against a {@link VmModel}; a step of the worker applies one operation.
 *
 * <p><b>Objects.</b> Up to {@value VmModel#MAX_OBJECTS} objects of the worker (client {@code vm};
 * a third made by {@link GpuVm#createLocal}, sharing the VM's reservation) within a byte budget
 * ({@code Stress.vmBudget}: an eighth of the capacity over all workers). Mapped over existing
 * mappings (sometimes exactly over one: UNMAP(keep), MAP), unmapped by ranges and sometimes
 * whole; written through the VM and through {@link BufferObject#write} ({@link VmAccess});
 * marked DONTNEED and WILLNEED while mapped; their handles closed while mapped: the object must
 * live on through its link (reference count 1) and be freed by its last unmap. After every
 * change the links and reference counts follow the model. A purged object (PurgedException on a
 * DONTNEED object, counted as expected) is unbound and closed. Some operations bind a range of a
 * table object for their duration, under a shared claim of its slot (only reads; unbound before
 * the claim goes).
 *
 * <p><b>GPU work</b> ({@link StressJobs}): batches of jobs that upload, copy and read through the
 * VM on the run's scheduler, every byte checked; and submissions by hand ({@link VmSubmission}:
 * {@code lockAll}, {@code validate}, a job's fence). Every operation first waits for the worker's
 * last batch ({@link StressJobs#drain()}), so nothing changes the VM under a job.
 *
 * <p><b>Failures.</b> A wrong byte, or content lost without DONTNEED, is a corruption; a wrong op,
 * page table entry, link, reference count or lock set, a fault where the model says mapped or
 * none where it says unmapped, is unexpected. After an unexpected result the model may be wrong:
 * the VM and the objects are closed and a new VM starts ({@code resets} in the summary).
 */
final class StressVm {
    private enum Op { MAP, UNMAP, UNMAP_OBJECT, READ, FAULT, WRITE, OBJECT_WRITE, MADVISE, CLOSE, SUBMIT, CHECK, SHARED, JOBS }

    //                                     MAP UNMAP UNMAP_OBJ READ FAULT WRITE OBJ_WRITE MADV CLOSE SUBMIT CHECK SHARED JOBS
    private static final int[] WEIGHTS = {30, 12, 3, 20, 4, 8, 4, 4, 3, 6, 3, 5, 16};
    private static final int WEIGHT_TOTAL = Arrays.stream(WEIGHTS).sum();
    private static final Op[] OPS = Op.values();

    private final Stress run;
    private final StressWorker worker;
    private final StressReport report;
    private final String name;
    private final SplittableRandom rnd;
    private final VmModel model;
    private final VmAccess access;
    /** The worker's GPU jobs through this VM, and its fence queue. */
    final StressJobs jobs;
    private final VmSubmission submission;
    private final long maxObject;
    private long boundBytes;
    private int vms;
    private GpuVm vm;

    StressVm(Stress run, StressWorker worker, String name, SplittableRandom rnd, MemorySegment scratch) {
        this.run = run;
        this.worker = worker;
        this.report = run.report;
        this.name = name;
        this.rnd = rnd;
        long budgetPages = run.vmBudget / run.pageSize;
        // dense (a quarter of the budget): most maps land on mappings and cut them
        this.model = new VmModel(run.pageSize, (int) Math.min(2048, Math.max(64, budgetPages / 4)));
        this.access = new VmAccess(this, model, report, name, rnd, scratch);
        this.jobs = new StressJobs(run, this, model, access, name, rnd);
        this.submission = new VmSubmission(run, this, model, name, rnd);
        this.maxObject = Math.min(run.workload.max(Workload.Kind.VM), Math.max(1, budgetPages / 2) * run.pageSize);
        this.vm = newVm();
    }

    private GpuVm newVm() {
        model.base = (1L << 32) + (long) rnd.nextInt(1 << 16) * model.pageSize; // not 0, as a driver's would not be
        return run.clients[Workload.Kind.VM.ordinal()].createVm(name + "-vm" + ++vms, model.base,
                (long) model.vaPages * model.pageSize);
    }

    GpuVm vm() {
        return vm;
    }

    /** One operation, drawn from the weights; an unexpected exception is reported and starts a new VM. */
    void step() {
        int r = rnd.nextInt(WEIGHT_TOTAL);
        int k = 0;
        while (r >= WEIGHTS[k]) {
            r -= WEIGHTS[k++];
        }
        Op op = OPS[k];
        try {
            jobs.drain();
            switch (op) {
                case MAP -> mapOp();
                case UNMAP -> {
                    int n = 1 + rnd.nextInt(Math.min(model.vaPages, 64));
                    unmap(rnd.nextInt(model.vaPages - n + 1), n);
                }
                case UNMAP_OBJECT -> {
                    VmModel.Bound b = model.pick(rnd, true, false);
                    if (b != null) {
                        unmapAll(b);
                    }
                }
                case READ -> {
                    if (!access.readOp()) {
                        mapOp();
                    }
                }
                case FAULT -> access.faultOp();
                case WRITE -> {
                    if (!access.writeOp()) {
                        mapOp();
                    }
                }
                case OBJECT_WRITE -> access.objectWriteOp();
                case MADVISE -> madviseOp();
                case CLOSE -> closeOp();
                case SUBMIT -> submission.submit();
                case CHECK -> checkOp();
                case SHARED -> sharedOp();
                case JOBS -> {
                    if (!jobs.batchOp()) {
                        mapOp();
                    }
                }
            }
        } catch (RuntimeException | Error e) {
            report.unexpected(name + ": vm " + op + " in " + vm, e);
            reset();
        }
    }

    // ---- binding -----------------------------------------------------------------------------

    private void mapOp() {
        if (rnd.nextInt(8) == 0 && remapIdentical()) {
            return;
        }
        VmModel.Bound b = model.pick(rnd, false, false);
        if (b == null || (model.count() < VmModel.MAX_OBJECTS && rnd.nextInt(4) == 0)) {
            VmModel.Bound made = create();
            b = made != null ? made : b;
        }
        if (b == null) {
            return;
        }
        int pages = b.s.pages;
        int k = rnd.nextInt(10);
        int n = k < 5 ? 1 + rnd.nextInt(Math.min(pages, 8))
                : k < 8 ? 1 + rnd.nextInt(Math.min(pages, 64)) : Math.min(pages, 1 + rnd.nextInt(512));
        n = Math.min(n, model.vaPages);
        map(rnd.nextInt(model.vaPages - n + 1), n, model.slotOf(b), rnd.nextInt(pages - n + 1));
    }

    /** Maps exactly what a mapping maps already: UNMAP(keep), MAP. */
    private boolean remapIdentical() {
        int p = model.randomMapped(rnd);
        if (p < 0) {
            return false;
        }
        GpuVa m = vm.find(model.addr(p)).orElse(null);
        String bad = model.checkFound(p, m);
        if (bad != null) {
            report.violation(name + ": vm " + bad);
            reset();
            return true;
        }
        int first = (int) ((m.va() - model.base) / model.pageSize);
        List<VaOp> ops = map(first, (int) (m.range() / model.pageSize), model.slotAt(p), (int) (m.offset() / model.pageSize));
        if (ops != null && ops.size() != 2) {
            report.violation(name + ": vm map of exactly " + m + " gives " + ops + ", not UNMAP(keep), MAP");
        }
        return true;
    }

    /** @return the ops, or null if they were wrong (reported, VM reset) */
    private List<VaOp> map(int first, int n, int slot, int objFirst) {
        VmModel.Bound b = model.bound[slot];
        List<VaOp> ops = vm.map(model.addr(first), (long) n * model.pageSize, b.s.bo, (long) objFirst * model.pageSize);
        report.vmMaps.increment();
        if (!opsRight(ops, first, n, b, objFirst)) {
            return null;
        }
        model.set(first, n, slot, objFirst);
        settle();
        return ops;
    }

    private void unmap(int first, int n) {
        List<VaOp> ops = vm.unmap(model.addr(first), (long) n * model.pageSize);
        report.vmUnmaps.increment();
        if (opsRight(ops, first, n, null, 0)) {
            model.set(first, n, -1, 0);
            settle();
        }
    }

    private boolean opsRight(List<VaOp> ops, int first, int n, VmModel.Bound b, int objFirst) {
        String bad = model.checkOps(ops, first, n, b, objFirst);
        if (bad != null) {
            String all = ops.toString();
            report.violation(String.format(Locale.ROOT, "%s: vm %s [0x%x, +%d pages)%s: %s; ops %s", name,
                    b == null ? "unmap" : "map", model.addr(first), n, b == null ? "" : " of " + b.s + " page " + objFirst,
                    bad, all.length() > 600 ? all.substring(0, 600) + "..." : all));
            reset();
        }
        return bad == null;
    }

    /** Unmaps every run of VA pages that shows the object (its last unmap frees it if its handle is closed). */
    private void unmapAll(VmModel.Bound b) {
        int slot = model.slotOf(b);
        for (int p = 0; p < model.vaPages; ) {
            if (model.slotAt(p) != slot) {
                p++;
                continue;
            }
            int q = p;
            while (q < model.vaPages && model.slotAt(q) == slot) {
                q++;
            }
            unmap(p, q - p);
            p = q;
        }
    }

    /**
     * After a model change: links come and go with the first and last mapping, reference counts
     * follow (the worker's objects: handle + link), and an object whose handle is closed is freed
     * by its last unmap.
     */
    private void settle() {
        for (int i = 0; i < model.bound.length; i++) {
            VmModel.Bound b = model.bound[i];
            if (b == null) {
                continue;
            }
            boolean mapped = b.mapped > 0;
            if (mapped != b.linked) {
                b.linked = mapped;
                if (vm.vmBo(b.s.bo).isPresent() != mapped) {
                    report.violation(name + ": " + b.s + (mapped ? " is mapped but has no VmBo" : " has a VmBo with no mapping"));
                }
            }
            if (!mapped && !b.handleOpen) {
                checkFreed(b.s, "after its last unmap, handle closed");
                report.vmFreedByUnmap.increment();
                forget(i);
            } else if (!b.borrowed) {
                int refs = b.s.bo.refCount();
                if (refs != (b.handleOpen ? 1 : 0) + (mapped ? 1 : 0)) {
                    report.violation(name + ": " + b.s + ": refCount " + refs + " with handle "
                            + (b.handleOpen ? "open" : "closed") + (mapped ? ", mapped" : ", unmapped"));
                }
            }
        }
    }

    // ---- object life ------------------------------------------------------------------------

    private VmModel.Bound create() {
        int slot = model.freeSlot();
        long size = Math.min(run.workload.size(Workload.Kind.VM, rnd), maxObject);
        if (slot < 0 || boundBytes + size > run.vmBudget) {
            return null;
        }
        boolean local = rnd.nextInt(3) == 0;
        BufferObject bo = local ? vm.createLocal(size) : run.clients[Workload.Kind.VM.ordinal()].create(size);
        VmModel.Bound b = new VmModel.Bound(new ShadowObject(run.nextId.incrementAndGet(), Workload.Kind.VM, bo,
                model.pageSize), local, false);
        model.bound[slot] = b;
        boundBytes += b.s.size();
        if (bo.resv().equals(vm.resv()) != local) {
            report.violation(name + ": " + b.s + (local ? ", made by createLocal, does not share" : " shares")
                    + " the VM's reservation");
        }
        if (rnd.nextInt(4) != 0) {
            access.write(b.s, 0, b.s.pages); // else left unwritten: zeros
        }
        return b;
    }

    private void madviseOp() {
        VmModel.Bound b = model.pick(rnd, false, false);
        if (b == null || !b.handleOpen) {
            return;
        }
        ShadowObject s = b.s;
        if (!s.dontNeed) {
            if (!s.bo.madvise(Madvise.DONTNEED)) {
                report.corruption(name + ": " + s + ": madvise(DONTNEED) returned false (purged) although never"
                        + " marked DONTNEED");
                retire(b);
                return;
            }
            s.dontNeed = true;
        } else if (s.bo.madvise(Madvise.WILLNEED)) {
            s.dontNeed = false;
            access.verify(s, 0, s.pages, "verify after WILLNEED");
        } else {
            if (s.bo.residency() != Residency.PURGED) {
                report.violation(name + ": " + s + ": madvise(WILLNEED) returned false but residency is "
                        + s.bo.residency());
            }
            report.purgedSeen.increment();
            retire(b);
        }
    }

    /** Closes the handle: a mapped object lives on through its link (and reads right); an unmapped one is freed. */
    private void closeOp() {
        VmModel.Bound b = model.pick(rnd, false, false);
        if (b == null || !b.handleOpen) {
            return;
        }
        b.s.bo.close();
        b.handleOpen = false;
        boolean mapped = b.linked;
        settle();
        if (mapped) {
            report.vmClosedMapped.increment();
            if (!b.s.dontNeed) {
                access.verify(b.s, rnd.nextInt(b.s.pages), 1, "read after its handle was closed while mapped");
            }
        }
    }

    /** Unbinds an object and closes its handle: it is freed. */
    void retire(VmModel.Bound b) {
        unmapAll(b);
        if (model.slotOf(b) >= 0 && b.handleOpen) {
            b.s.bo.close();
            b.handleOpen = false;
            settle();
        }
    }

    /** Unbinds and closes the worker's purged objects (a borrowed one is its slot's business). */
    void retirePurged() {
        jobs.drain();
        for (int i = 0; i < VmModel.MAX_OBJECTS; i++) {
            VmModel.Bound b = model.bound[i];
            if (b != null && b.s.dontNeed && b.s.bo.residency() == Residency.PURGED) {
                retire(b);
            }
        }
    }

    private void forget(int slot) {
        if (!model.bound[slot].borrowed) {
            boundBytes -= model.bound[slot].s.size();
        }
        model.bound[slot] = null;
    }

    private void checkFreed(ShadowObject s, String when) {
        if (s.bo.refCount() != 0) {
            report.violation(name + ": " + s + " " + when + ": refCount " + s.bo.refCount() + ", not freed");
        } else if (!access.readRefused(s)) {
            report.violation(name + ": " + s + " " + when + ": read() of the freed object succeeded");
        }
    }

    /**
     * Closes the VM and the worker's objects (after a reported failure: the model may be wrong) and
     * starts anew; the jobs of the last batch are waited for first.
     */
    void reset() {
        jobs.drain();
        report.vmResets.increment();
        try {
            vm.close();
        } catch (RuntimeException | Error e) {
            report.unexpected(name + ": close of " + vm, e);
        }
        for (int i = 0; i < VmModel.MAX_OBJECTS; i++) {
            VmModel.Bound b = model.bound[i];
            if (b != null && b.handleOpen) {
                try {
                    b.s.bo.close();
                } catch (RuntimeException | Error e) {
                    report.unexpected(name + ": close of " + b.s, e);
                }
            }
        }
        model.clear();
        boundBytes = 0;
        vm = newVm();
    }

    // ---- submission and checks ----------------------------------------------------------------

    /** find() of random pages, sometimes mappings(), externalObjects() and a VmBo's mappings against the model. */
    private void checkOp() {
        for (int k = 0; k < 16; k++) {
            int p = rnd.nextInt(model.vaPages);
            String bad = model.checkFound(p, vm.find(model.addr(p)).orElse(null));
            if (bad != null) {
                report.violation(name + ": vm " + bad);
                reset();
                return;
            }
        }
        if (rnd.nextInt(4) == 0 && !mappingsRight()) {
            return;
        }
        List<BufferObject> external = new ArrayList<>();
        for (VmBo v : vm.externalObjects()) {
            external.add(v.bo());
        }
        String bad = model.checkExternals(external);
        if (bad != null) {
            report.violation(name + ": vm " + bad);
        }
        VmModel.Bound b = model.pick(rnd, true, false);
        if (b != null) {
            long pages = vm.vmBo(b.s.bo).map(v -> v.mappings().stream().mapToLong(GpuVa::range).sum()).orElse(-1L)
                    / model.pageSize;
            if (pages != b.mapped) {
                report.violation(name + ": the VmBo of " + b.s + " has mappings of " + pages + " pages, the model " + b.mapped);
            }
        }
    }

    private boolean mappingsRight() {
        String bad = model.checkMappings(vm.mappings());
        if (bad != null) {
            report.violation(name + ": vm " + bad);
            reset();
        }
        return bad == null;
    }

    // ---- a table object, bound for one operation ----------------------------------------------

    /** Binds a range of a table object (shared claim held), reads it through the VM, maybe submits, unbinds. */
    private void sharedOp() {
        int i = rnd.nextInt(run.slots.length());
        if (!worker.claimShared(i)) {
            return;
        }
        try {
            ShadowObject t = run.slots.get(i);
            if (t == null || t.unknown) {
                return;
            }
            VmModel.Bound b = new VmModel.Bound(t, false, true);
            model.bound[VmModel.BORROWED] = b;
            int n = Math.min(model.vaPages, 1 + rnd.nextInt(Math.min(t.pages, Math.min(64, access.scratchPages))));
            int first = rnd.nextInt(model.vaPages - n + 1);
            if (map(first, n, VmModel.BORROWED, rnd.nextInt(t.pages - n + 1)) == null) {
                return; // reset
            }
            report.vmBorrowed.increment();
            access.readAndCheck(first, n, "vm read of a table object");
            if (model.bound[VmModel.BORROWED] == b && rnd.nextInt(3) == 0) {
                submission.submit();
            }
            if (model.bound[VmModel.BORROWED] == b) {
                unmap(first, n);
            }
            if (model.bound[VmModel.BORROWED] == b) {
                forget(VmModel.BORROWED);
            }
        } catch (RuntimeException | Error e) {
            report.unexpected(name + ": vm SHARED in " + vm, e);
            reset(); // unbinds the table object before its claim goes
        } finally {
            worker.release(i, false);
        }
    }

    // ---- the end ----------------------------------------------------------------------------

    /**
     * Last check (worker stopping): every mapped page read through the VM once more, the page
     * table compared, the VM closed (objects whose handle is closed must be freed by it), and
     * every remaining object verified whole and closed.
     */
    void finish() {
        try {
            jobs.drain();
            for (int p = 0; p < model.vaPages; ) {
                if (model.at(p) == null) {
                    p++;
                    continue;
                }
                int q = model.mappedRun(p, access.scratchPages);
                access.readAndCheck(p, q - p, "final vm read");
                report.finalSteps.increment();
                p = q;
            }
            mappingsRight();
            vm.close();
            try {
                vm.mappings();
                report.violation(name + ": mappings() of a closed VM answered");
            } catch (IllegalStateException expected) {
                // closed
            }
            for (int i = 0; i < VmModel.MAX_OBJECTS; i++) {
                VmModel.Bound b = model.bound[i];
                if (b == null) {
                    continue;
                }
                ShadowObject s = b.s;
                if (b.handleOpen) {
                    if (s.bo.refCount() != 1) {
                        report.violation(name + ": " + s + ": refCount " + s.bo.refCount() + " after its VM closed");
                    }
                    if (!s.dontNeed || s.bo.madvise(Madvise.WILLNEED)) {
                        s.dontNeed = false;
                        access.verify(s, 0, s.pages, "final verify");
                    } else if (s.bo.residency() != Residency.PURGED) {
                        report.violation(name + ": " + s + ": WILLNEED returned false but residency is " + s.bo.residency());
                    }
                    s.bo.close();
                }
                checkFreed(s, b.handleOpen ? "closed at the end" : "handle closed, then its VM");
                model.bound[i] = null;
                report.finalSteps.increment();
            }
        } catch (RuntimeException | Error e) {
            report.unexpected(name + ": final check of " + vm, e);
            reset();
            vm.close();
        }
    }
}
