package dev.memmgr.bench;

import dev.memmgr.BufferObject;
import dev.memmgr.Entity;
import dev.memmgr.Fence;
import dev.memmgr.FenceUsage;
import dev.memmgr.GpuOutOfMemoryException;
import dev.memmgr.GpuPageFaultException;
import dev.memmgr.Job;
import dev.memmgr.Madvise;
import dev.memmgr.Priority;
import dev.memmgr.PurgedException;
import dev.memmgr.Residency;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import java.util.concurrent.TimeoutException;

/**
 * The GPU work of one stress worker's VM, as jobs of the run's scheduler ({@link StressGpu}). The
 * JOBS operation of {@link StressVm} pushes a batch of one to four {@link VmJob}s (uploads,
 * copies, reads, and last maybe a fault) that run through the VM on the scheduler's threads while
 * the worker goes on with table operations ({@link VmSubmission} is the SUBMIT operation, a
 * submission by hand).
 *
 * <h2>Batches</h2>
 * Two kinds, drawn at random. IMPLICIT (two in three): every job declares each object it touches
 * with {@code reads} or {@code writes}, so implicit sync orders jobs that share an object one of
 * them writes, and the objects are busy from the push. CHAINED: nothing declared; each job depends
 * on the one before (explicit fences); the objects are not busy until the scheduler has locked,
 * validated and fenced the VM, so the shrinker may evict them between submission and run, and
 * validate must swap them back in (counted: a job that succeeded although an object resident at
 * its push was evicted when its scheduled fence signaled, just before the scheduler's
 * validate). A third of the batches wait for a gate the
 * worker opens at its next VM step (the first job depends on it, and the entity starts its jobs in
 * order). While a gated IMPLICIT batch waits, its objects are busy for sure: the worker marks one
 * that a job writes DONTNEED, reclaims every purgeable byte, and the object must still be there
 * (WILLNEED retains it): the shrinker skips busy objects. A job takes one credit, sometimes two.
 *
 * <h2>Why the model stays exact</h2>
 * <ol>
 * <li>The model ({@link VmModel}, {@link ShadowObject}) describes the state after every pushed job
 *     of the batch has run: each job's effect goes into it at push ({@link VmJob#apply()}), and the
 *     kernel works from a snapshot taken then, never from the model.</li>
 * <li>Jobs of a batch that share an object, one of them writing it, run in push order (implicit
 *     sync or the chain), so each finds what its snapshot says. Each kernel checks that its
 *     conflicting predecessors have finished, and if one of them that writes failed, it does
 *     nothing ({@link VmJob.Skipped}): a job that conflicts with a failed one changes nothing.</li>
 * <li>The worker touches its VM (page table, content, objects' lives) only with no job of its
 *     batch unfinished: every VM step starts with {@link #drain()}, which releases the gate and
 *     waits for every job. One exception tests implicit sync from the CPU's side: right after
 *     pushing an IMPLICIT batch the worker may {@code awaitIdle(WRITE)} on the objects of a range
 *     a job writes and read the range through the VM: every job writing those objects must have
 *     finished then (else a violation), and if they all succeeded every byte must be the
 *     model's.</li>
 * <li>{@link #drain()} judges every job: a success (a FAULT job must fail), or a failure it may
 *     have: PurgedException when a DONTNEED object of the VM was purged (validate fails; the
 *     worker then unbinds the purged objects), GpuOutOfMemoryException, the error of a job it
 *     depends on (the scheduler passes it on), Skipped, and for a FAULT job the page fault at the
 *     first unmapped byte. Anything else is unexpected (a timeout or cancellation is reported by
 *     StressGpu). Failed jobs that write are taken out of the model, newest first (by 2 no job
 *     that succeeded built on them); one whose kernel had begun writing may have left each page old
 *     or new, so its objects are unbound and closed (no longer checked).</li>
 * </ol>
 * Every byte a job writes is checked later: by read jobs and copy sources, the CPU read above, the
 * VM workload's reads, and the final read of every mapped page and of every object.
 *
 * <p>Worker thread only (the kernels are {@link VmJob}'s).
 */
final class StressJobs {
    private static final int MAX_BATCH = 4;
    /** The most pages a job moves (its buffer: 128 KiB of 4 KiB pages). */
    private static final int JOB_PAGES = 32;
    private static final VmJob.Kind[] KINDS = VmJob.Kind.values();
    //                                        UPLOAD COPY READ FAULT
    private static final int[] KIND_WEIGHTS = {35, 30, 25, 10};
    private static final int KIND_TOTAL = 100;

    private final Stress run;
    private final StressVm owner;
    private final VmModel model;
    private final VmAccess access;
    private final StressReport report;
    private final String name;
    private final SplittableRandom rnd;
    private final int pageSize;
    private final Entity vmQueue;
    /** The worker's queue for fence jobs: FENCE on table objects, submissions by hand. */
    final Entity fenceQueue;
    /** One buffer per job of a batch, off-heap and shared (kernels run on the scheduler's threads). */
    private final MemorySegment[] buffers = new MemorySegment[MAX_BATCH];
    private final List<VmJob> batch = new ArrayList<>(MAX_BATCH);
    /** The gate of a gated batch (null when none). */
    private Fence gate;
    private boolean draining;
    private int batches;
    /** The range the last {@code pick...Range} chose: first VA page and length. */
    private int rangeFirst;
    private int rangeLen;

    StressJobs(Stress run, StressVm owner, VmModel model, VmAccess access, String name, SplittableRandom rnd) {
        this.run = run;
        this.owner = owner;
        this.model = model;
        this.access = access;
        this.report = run.report;
        this.name = name;
        this.rnd = rnd;
        this.pageSize = model.pageSize;
        this.vmQueue = run.gpu.entity(Priority.NORMAL);
        this.fenceQueue = run.gpu.entity(Priority.values()[1 + rnd.nextInt(3)]); // HIGH, NORMAL or LOW
        Arena arena = Arena.ofAuto(); // freed with the buffers
        for (int i = 0; i < MAX_BATCH; i++) {
            buffers[i] = arena.allocate((long) JOB_PAGES * pageSize, 4096);
        }
    }

    // ---- a batch -----------------------------------------------------------------------------

    /**
     * JOBS: pushes a batch (after draining the last one).
     *
     * @return false if nothing is mapped (nothing pushed)
     */
    boolean batchOp() {
        drain();
        if (model.randomMapped(rnd) < 0) {
            return false;
        }
        boolean implicit = rnd.nextInt(3) != 0;
        gate = rnd.nextInt(3) == 0 ? new Fence() : null;
        int n = 1 + rnd.nextInt(MAX_BATCH);
        batches++;
        report.jobBatches.increment();
        for (int i = 0; i < n; i++) {
            VmJob j = plan(i == n - 1);
            if (j != null) {
                push(j, implicit);
            }
        }
        if (gate != null && implicit) {
            probeBusy();
        }
        if (implicit && gate == null && rnd.nextBoolean()) {
            readAfterImplicitSync();
        }
        return true;
    }

    /**
     * A gated IMPLICIT batch holds its objects busy until the gate opens (its fences are attached
     * and unsignaled): one of them that a job writes, resident and marked DONTNEED (the first thing
     * a reclaim takes), must survive a reclaim of every purgeable byte, and WILLNEED must retain it.
     */
    private void probeBusy() {
        ShadowObject x = null;
        for (VmJob j : batch) {
            for (ShadowObject s : j.written()) {
                int slot = s == null ? -1 : model.slotOf(s.bo);
                if (slot >= 0 && model.bound[slot].handleOpen && !s.dontNeed && s.bo.residency() == Residency.RESIDENT) {
                    x = s;
                }
            }
        }
        if (x == null) {
            return;
        }
        if (!x.bo.madvise(Madvise.DONTNEED)) {
            report.corruption(name + ": " + x + ": madvise(DONTNEED) returned false (purged) although never marked DONTNEED");
            x.dontNeed = true; // its jobs fail at validate; the drain unbinds it
            return;
        }
        run.mm.reclaim(Math.max(x.size(), run.mm.stats().purgeable()));
        Residency r = x.bo.residency();
        if (!x.bo.madvise(Madvise.WILLNEED) || r != Residency.RESIDENT) {
            report.violation(name + ": " + x + " is " + r + " after a reclaim while jobs that write it wait for their"
                    + " gate: the shrinker must skip busy objects");
            x.dontNeed = x.bo.residency() == Residency.PURGED;
            return;
        }
        report.jobBusyProbes.increment();
    }

    /** @return the next job of the batch, or null if no range suits it */
    private VmJob plan(boolean last) {
        int r = rnd.nextInt(KIND_TOTAL);
        int k = 0;
        while (r >= KIND_WEIGHTS[k]) {
            r -= KIND_WEIGHTS[k++];
        }
        VmJob.Kind kind = KINDS[k];
        MemorySegment buf = buffers[batch.size()];
        if (kind == VmJob.Kind.FAULT) {
            return last ? faultJob(buf) : null;
        }
        if (kind == VmJob.Kind.UPLOAD && pickWriteRange(JOB_PAGES, false)) {
            return new VmJob(kind, describe(kind, -1, rangeFirst, rangeLen), report, model, buf, rangeLen, -1, rangeFirst,
                    0, 0, false);
        }
        if (!pickReadRange(JOB_PAGES)) {
            return null;
        }
        int src = rangeFirst;
        int n = rangeLen;
        if (kind == VmJob.Kind.COPY && pickWriteRange(n, true)) {
            return new VmJob(kind, describe(kind, src, rangeFirst, rangeLen), report, model, buf, rangeLen, src,
                    rangeFirst, 0, 0, false);
        }
        return new VmJob(VmJob.Kind.READ, describe(VmJob.Kind.READ, src, -1, n), report, model, buf, n, src, -1, 0, 0,
                false);
    }

    private String describe(VmJob.Kind kind, int src, int dst, int n) {
        return String.format(Locale.ROOT, "%s: job %d.%d %s%s%s, %d pages", name, batches, batch.size(), kind,
                src < 0 ? "" : String.format(Locale.ROOT, " from 0x%x", model.addr(src)),
                dst < 0 ? "" : String.format(Locale.ROOT, " to 0x%x", model.addr(dst)), n);
    }

    /** A run of mapped VA pages from a random one, at most max long. */
    private boolean pickReadRange(int max) {
        int p = model.randomMapped(rnd);
        if (p < 0) {
            return false;
        }
        rangeFirst = p;
        rangeLen = 1 + rnd.nextInt(model.mappedRun(p, max) - p);
        return true;
    }

    /**
     * A run of mapped VA pages that may be written: no DONTNEED object (its content may go), and
     * with {@code distinct}, no object page shown twice (a copy writes each page once).
     */
    private boolean pickWriteRange(int max, boolean distinct) {
        for (int probe = 0; probe < 4; probe++) {
            int p = model.randomMapped(rnd);
            if (p < 0) {
                return false;
            }
            int end = p;
            while (end < model.vaPages && end - p < max && model.at(end) != null && !model.at(end).s.dontNeed
                    && !(distinct && shownBefore(p, end))) {
                end++;
            }
            if (end > p) {
                rangeFirst = p;
                rangeLen = 1 + rnd.nextInt(end - p);
                return true;
            }
        }
        return false;
    }

    /** Whether VA page q shows an object page that one of VA pages [from, q) shows too. */
    private boolean shownBefore(int from, int q) {
        for (int x = from; x < q; x++) {
            if (model.slotAt(x) == model.slotAt(q) && model.pageAt(x) == model.pageAt(q)) {
                return true;
            }
        }
        return false;
    }

    /** A read or write across unmapped VA (sometimes from below the VM, sometimes unaligned), or null if all is mapped. */
    private VmJob faultJob(MemorySegment buf) {
        int n = 1 + rnd.nextInt(16);
        int first = rnd.nextInt(model.vaPages - n + 1);
        long va = model.addr(first) + (rnd.nextBoolean() ? 0 : 8L * rnd.nextInt(pageSize / 8));
        long end = va + (long) n * pageSize;
        long at = -1;
        if (rnd.nextInt(8) == 0) {
            va = model.base - pageSize + 8L * rnd.nextInt(pageSize / 8);
            at = va;
        } else if (model.at(first) == null) {
            at = va;
        } else {
            for (int q = first + 1; at < 0 && model.addr(q) < end; q++) {
                if (q >= model.vaPages || model.at(q) == null) {
                    at = model.addr(q);
                }
            }
        }
        if (at < 0) {
            return null;
        }
        boolean write = rnd.nextInt(3) == 0;
        String what = String.format(Locale.ROOT, "%s: job %d.%d FAULT %s of [0x%x, +%d pages)", name, batches,
                batch.size(), write ? "write" : "read", va, n);
        return new VmJob(VmJob.Kind.FAULT, what, report, model, buf, n, -1, -1, va, at, write);
    }

    private void push(VmJob j, boolean implicit) {
        j.after(batch);
        Job.Builder b = vmQueue.job(j).vm(owner.vm());
        if (implicit) {
            for (int k = 0; k < j.objects.length; k++) {
                if (j.writes[k]) {
                    b.writes(j.objects[k]);
                } else {
                    b.reads(j.objects[k]);
                }
            }
        } else if (!batch.isEmpty()) {
            b.dependency(batch.getLast().job.finished());
        }
        if (batch.isEmpty() && gate != null) {
            b.dependency(gate);
        }
        if (rnd.nextInt(4) == 0) {
            b.credits(2);
        }
        BufferObject[] resident = implicit ? null : resident(j.objects);
        j.job = run.gpu.push(b, null);
        if (resident != null) {
            // signals at dispatch, before the scheduler locks and validates the VM
            j.job.scheduled().onSignal(() -> j.evictedBeforeStart = evictedAny(resident));
        }
        j.apply();
        batch.add(j);
    }

    private static BufferObject[] resident(BufferObject[] objects) {
        BufferObject[] out = new BufferObject[objects.length];
        int n = 0;
        for (BufferObject bo : objects) {
            if (bo.residency() == Residency.RESIDENT) {
                out[n++] = bo;
            }
        }
        return Arrays.copyOf(out, n);
    }

    private static boolean evictedAny(BufferObject[] objects) {
        for (BufferObject bo : objects) {
            if (bo.residency() == Residency.EVICTED) {
                return true;
            }
        }
        return false;
    }

    /** Waits for the writers of a range a job of the batch writes (implicit sync) and reads it through the VM. */
    private void readAfterImplicitSync() {
        VmJob w = null;
        int writers = 0;
        for (VmJob j : batch) {
            if (j.writesContent() && rnd.nextInt(++writers) == 0) {
                w = j;
            }
        }
        if (w == null) {
            return;
        }
        ShadowObject[] written = w.written();
        for (ShadowObject s : written) {
            if (s != null && !s.bo.resv().awaitIdle(FenceUsage.WRITE, StressGpu.WAIT)) {
                report.violation(w + ": awaitIdle(WRITE) of " + s + " still busy after " + StressGpu.WAIT.toSeconds() + " s");
                return;
            }
        }
        for (VmJob j : batch) {
            for (ShadowObject s : written) {
                if (s == null || !j.writesContentOf(s.bo)) {
                    continue;
                }
                Fence f = j.job.finished();
                if (!f.isSignaled()) {
                    report.violation(name + ": awaitIdle(WRITE) of " + s + " returned while " + j + ", which writes"
                            + " it, is unfinished (implicit sync puts the job's fence on the object at push)");
                    return;
                }
                if (f.error().isPresent()) {
                    return; // the drain takes it out of the model
                }
            }
        }
        if (access.readAndCheck(w.dstFirst, w.pages, "CPU read after awaitIdle(WRITE) of what a job wrote")) {
            report.jobCpuReads.increment();
        }
    }

    // ---- the end of a batch -----------------------------------------------------------------

    /**
     * Releases the gate, waits for every job of the batch, judges each and brings the model in line
     * (see the class comment). Called before anything touches the VM; a no-op inside itself.
     */
    void drain() {
        if (draining || (batch.isEmpty() && gate == null)) {
            return;
        }
        draining = true;
        try {
            releaseGate();
            for (VmJob j : batch) {
                if (!j.job.finished().await(StressGpu.WAIT)) {
                    report.violation(j + ": still unfinished " + StressGpu.WAIT.toSeconds() + " s after its push"
                            + " (the scheduler's timeout is " + StressGpu.TIMEOUT.toSeconds() + " s)");
                    batch.clear();
                    owner.reset(); // the model may be wrong now
                    return;
                }
            }
            boolean purged = false;
            for (int i = 0; i < batch.size(); i++) {
                purged |= judge(batch.get(i), i);
            }
            for (int i = batch.size() - 1; i >= 0; i--) {
                if (failed(batch.get(i))) {
                    batch.get(i).undo();
                }
            }
            for (VmJob j : batch) {
                if (failed(j) && j.writing) {
                    for (ShadowObject s : j.written()) {
                        int slot = s == null ? -1 : model.slotOf(s.bo);
                        if (slot >= 0) {
                            owner.retire(model.bound[slot]); // each page old or new: content unknown
                        }
                    }
                }
            }
            if (purged) {
                owner.retirePurged();
            }
        } finally {
            batch.clear();
            draining = false;
        }
    }

    private void releaseGate() {
        if (gate == null) {
            return;
        }
        gate.signal();
        gate = null;
    }

    private static boolean failed(VmJob j) {
        return j.job.finished().error().isPresent();
    }

    /**
     * Counts a finished job's outcome, or reports it.
     *
     * @return whether it failed because a DONTNEED object of the VM was purged
     */
    private boolean judge(VmJob j, int index) {
        Throwable e = j.job.finished().error().orElse(null);
        if (e == null) {
            if (j.evictedBeforeStart) {
                report.jobEvictedBeforeRun.increment(); // and checked resident at its start: validate swapped it in
            }
            switch (j.kind) {
                case UPLOAD -> report.jobUploads.increment();
                case COPY -> report.jobCopies.increment();
                case READ -> report.jobReads.increment();
                case FAULT -> report.violation(j + " crosses unmapped VA at 0x" + Long.toHexString(j.faultAt)
                        + " but did not fault");
            }
            return false;
        }
        if (e instanceof TimeoutException || e instanceof CancellationException) {
            return false; // reported by StressGpu
        }
        if (e instanceof VmJob.Skipped) {
            report.jobSkipped.increment();
            return false;
        }
        for (int i = 0; i < index; i++) {
            if (batch.get(i).job.finished().error().orElse(null) == e) {
                report.jobFailedDependency.increment();
                return false;
            }
        }
        switch (e) {
            case GpuPageFaultException pf when j.kind == VmJob.Kind.FAULT && pf.address() == j.faultAt ->
                    report.jobFaults.increment();
            case GpuPageFaultException pf -> report.unexpected(j + ": a page fault at 0x" + Long.toHexString(pf.address())
                    + (j.kind == VmJob.Kind.FAULT ? ", the first unmapped byte is 0x" + Long.toHexString(j.faultAt)
                    : " where the model says mapped"), e);
            case PurgedException pe -> {
                if (purgedDontNeed()) {
                    report.jobFailedPurged.increment();
                    report.purgedSeen.increment();
                    return true;
                }
                report.corruption(j + ": PurgedException but no DONTNEED object of the VM is purged: content lost ("
                        + pe.getMessage() + ")");
            }
            case GpuOutOfMemoryException oom -> {
                report.jobFailedOom.increment();
                report.gpuOutOfMemory.increment();
            }
            default -> report.unexpected(j + " failed", e);
        }
        return false;
    }

    private boolean purgedDontNeed() {
        for (int i = 0; i < VmModel.MAX_OBJECTS; i++) {
            VmModel.Bound b = model.bound[i];
            if (b != null && b.s.dontNeed && b.s.bo.residency() == Residency.PURGED) {
                return true;
            }
        }
        return false;
    }
}
