package dev.memmgr.bench;

import dev.memmgr.Attachment;
import dev.memmgr.BufferObject;
import dev.memmgr.Client;
import dev.memmgr.DmaBuf;
import dev.memmgr.GpuOutOfMemoryException;
import dev.memmgr.MemoryManager;
import dev.memmgr.MemoryStats;
import dev.memmgr.PurgedException;
import dev.memmgr.Reservation;
import dev.memmgr.Residency;
import dev.memmgr.Vmap;
import dev.memmgr.internal.dmabuf.Deferred;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * The stress tool's buffer sharing (DESIGN.md 4.4): a few objects of the stressed manager are
 * exported, imported into a second manager, and attached dynamically; the stress workers use them
 * through both sides while the rest of the workload keeps the first manager under eviction, and
 * every byte read through the exporter, the import, a vmap of the import or the attachment's
 * mapping is checked against a {@link ShadowObject}.
 *
 * <p>A worker that draws a sharing step ({@link #step}) claims one of {@value #SLOTS} slots
 * exclusively (never blocking: a busy slot is skipped) and, on an empty slot, creates a shared
 * object (up to capacity / 64 bytes: an exporter written whole, its DmaBuf, the import, a dynamic
 * attachment); otherwise it reads a range through the import or the exporter (counting the reads
 * that found the exporter evicted: they swap it in through the other manager), writes a range
 * through the import and checks it through the exporter, maps the attachment under the
 * reservation and checks pages through the mapping (left mapped half the time, so evictions must
 * tell it), pins and vmaps the import, imports again (must give the same object), reclaims the
 * whole capacity now and then (a pressure spike: idle exporters with mapped attachments are
 * evicted too, which the workload's own pressure seldom does, as they are on the active list), or
 * closes everything. The move listener checks that it runs with the reservation held by its thread, with
 * the attachment still mapped and the old mapping readable. The second manager must never hold a
 * frame. {@link #finish} verifies and closes every share, waits for deferred import frees, and
 * checks that nothing stayed attached and the second manager is empty.
 *
 * <p>Thread-safe: slots are claimed exclusively; a share's model is only touched under its claim.
 */
final class SharingWorkload {
    /** Shared objects live at once. */
    static final int SLOTS = 8;
    /** Shadow ids of shared objects, apart from the main workload's (part of every page's bytes). */
    private static final int ID_BASE = 1 << 30;

    /** One shared object: the exporter's model, its DmaBuf, the import and a dynamic attachment. */
    private static final class Share {
        final ShadowObject model;
        final DmaBuf buf;
        final BufferObject imp;
        Attachment dyn;
        /** The attachment's mapping while mapped (read by the move listener). */
        volatile MemorySegment mapping;

        Share(ShadowObject model, DmaBuf buf, BufferObject imp) {
            this.model = model;
            this.buf = buf;
            this.imp = imp;
        }

        @Override
        public String toString() {
            return "shared object " + model.id + " (handle " + model.bo.handle() + ", " + Sizes.format(model.size()) + ")";
        }
    }

    private final MemoryManager exporterManager;
    private final MemoryManager importers;
    private final Client exporting;
    private final Client importing;
    private final StressReport report;
    private final int pageSize;
    private final int maxPages;
    private final AtomicReferenceArray<Share> shares = new AtomicReferenceArray<>(SLOTS);
    private final AtomicIntegerArray claims = new AtomicIntegerArray(SLOTS);
    private final long deferredBefore = Deferred.submitted();
    private int nextId = ID_BASE;

    final LongAdder exported = new LongAdder();
    final LongAdder verifiedThroughImports = new LongAdder();
    final LongAdder verifiedThroughExporters = new LongAdder();
    final LongAdder verifiedThroughMappings = new LongAdder();
    final LongAdder evictedThenReadThroughImport = new LongAdder();
    final LongAdder writesThroughImports = new LongAdder();
    final LongAdder moveNotices = new LongAdder();
    final LongAdder closed = new LongAdder();
    final LongAdder pressureSpikes = new LongAdder();

    /**
     * @param mm the stressed manager, whose objects are exported
     * @param report where failures go
     */
    SharingWorkload(MemoryManager mm, StressReport report) {
        this.report = report;
        this.exporterManager = mm;
        this.pageSize = mm.pageSize();
        this.maxPages = (int) Math.max(1, mm.capacity() / 64 / pageSize);
        this.exporting = mm.openClient("shared");
        // imports hold no frames of their own manager: a small one without swap is enough
        this.importers = MemoryManager.builder().capacity(1L << 20).pageSize(pageSize).noSwap()
                .backgroundReclaim(false).build();
        this.importing = importers.openClient("importer");
    }

    /** @return the largest shared object in bytes (the workers' scratch must hold it) */
    long maxBytes() {
        return (long) maxPages * pageSize;
    }

    private synchronized int newId() {
        return nextId++;
    }

    /**
     * One sharing operation of a worker, on a random slot; a busy slot is skipped.
     *
     * @param scratch the worker's scratch segment, at least {@link #maxBytes()}
     */
    void step(SplittableRandom rnd, MemorySegment scratch, String worker) {
        int i = rnd.nextInt(SLOTS);
        if (!claims.compareAndSet(i, 0, 1)) {
            return;
        }
        Share s = null;
        try {
            s = shares.get(i);
            if (s == null) {
                create(i, rnd, scratch);
            } else if (s.model.unknown) {
                close(i, s);
            } else {
                apply(i, s, rnd, scratch);
            }
        } catch (GpuOutOfMemoryException e) {
            report.gpuOutOfMemory.increment();
        } catch (PurgedException e) {
            report.corruption((s == null ? "a new shared object" : s.toString())
                    + ": PurgedException, but shared objects are never marked DONTNEED: " + e.getMessage());
            if (s != null) {
                s.model.unknown = true;
            }
        } catch (RuntimeException | Error e) {
            report.unexpected(worker + ": sharing on " + (s == null ? "a new shared object" : s), e);
            if (s != null) {
                s.model.unknown = true;
            }
        } finally {
            claims.set(i, 0);
        }
    }

    private void create(int i, SplittableRandom rnd, MemorySegment scratch) {
        long size = (long) (1 + rnd.nextInt(maxPages)) * pageSize;
        BufferObject bo = exporting.create(size);
        ShadowObject model = new ShadowObject(newId(), Workload.Kind.TEXTURES, bo, pageSize);
        try {
            write(model, bo, 0, model.pages, scratch);
        } catch (RuntimeException | Error e) {
            bo.close();
            throw e;
        }
        DmaBuf buf = bo.export();
        BufferObject imp = null;
        try {
            imp = importing.importBuffer(buf);
            if (!imp.isImported() || imp.size() != size) {
                report.violation("import of " + Sizes.format(size) + ": isImported " + imp.isImported() + ", size "
                        + imp.size());
            }
            Share s = new Share(model, buf, imp);
            s.dyn = buf.attach("stress", a -> moved(s, a));
            shares.set(i, s);
            exported.increment();
        } catch (RuntimeException | Error e) {
            if (imp != null) {
                imp.close();
            }
            buf.close();
            bo.close();
            throw e;
        }
    }

    /** The move listener: evicting thread, reservation held, attachment still mapped, old mapping readable. */
    private void moved(Share s, Attachment a) {
        moveNotices.increment();
        if (!a.dmaBuf().resv().isHeldByCurrentThread() || !a.isMapped()) {
            report.violation(s + ": moveNotify without the reservation held (" + a.dmaBuf().resv().isHeldByCurrentThread()
                    + ") or of an unmapped attachment (" + a.isMapped() + ")");
        }
        MemorySegment old = s.mapping;
        try {
            old.get(ShadowObject.WORD, 0); // the model's stamps change outside the lock: readable is what is checked
        } catch (RuntimeException e) {
            report.violation(s + ": the old mapping is not readable inside moveNotify: " + e);
        }
    }

    private void apply(int i, Share s, SplittableRandom rnd, MemorySegment scratch) {
        ShadowObject m = s.model;
        int n = 1 + rnd.nextInt(m.pages);
        int first = rnd.nextInt(m.pages - n + 1);
        int op = rnd.nextInt(40);
        if (op < 10) {
            boolean evicted = m.bo.residency() == Residency.EVICTED;
            readAndVerify(m, s.imp, first, n, scratch, "read through the import");
            verifiedThroughImports.add((long) n * pageSize);
            if (evicted) {
                evictedThenReadThroughImport.increment();
            }
        } else if (op < 15) {
            readAndVerify(m, m.bo, first, n, scratch, "read through the exporter");
            verifiedThroughExporters.add((long) n * pageSize);
        } else if (op < 20) {
            write(m, s.imp, first, n, scratch);
            writesThroughImports.increment();
            readAndVerify(m, m.bo, first, 1, scratch, "read through the exporter after a write through the import");
        } else if (op < 27) {
            mapAndVerify(s, rnd);
        } else if (op < 32) {
            pinAndVerify(s, rnd);
        } else if (op < 35) {
            s.imp.getPages();
            try {
                readAndVerify(m, s.imp, first, 1, scratch, "read through the import with its pages used");
            } finally {
                s.imp.putPages();
            }
        } else if (op < 37) {
            BufferObject again = importing.importBuffer(m.bo.export());
            if (again != s.imp) {
                report.violation(s + ": importing its buffer again gave another object: " + again);
            }
            checkImporterManagerEmpty(s + ": after an import");
        } else if (op < 39) {
            if (s.dyn.isMapped() && rnd.nextInt(4) == 0) {
                // a pressure spike: everything idle goes, mapped dynamic attachments included (on
                // the active list, which the workload's own pressure seldom reaches; no target
                // short of everything, which the other threads' swap-ins could meet first)
                pressureSpikes.increment();
                exporterManager.reclaim(Long.MAX_VALUE);
            }
        } else {
            close(i, s);
        }
    }

    /** Maps the dynamic attachment under the reservation and checks pages through it; leaves it mapped half the time. */
    private void mapAndVerify(Share s, SplittableRandom rnd) {
        Reservation r = s.buf.resv();
        r.lock();
        try {
            MemorySegment seg = s.dyn.map();
            s.mapping = seg;
            if (seg.byteSize() != s.model.size() || s.model.bo.residency() != Residency.RESIDENT) {
                report.violation(s + ": mapped " + seg.byteSize() + " bytes, exporter " + s.model.bo.residency());
            }
            for (int k = 0; k < 2; k++) {
                int p = rnd.nextInt(s.model.pages);
                checkPage(s.model, seg, (long) p * pageSize, p, "the attachment's mapping");
            }
            verifiedThroughMappings.add(2L * pageSize);
            if (rnd.nextBoolean()) {
                s.dyn.unmap();
            }
        } finally {
            r.unlock();
        }
    }

    /** Pins and vmaps the import: the exporter is resident and stays so; checks pages through the view. */
    private void pinAndVerify(Share s, SplittableRandom rnd) {
        s.imp.pin();
        try (Vmap v = s.imp.vmap()) {
            if (s.model.bo.residency() != Residency.RESIDENT || s.model.bo.pinCount() < 1) {
                report.violation(s + ": import pinned, exporter " + s.model.bo.residency() + " pinCount "
                        + s.model.bo.pinCount());
            }
            int p = rnd.nextInt(s.model.pages);
            checkPage(s.model, v.segment(), (long) p * pageSize, p, "the import's vmap");
            verifiedThroughMappings.add(pageSize);
        } finally {
            s.imp.unpin();
        }
    }

    private void close(int i, Share s) {
        shares.set(i, null);
        s.dyn.close();
        s.imp.close(); // never blocks: what needs the exporter's lock may be deferred
        s.buf.close();
        s.model.bo.close();
        closed.increment();
        if (s.imp.refCount() != 0) {
            report.violation(s + ": the import outlived its handle: refCount " + s.imp.refCount());
        }
    }

    private void checkImporterManagerEmpty(String when) {
        MemoryStats st = importers.stats();
        if (st.free() != st.capacity() || st.pinned() != 0 || st.swapUsed() != 0) {
            report.violation(when + ": the importing manager holds memory: " + st);
        }
    }

    // ---- content -----------------------------------------------------------------------------

    private void write(ShadowObject m, BufferObject through, int first, int n, MemorySegment scratch) {
        int stamp = m.nextStamp();
        MemorySegment src = scratch.asSlice(0, (long) n * pageSize);
        for (int j = 0; j < n; j++) {
            ShadowObject.fill(src, (long) j * pageSize, m.id, stamp, first + j, pageSize);
        }
        through.write((long) first * pageSize, src); // all or nothing: the model changes after it
        m.wrote(first, n, stamp);
    }

    private void readAndVerify(ShadowObject m, BufferObject through, int first, int n, MemorySegment scratch, String what) {
        MemorySegment dst = scratch.asSlice(0, (long) n * pageSize);
        dst.fill((byte) 0xA5);
        through.read((long) first * pageSize, dst);
        for (int j = 0; j < n; j++) {
            checkPage(m, dst, (long) j * pageSize, first + j, what);
        }
        report.bytesVerified.add((long) n * pageSize);
    }

    private void checkPage(ShadowObject m, MemorySegment seg, long off, int p, String what) {
        long bad = ShadowObject.check(seg, off, m.id, m.stamps[p], p, pageSize);
        if (bad >= 0) {
            report.corruption(String.format(Locale.ROOT, "shared object %d: %s page %d byte %d: expected %016x actual %016x",
                    m.id, what, p, bad, ShadowObject.expectedWord(m.id, m.stamps[p], p, bad),
                    seg.get(ShadowObject.WORD, off + bad)));
        }
    }

    // ---- the end -----------------------------------------------------------------------------

    /**
     * Workers stopped: verifies every share whole through the import and the exporter, closes it,
     * waits for deferred import frees, then checks that nothing stayed attached or referenced and
     * that the importing manager is empty, and closes it.
     */
    void finish(MemoryManager mm) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment scratch = arena.allocate(maxBytes(), 4096);
            for (int i = 0; i < SLOTS; i++) {
                Share s = shares.get(i);
                if (s == null) {
                    continue;
                }
                if (!s.model.unknown) {
                    finalVerify(mm, s, scratch);
                }
                try {
                    close(i, s);
                    if (!Deferred.drain(TimeUnit.SECONDS.toMillis(10))) {
                        report.violation(s + ": a deferred import free did not finish within 10 s");
                    }
                    if (!s.buf.attachments().isEmpty() || s.model.bo.refCount() != 0) {
                        report.violation(s + ": after closing everything: attachments " + s.buf.attachments()
                                + ", exporter refCount " + s.model.bo.refCount());
                    }
                } catch (RuntimeException | Error e) {
                    report.unexpected("close of " + s, e);
                }
                report.finalSteps.increment();
            }
        }
        checkImporterManagerEmpty("at the end");
        importing.close();
        exporting.close();
        importers.close();
    }

    private void finalVerify(MemoryManager mm, Share s, MemorySegment scratch) {
        for (BufferObject through : List.of(s.imp, s.model.bo)) {
            for (int attempt = 0; ; attempt++) {
                try {
                    readAndVerify(s.model, through, 0, s.model.pages, scratch, "final verify through the "
                            + (through == s.imp ? "import" : "exporter"));
                    break;
                } catch (GpuOutOfMemoryException e) {
                    report.gpuOutOfMemory.increment();
                    if (attempt == 3) {
                        report.violation(s + ": final verify: GpuOutOfMemoryException with nothing pinned or busy");
                        break;
                    }
                    mm.reclaim(s.model.size());
                } catch (RuntimeException | Error e) {
                    report.unexpected("final verify of " + s, e);
                    return;
                }
            }
        }
    }

    /** @return the summary line of the run */
    String summary() {
        return String.format(Locale.ROOT,
                "sharing: %d objects exported to a second manager, %s verified through imports, %s through exporters,"
                        + " %s through mappings; %d reads through an import found the exporter evicted; %d writes through"
                        + " imports; %d move notices (%d pressure spikes); %d closed, %d import frees deferred",
                exported.sum(), Sizes.format(verifiedThroughImports.sum()), Sizes.format(verifiedThroughExporters.sum()),
                Sizes.format(verifiedThroughMappings.sum()), evictedThenReadThroughImport.sum(), writesThroughImports.sum(),
                moveNotices.sum(), pressureSpikes.sum(), closed.sum(), Deferred.submitted() - deferredBefore);
    }
}
