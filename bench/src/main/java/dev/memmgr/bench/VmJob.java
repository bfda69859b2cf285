package dev.memmgr.bench;

import dev.memmgr.BufferObject;
import dev.memmgr.Fence;
import dev.memmgr.GpuKernel;
import dev.memmgr.GpuPageFaultException;
import dev.memmgr.GpuVm;
import dev.memmgr.Job;
import dev.memmgr.JobContext;
import dev.memmgr.Residency;
import dev.memmgr.VmBo;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * One job of a {@link StressJobs} batch: what it does through the worker's GPU VM, the content it
 * must find and leave, and its kernel.
 *
 * <ul>
 * <li>UPLOAD: writes a known pattern (a new stamp per object) to a run of mapped VA pages.</li>
 * <li>COPY: reads a run of mapped VA pages, checks every byte, and writes them to another run
 *     (within one object or between objects; the runs may overlap: the kernel reads everything
 *     before it writes, as memmove).</li>
 * <li>READ: reads a run of mapped VA pages and checks every byte.</li>
 * <li>FAULT: reads or writes across unmapped VA: it must fail with a GpuPageFaultException at the
 *     first unmapped byte, nothing copied (a read's buffer stays poisoned; a write's poison would
 *     show in later reads).</li>
 * </ul>
 *
 * <p><b>Snapshot.</b> Made on the worker thread from the {@link VmModel} as it is at push (which
 * includes the effects of the batch's earlier jobs): per page read, the content key
 * {@code (id, stamp, page)} of {@link ShadowObject}'s pattern it must show; per page written, the
 * object page the VA page shows, its key before and its key after. {@link #apply()} puts the
 * effect in the model at push; {@link #undo()} takes it out if the job fails. The kernel runs on a
 * scheduler thread and reads only this snapshot, never the model the worker goes on changing;
 * everything it reads is final or written before the push, which orders it before the kernel.
 *
 * <p><b>Kernel.</b> First the conflicting predecessors (earlier jobs of the batch that share an
 * object with this one, one of the two writing it): each must have finished, since implicit sync
 * or the batch's chain of dependencies orders them (a violation otherwise); if one that writes
 * content failed, the snapshot is wrong, so the kernel touches nothing and throws {@link Skipped}.
 * Then every object it touches must be neither evicted nor purged, and its VM link not listed
 * evicted: the scheduler validated the VM under lockAll before the kernel, and the job's fence
 * keeps the shrinker away until it finishes. Wrong bytes are reported by the kernel itself (the
 * report is thread-safe); its outcome is judged by the worker once the job has finished.
 */
final class VmJob implements GpuKernel {
    enum Kind { UPLOAD, COPY, READ, FAULT }

    static final byte POISON = (byte) 0xA5;
    private static final long POISON_WORD = 0xA5A5A5A5A5A5A5A5L;

    /** Thrown by a kernel that found a conflicting earlier job that writes content failed: it did nothing. */
    static final class Skipped extends Exception {
        private static final long serialVersionUID = 1L;

        Skipped(String message) {
            super(message, null, false, false);
        }
    }

    final Kind kind;
    /** Describes the job in messages: worker, batch, kind, addresses. */
    final String what;
    private final StressReport report;
    private final int pageSize;
    final int pages;
    /** READ, COPY: the first VA page read; UPLOAD, COPY: the first VA page written (indexes of the model). */
    final int srcFirst;
    final int dstFirst;
    private final long srcVa;
    private final long dstVa;
    /** FAULT: the access's first address and length, whether it writes, and where it must fault. */
    private final long faultVa;
    final boolean faultWrite;
    final long faultAt;
    /** Content keys of the pages read (id, stamp, page: three ints a page) and the objects they belong to. */
    private final int[] readKeys;
    private final ShadowObject[] readObj;
    /** Pages written: the object page each VA page shows, its key before and after (three ints a page). */
    private final ShadowObject[] dstObj;
    private final int[] dstPage;
    private final int[] oldKeys;
    private final int[] newKeys;
    /** The objects the job touches, each once, and whether it writes them. */
    final BufferObject[] objects;
    final boolean[] writes;
    /** Finished fences of the conflicting earlier jobs, and whether each writes content. */
    private Fence[] preds = new Fence[0];
    private boolean[] predWrites = new boolean[0];
    private final MemorySegment buf;
    /** The pushed job (set by the worker right after the push). */
    Job job;
    /** The kernel began to write: after a failure the pages written may hold old or new content. */
    volatile boolean writing;
    /** An object resident at push was evicted when the job's scheduled fence signaled (before validate). */
    volatile boolean evictedBeforeStart;

    /**
     * A snapshot of the model for a job over {@code pages} VA pages.
     *
     * @param srcFirst first VA page read (READ, COPY), else -1
     * @param dstFirst first VA page written (UPLOAD, COPY), else -1
     * @param faultVa FAULT: the access's address (else ignored)
     * @param faultAt FAULT: the first unmapped byte it must fault at
     */
    VmJob(Kind kind, String what, StressReport report, VmModel model, MemorySegment buf, int pages, int srcFirst,
            int dstFirst, long faultVa, long faultAt, boolean faultWrite) {
        this.kind = kind;
        this.what = what;
        this.report = report;
        this.pageSize = model.pageSize;
        this.buf = buf.asSlice(0, (long) pages * pageSize);
        this.pages = pages;
        this.srcFirst = srcFirst;
        this.dstFirst = dstFirst;
        this.srcVa = srcFirst < 0 ? -1 : model.addr(srcFirst);
        this.dstVa = dstFirst < 0 ? -1 : model.addr(dstFirst);
        this.faultVa = faultVa;
        this.faultAt = faultAt;
        this.faultWrite = faultWrite;
        boolean reads = srcFirst >= 0;
        boolean writesContent = dstFirst >= 0;
        readKeys = reads ? new int[3 * pages] : null;
        readObj = reads ? new ShadowObject[pages] : null;
        dstObj = writesContent ? new ShadowObject[pages] : null;
        dstPage = writesContent ? new int[pages] : null;
        oldKeys = writesContent ? new int[3 * pages] : null;
        newKeys = writesContent ? new int[3 * pages] : null;
        BufferObject[] objs = new BufferObject[VmModel.MAX_OBJECTS + 1];
        boolean[] w = new boolean[objs.length];
        int n = 0;
        for (int j = 0; j < pages; j++) {
            if (reads) {
                ShadowObject s = model.at(srcFirst + j).s;
                key(readKeys, j, s, model.pageAt(srcFirst + j));
                readObj[j] = s;
                n = touch(objs, w, n, s.bo, false);
            }
            if (writesContent) {
                ShadowObject s = model.at(dstFirst + j).s;
                dstObj[j] = s;
                dstPage[j] = model.pageAt(dstFirst + j);
                key(oldKeys, j, s, dstPage[j]);
                n = touch(objs, w, n, s.bo, true);
            }
        }
        if (kind == Kind.UPLOAD) {
            // a new stamp per object written, the object's own pattern
            int[] stamps = new int[pages];
            for (int j = 0; j < pages; j++) {
                int first = firstOf(dstObj, j);
                stamps[j] = first < j ? stamps[first] : dstObj[j].nextStamp();
                newKeys[3 * j] = dstObj[j].id;
                newKeys[3 * j + 1] = stamps[j];
                newKeys[3 * j + 2] = dstPage[j];
            }
        } else if (kind == Kind.COPY) {
            System.arraycopy(readKeys, 0, newKeys, 0, newKeys.length);
        } else if (kind == Kind.FAULT) {
            // the objects of the mapped pages before the fault: the access reaches them (and copies nothing)
            for (long q = Math.floorDiv(faultVa - model.base, (long) pageSize);
                    q >= 0 && q < model.vaPages && model.addr((int) q) < faultAt && model.at((int) q) != null; q++) {
                n = touch(objs, w, n, model.at((int) q).s.bo, faultWrite);
            }
        }
        this.objects = Arrays.copyOf(objs, n);
        this.writes = Arrays.copyOf(w, n);
    }

    private static void key(int[] keys, int j, ShadowObject s, int page) {
        keys[3 * j] = s.contentId(page);
        keys[3 * j + 1] = s.stamps[page];
        keys[3 * j + 2] = s.contentPage(page);
    }

    private static int touch(BufferObject[] objs, boolean[] w, int n, BufferObject bo, boolean write) {
        for (int i = 0; i < n; i++) {
            if (objs[i] == bo) {
                w[i] |= write;
                return n;
            }
        }
        objs[n] = bo;
        w[n] = write;
        return n + 1;
    }

    private static int firstOf(ShadowObject[] objs, int j) {
        int i = 0;
        while (objs[i] != objs[j]) {
            i++;
        }
        return i;
    }

    boolean writesContent() {
        return kind == Kind.UPLOAD || kind == Kind.COPY;
    }

    /** Whether the job writes {@code bo}'s content. */
    boolean writesContentOf(BufferObject bo) {
        if (!writesContent()) {
            return false;
        }
        for (int i = 0; i < objects.length; i++) {
            if (objects[i] == bo && writes[i]) {
                return true;
            }
        }
        return false;
    }

    /** Whether this job and {@code e} share an object that one of them writes. */
    boolean conflictsWith(VmJob e) {
        for (int i = 0; i < objects.length; i++) {
            for (int k = 0; k < e.objects.length; k++) {
                if (objects[i] == e.objects[k] && (writes[i] || e.writes[k])) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Notes the conflicting jobs among the earlier ones of the batch (before the push). */
    void after(List<VmJob> earlier) {
        int n = 0;
        Fence[] f = new Fence[earlier.size()];
        boolean[] w = new boolean[f.length];
        for (VmJob e : earlier) {
            if (conflictsWith(e)) {
                f[n] = e.job.finished();
                w[n++] = e.writesContent();
            }
        }
        preds = Arrays.copyOf(f, n);
        predWrites = Arrays.copyOf(w, n);
    }

    /** The job's effect on the model, at push (worker thread). */
    void apply() {
        if (writesContent()) {
            for (int j = 0; j < pages; j++) {
                dstObj[j].setContent(dstPage[j], newKeys[3 * j], newKeys[3 * j + 1], newKeys[3 * j + 2]);
            }
        }
    }

    /** Takes the job's effect out of the model (it failed), the last page first (a page may be written twice). */
    void undo() {
        if (writesContent()) {
            for (int j = pages - 1; j >= 0; j--) {
                dstObj[j].setContent(dstPage[j], oldKeys[3 * j], oldKeys[3 * j + 1], oldKeys[3 * j + 2]);
            }
        }
    }

    /** The objects whose content the job writes (each once; null entries at the end). */
    ShadowObject[] written() {
        ShadowObject[] out = new ShadowObject[pages];
        int n = 0;
        for (int j = 0; writesContent() && j < pages; j++) {
            if (firstOf(dstObj, j) == j) {
                out[n++] = dstObj[j];
            }
        }
        return out;
    }

    // ---- the kernel (a scheduler thread) -----------------------------------------------------

    @Override
    public void run(JobContext ctx) throws Exception {
        for (int i = 0; i < preds.length; i++) {
            if (!preds[i].isSignaled()) {
                report.violation(what + " started before a conflicting earlier job of its batch finished: implicit"
                        + " sync or the dependency did not order them");
            } else if (predWrites[i] && preds[i].error().isPresent()) {
                throw new Skipped(what + ": an earlier job that writes its objects failed: " + preds[i].error().get());
            }
        }
        GpuVm vm = ctx.vm();
        checkValidated(vm);
        switch (kind) {
            case UPLOAD -> {
                for (int j = 0; j < pages; j++) {
                    ShadowObject.fill(buf, (long) j * pageSize, newKeys[3 * j], newKeys[3 * j + 1], newKeys[3 * j + 2],
                            pageSize);
                }
                writing = true;
                vm.write(dstVa, buf);
            }
            case COPY -> {
                buf.fill(POISON);
                vm.read(srcVa, buf);
                verify("copy source");
                writing = true;
                vm.write(dstVa, buf);
            }
            case READ -> {
                buf.fill(POISON);
                vm.read(srcVa, buf);
                verify("read");
            }
            case FAULT -> fault(vm);
        }
    }

    /** The objects must be usable without a swap-in: validated before the kernel, and busy since. */
    private void checkValidated(GpuVm vm) {
        for (BufferObject bo : objects) {
            Residency r = bo.residency();
            boolean listed = vm.vmBo(bo).map(VmBo::evicted).orElse(true);
            if (r == Residency.EVICTED || r == Residency.PURGED || listed) {
                report.violation(what + ": when the kernel starts, object " + bo.handle() + " is " + r
                        + (listed ? " and its VM link missing or listed evicted" : "")
                        + " (the scheduler validates under lockAll and fences before the kernel runs)");
            }
        }
    }

    private void verify(String how) {
        for (int j = 0; j < pages; j++) {
            int id = readKeys[3 * j];
            int stamp = readKeys[3 * j + 1];
            int page = readKeys[3 * j + 2];
            long bad = ShadowObject.check(buf, (long) j * pageSize, id, stamp, page, pageSize);
            if (bad >= 0) {
                report.corruption(String.format(Locale.ROOT,
                        "%s: %s at VA 0x%x: %s page %d byte %d: expected %016x (pattern of object %d page %d, stamp %d)"
                                + " actual %016x", what, how, srcVa + (long) j * pageSize, readObj[j], page, bad,
                        ShadowObject.expectedWord(id, stamp, page, bad), id, page, stamp,
                        buf.get(ShadowObject.WORD, (long) j * pageSize + bad)));
            }
        }
        report.bytesVerified.add(buf.byteSize());
        report.jobBytesVerified.add(buf.byteSize());
    }

    private void fault(GpuVm vm) {
        buf.fill(POISON);
        try {
            if (faultWrite) {
                vm.write(faultVa, buf); // poison: any of it landing in an object shows in later reads
            } else {
                vm.read(faultVa, buf);
            }
        } catch (GpuPageFaultException e) {
            if (!faultWrite) {
                for (long o = 0; o < buf.byteSize(); o += 8) {
                    if (buf.get(ShadowObject.WORD, o) != POISON_WORD) {
                        report.corruption(what + " faulted but copied bytes (at offset " + o + ")");
                        break;
                    }
                }
            }
            throw e;
        }
    }

    @Override
    public String toString() {
        return what;
    }
}
