package dev.memmgr.bench;

import dev.memmgr.GpuOutOfMemoryException;
import dev.memmgr.GpuPageFaultException;
import dev.memmgr.PurgedException;
import dev.memmgr.Residency;
import java.lang.foreign.MemorySegment;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The byte-moving operations of {@link StressVm}: reads and writes through the VM and of its
 * objects, each checked against the {@link VmModel}. Reads go into the worker's scratch, poisoned
 * first; every byte is compared with {@link ShadowObject}'s pattern of the object page the model
 * says the VA page shows.
 *
 * <ul>
 *   <li>A read of mapped VA: every byte right; PurgedException only if an object in the range is
 *       DONTNEED and purged (then it is unbound and closed); GpuPageFaultException is unexpected.</li>
 *   <li>A read or write that crosses unmapped VA (also below the VM, at unaligned addresses):
 *       GpuPageFaultException whose address is the first unmapped byte, and nothing copied (the
 *       read's buffer stays poisoned; the write's poison would show in later reads).</li>
 *   <li>A write through the VM: a new stamp per object it touches; never to DONTNEED objects.
 *       If it fails (GpuOutOfMemoryException), each page must hold its old or its new content.</li>
 * </ul>
 * Same thread and state as its {@link StressVm}.
 */
final class VmAccess {
    private static final byte POISON = (byte) 0xA5;
    private static final long POISON_WORD = 0xA5A5A5A5A5A5A5A5L;

    private final StressVm owner;
    private final VmModel model;
    private final StressReport report;
    private final String name;
    private final SplittableRandom rnd;
    private final MemorySegment scratch;
    private final int pageSize;
    final int scratchPages;

    VmAccess(StressVm owner, VmModel model, StressReport report, String name, SplittableRandom rnd, MemorySegment scratch) {
        this.owner = owner;
        this.model = model;
        this.report = report;
        this.name = name;
        this.rnd = rnd;
        this.scratch = scratch;
        this.pageSize = model.pageSize;
        this.scratchPages = (int) (scratch.byteSize() / pageSize);
    }

    /** @return false if no mapped page was found to read */
    boolean readOp() {
        int p = model.randomMapped(rnd);
        if (p < 0) {
            return false;
        }
        int end = model.mappedRun(p, Math.min(scratchPages, rnd.nextInt(8) == 0 ? 1024 : 64));
        readAndCheck(p, 1 + rnd.nextInt(end - p), "vm read");
        return true;
    }

    /**
     * Reads mapped VA pages [first, first + n) through the VM into poisoned scratch and checks every byte.
     *
     * @return whether the bytes were read and checked (false: purged or out of memory, counted; or
     *     a fault, reported)
     */
    boolean readAndCheck(int first, int n, String what) {
        MemorySegment dst = scratch.asSlice(0, (long) n * pageSize);
        dst.fill(POISON);
        try {
            owner.vm().read(model.addr(first), dst);
        } catch (PurgedException e) {
            purgedIn(first, n, what, e);
            return false;
        } catch (GpuOutOfMemoryException e) {
            report.gpuOutOfMemory.increment();
            return false;
        } catch (GpuPageFaultException e) {
            report.unexpected(String.format(Locale.ROOT, "%s: %s of [0x%x, +%d pages), mapped in the model, faulted",
                    name, what, model.addr(first), n), e);
            owner.reset();
            return false;
        }
        for (int j = 0; j < n; j++) {
            int p = first + j;
            ShadowObject s = model.at(p).s;
            int page = model.pageAt(p);
            long bad = s.check(dst, (long) j * pageSize, page);
            if (bad >= 0) {
                report.corruption(String.format(Locale.ROOT,
                        "%s: %s at VA 0x%x: %s page %d byte %d: expected %016x (stamp %d) actual %016x; residency %s,"
                                + " dontNeed %s", name, what, model.addr(p), s, page, bad, s.expectedWord(page, bad),
                        s.stamps[page], dst.get(ShadowObject.WORD, (long) j * pageSize + bad), s.bo.residency(),
                        s.dontNeed));
            }
        }
        report.vmReads.increment();
        report.bytesVerified.add(dst.byteSize());
        return true;
    }

    /** A PurgedException from VA pages [first, first + n): expected only if a DONTNEED object there is purged. */
    private void purgedIn(int first, int n, String what, PurgedException e) {
        boolean[] seen = new boolean[model.bound.length];
        boolean found = false;
        for (int p = first; p < first + n; p++) {
            int slot = model.slotAt(p);
            ShadowObject s = model.bound[slot].s;
            if (!seen[slot] && s.dontNeed && s.bo.residency() == Residency.PURGED) {
                found = true;
                report.purgedSeen.increment();
            }
            seen[slot] = true;
        }
        if (!found) {
            report.corruption(String.format(Locale.ROOT, "%s: %s of [0x%x, +%d pages) threw PurgedException but no"
                    + " object there is marked DONTNEED and purged: content lost (%s)", name, what, model.addr(first), n,
                    e.getMessage()));
        }
        owner.retirePurged();
    }

    /** A read or write across unmapped VA: GpuPageFaultException at the first unmapped byte, nothing copied. */
    void faultOp() {
        int n = 1 + rnd.nextInt(Math.max(1, Math.min(16, scratchPages - 1)));
        int first = rnd.nextInt(model.vaPages - n + 1);
        long va = model.addr(first) + (rnd.nextBoolean() ? 0 : 8L * rnd.nextInt(pageSize / 8));
        long len = (long) n * pageSize;
        long expected = -1;
        if (rnd.nextInt(8) == 0) {
            va = model.base - pageSize + 8L * rnd.nextInt(pageSize / 8); // starts below the VM
            expected = va;
        } else if (model.at(first) == null) {
            expected = va;
        } else {
            for (int q = first + 1; expected < 0 && model.addr(q) < va + len; q++) {
                if (q >= model.vaPages || model.at(q) == null) {
                    expected = model.addr(q);
                }
            }
        }
        if (expected < 0) {
            return; // all mapped: nothing to fault on
        }
        boolean write = rnd.nextInt(3) == 0;
        MemorySegment seg = scratch.asSlice(0, len);
        seg.fill(POISON);
        String what = String.format(Locale.ROOT, "%s: vm %s of [0x%x, 0x%x)", name, write ? "write" : "read", va, va + len);
        try {
            if (write) {
                owner.vm().write(va, seg); // poison: any of it landing in an object shows in later reads
            } else {
                owner.vm().read(va, seg);
            }
            report.violation(what + " crosses unmapped VA at 0x" + Long.toHexString(expected) + " but did not fault");
            owner.reset();
            return;
        } catch (GpuPageFaultException e) {
            if (e.address() != expected) {
                report.violation(what + ": fault at 0x" + Long.toHexString(e.address()) + ", the first unmapped byte is 0x"
                        + Long.toHexString(expected));
            }
        }
        for (long o = 0; o < len; o += 8) {
            if (seg.get(ShadowObject.WORD, o) != POISON_WORD) {
                report.corruption(what + " faulted but copied bytes (at offset " + o + ")");
                break;
            }
        }
        report.vmFaults.increment();
    }

    /**
     * Writes a run of mapped VA pages through the VM, a new stamp per object touched.
     *
     * @return false if no mapped page was found to write
     */
    boolean writeOp() {
        int p = model.randomMapped(rnd);
        if (p < 0) {
            return false;
        }
        int n = 1 + rnd.nextInt(model.mappedRun(p, Math.min(scratchPages, rnd.nextInt(4) == 0 ? 256 : 32)) - p);
        for (int q = p; q < p + n; q++) {
            if (model.at(q).s.dontNeed) {
                readAndCheck(p, n, "vm read"); // no writes to DONTNEED objects: their content may go
                return true;
            }
        }
        int[] stamps = new int[model.bound.length];
        MemorySegment src = scratch.asSlice(0, (long) n * pageSize);
        for (int q = p; q < p + n; q++) {
            int slot = model.slotAt(q);
            ShadowObject s = model.bound[slot].s;
            if (stamps[slot] == 0) {
                stamps[slot] = s.nextStamp();
            }
            ShadowObject.fill(src, (long) (q - p) * pageSize, s.id, stamps[slot], model.pageAt(q), pageSize);
        }
        try {
            owner.vm().write(model.addr(p), src);
        } catch (GpuOutOfMemoryException e) {
            report.gpuOutOfMemory.increment();
            resolve(p, n, stamps); // the pieces before the failing one are written
            return true;
        }
        for (int q = p; q < p + n; q++) {
            model.at(q).s.wrote(model.pageAt(q), 1, stamps[model.slotAt(q)]);
        }
        report.vmWrites.increment();
        return true;
    }

    /** After a failed write: each page holds its old or its new content; read which, or give the objects up. */
    private void resolve(int first, int n, int[] stamps) {
        MemorySegment page = scratch.asSlice(0, pageSize);
        for (int q = first; q < first + n; q++) {
            int slot = model.slotAt(q);
            ShadowObject s = model.bound[slot].s;
            int p = model.pageAt(q);
            try {
                owner.vm().read(model.addr(q), page);
            } catch (GpuOutOfMemoryException e) {
                report.gpuOutOfMemory.increment();
                for (int i = 0; i < VmModel.MAX_OBJECTS; i++) {
                    if (stamps[i] != 0 && model.bound[i] != null) {
                        owner.retire(model.bound[i]); // content unknown: no longer checked
                    }
                }
                return;
            }
            if (ShadowObject.check(page, 0, s.id, stamps[slot], p, pageSize) < 0) {
                s.wrote(p, 1, stamps[slot]);
            } else if (s.check(page, 0, p) >= 0) {
                report.corruption(name + ": after a failed vm write, VA 0x" + Long.toHexString(model.addr(q)) + " (" + s
                        + " page " + p + ") holds neither its old nor its new content");
            }
        }
    }

    /** Writes a page range of one of the worker's objects with BufferObject.write (all or nothing). */
    void objectWriteOp() {
        VmModel.Bound b = model.pick(rnd, false, true);
        if (b == null) {
            return;
        }
        ShadowObject s = b.s;
        int n = 1 + rnd.nextInt(Math.min(s.pages, 64));
        int first = rnd.nextInt(s.pages - n + 1);
        write(s, first, n);
    }

    /** Writes pages [first, first + n) of an object with a new stamp; a GpuOutOfMemoryException leaves the model. */
    void write(ShadowObject s, int first, int n) {
        int stamp = s.nextStamp();
        MemorySegment src = scratch.asSlice(0, (long) n * pageSize);
        for (int j = 0; j < n; j++) {
            ShadowObject.fill(src, (long) j * pageSize, s.id, stamp, first + j, pageSize);
        }
        try {
            s.bo.write((long) first * pageSize, src);
            s.wrote(first, n, stamp);
        } catch (GpuOutOfMemoryException e) {
            report.gpuOutOfMemory.increment(); // all or nothing: the model stands
        }
    }

    /** Reads pages [first, first + n) of an object with BufferObject.read (in scratch-sized pieces) and checks every byte. */
    void verify(ShadowObject s, int first, int n, String what) {
        for (int done = 0; done < n; done += scratchPages) {
            int k = Math.min(scratchPages, n - done);
            MemorySegment dst = scratch.asSlice(0, (long) k * pageSize);
            dst.fill(POISON);
            try {
                s.bo.read((long) (first + done) * pageSize, dst);
            } catch (GpuOutOfMemoryException e) {
                report.gpuOutOfMemory.increment();
                return;
            }
            for (int j = 0; j < k; j++) {
                int p = first + done + j;
                if (s.check(dst, (long) j * pageSize, p) >= 0) {
                    report.corruption(name + ": " + what + ": " + s + " page " + p + " is wrong (stamp " + s.stamps[p] + ")");
                }
            }
            report.bytesVerified.add(dst.byteSize());
        }
    }

    /** The freed object's read must throw IllegalStateException. */
    boolean readRefused(ShadowObject s) {
        try {
            s.bo.read(0, scratch.asSlice(0, pageSize));
            return false;
        } catch (IllegalStateException expected) {
            return true;
        }
    }
}
