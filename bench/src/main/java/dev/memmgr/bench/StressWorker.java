package dev.memmgr.bench;

import dev.memmgr.BufferObject;
import dev.memmgr.ClientStats;
import dev.memmgr.FenceUsage;
import dev.memmgr.GpuOutOfMemoryException;
import dev.memmgr.Madvise;
import dev.memmgr.MemoryStats;
import dev.memmgr.NoSuchHandleException;
import dev.memmgr.PurgedException;
import dev.memmgr.Residency;
import dev.memmgr.Vmap;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.locks.LockSupport;

/**
 * One stress thread: picks a random slot of the shared object table, claims it (shared for
 * operations that only look at the content, exclusive for those that change it or the object's
 * life; claims never block, a busy slot is skipped), and applies an operation drawn from the
 * object kind's weights, checking every result against the {@link ShadowObject model} and the
 * contract. Read and write data go through one off-heap scratch segment per thread, as large as
 * the largest object, so operations allocate no big heap buffers.
 *
 * <p>Also used by the main thread for the final verification ({@link #verifyAndClose(int)}).
 */
final class StressWorker implements Runnable {
    /** The scratch is filled with this before each read, so a read that skips bytes shows. */
    private static final byte POISON = (byte) 0xA5;
    /** Steps in a thousand that are an operation of the worker's GPU VM ({@link StressVm}). */
    private static final int VM_PER_MILLE = 120;

    private final Stress run;
    private final StressReport report;
    private final Workload workload;
    private final int pageSize;
    private final String name;
    private final SplittableRandom rnd;
    final LatencyHistogram pinLatency = new LatencyHistogram();
    final LatencyHistogram readLatency = new LatencyHistogram();
    private MemorySegment scratch;
    /** This worker's GPU VM and its objects (made in {@link #run()}, with the scratch). */
    private StressVm vm;

    StressWorker(Stress run, String name, long seed) {
        this.run = run;
        this.report = run.report;
        this.workload = run.workload;
        this.pageSize = run.pageSize;
        this.name = name;
        this.rnd = new SplittableRandom(seed);
    }

    @Override
    public void run() {
        try (Arena arena = Arena.ofConfined()) {
            scratch = arena.allocate(workload.maxObject, 4096);
            vm = new StressVm(run, this, name, rnd.split(), scratch);
            while (run.running) {
                try {
                    step();
                } catch (Throwable t) {
                    report.unexpected(name + ": escaped a step", t);
                }
            }
            vm.finish();
        } catch (Throwable t) {
            report.unexpected(name + ": worker died", t);
        }
    }

    /** Runs {@code body} with a scratch segment of this worker's own (the main thread's final check). */
    void withScratch(Runnable body) {
        try (Arena arena = Arena.ofConfined()) {
            scratch = arena.allocate(workload.maxObject, 4096);
            body.run();
        } finally {
            scratch = null;
        }
    }

    // ---- claims ----------------------------------------------------------------------------

    boolean claimShared(int i) {
        for (int c; (c = run.claims.get(i)) >= 0; ) {
            if (run.claims.compareAndSet(i, c, c + 1)) {
                return true;
            }
        }
        return false;
    }

    private boolean claimExclusive(int i) {
        return run.claims.compareAndSet(i, 0, -1);
    }

    void release(int i, boolean exclusive) {
        if (exclusive) {
            run.claims.set(i, 0);
        } else {
            run.claims.decrementAndGet(i);
        }
    }

    // ---- the step ----------------------------------------------------------------------------

    private void step() {
        int r = rnd.nextInt(1000);
        if (r < 2) {
            counted(this::reclaimOp);
            return;
        }
        if (r < 5) {
            counted(this::statsOp);
            return;
        }
        if (r < 5 + VM_PER_MILLE) {
            vm.step();
            done();
            return;
        }
        if (r < 45 + VM_PER_MILLE) { // 4%
            counted(() -> run.sharing.step(rnd, scratch, name));
            return;
        }
        int i = rnd.nextInt(run.slots.length());
        ShadowObject t = run.slots.get(i);
        if (t == null) {
            if (claimExclusive(i)) {
                try {
                    if (run.slots.get(i) == null && create(i, null)) {
                        done();
                    }
                } finally {
                    release(i, true);
                }
            }
            return;
        }
        Workload.Op op = t.kind.pickOp(rnd);
        boolean exclusive = switch (op) {
            case WRITE, UPLOAD, MADVISE, CLOSE -> true;
            default -> false;
        };
        if (exclusive && !claimExclusive(i)) {
            op = Workload.Op.READ;
            exclusive = false;
        }
        if (!exclusive && !claimShared(i)) {
            return;
        }
        try {
            t = run.slots.get(i);
            if (t == null) {
                return;
            }
            if (t.unknown) {
                if (exclusive) {
                    closeAndForget(i, t);
                }
                return;
            }
            apply(i, t, op, exclusive);
        } finally {
            release(i, exclusive);
        }
    }

    private void counted(Runnable op) {
        try {
            op.run();
        } catch (GpuOutOfMemoryException e) {
            report.gpuOutOfMemory.increment();
        }
        done();
    }

    private void done() {
        report.ops.increment();
    }

    private void apply(int i, ShadowObject t, Workload.Op op, boolean exclusive) {
        try {
            if (exclusive) {
                checkQuiet(t, "before " + op);
            }
            switch (op) {
                case READ -> readOp(t);
                case FRAME -> frameOp(t);
                case WRITE -> writeOp(t);
                case UPLOAD -> uploadOp(t);
                case FENCE -> run.gpu.fenceOp(vm.jobs.fenceQueue, t, rnd);
                case LOOKUP -> lookupOp(t);
                case PAGES -> pagesOp(t);
                case MADVISE -> madviseOp(i, t);
                case CLOSE -> closeOp(i, t);
                case VERIFY -> verifyOp(t);
            }
        } catch (GpuOutOfMemoryException e) {
            report.gpuOutOfMemory.increment();
        } catch (PurgedException e) {
            purged(t, e, op.toString());
        } catch (RuntimeException | Error e) {
            report.unexpected(name + ": " + op + " on " + t + " (" + t.bo + ")", e);
            if (exclusive) {
                t.unknown = true; // the model may be wrong now: stop verifying this object
            }
        }
        done();
    }

    // ---- operations --------------------------------------------------------------------------

    private void readOp(ShadowObject t) {
        if (rnd.nextInt(4) == 0) {
            awaitIdle(t, FenceUsage.WRITE); // a CPU read waits for GPU writers
        }
        int first;
        int n;
        int kind = rnd.nextInt(10);
        if (kind < 2) {
            first = 0;
            n = t.pages;
        } else {
            n = 1 + rnd.nextInt(Math.min(t.pages, kind < 3 ? 1024 : 32));
            first = rnd.nextInt(t.pages - n + 1);
        }
        readAndVerify(t, first, n, "read");
    }

    private void verifyOp(ShadowObject t) {
        readAndVerify(t, 0, t.pages, "verify");
    }

    /** One "frame": pin, read a few pages through a vmap, close it, unpin; then poke the closed view. */
    private void frameOp(ShadowObject t) {
        BufferObject bo = t.bo;
        if (t.dontNeed) {
            // contract: pin (and vmap) of a DONTNEED object throws IllegalStateException
            boolean pinned = false;
            try {
                bo.pin();
                pinned = true;
            } catch (IllegalStateException expected) {
                // fine
            } finally {
                if (pinned) {
                    bo.unpin();
                    report.violation(t + ": pin() of a DONTNEED object succeeded");
                }
            }
            return;
        }
        long t0 = System.nanoTime();
        bo.pin();
        pinLatency.record(System.nanoTime() - t0);
        MemorySegment view;
        try {
            if (bo.pinCount() < 1 || bo.residency() != Residency.RESIDENT) {
                report.violation(t + ": after pin(): pinCount " + bo.pinCount() + ", " + bo.residency());
            }
            Vmap v = bo.vmap();
            try {
                view = v.segment();
                if (view.byteSize() != t.size()) {
                    report.violation(t + ": vmap segment of " + view.byteSize() + " bytes");
                }
                if (bo.vmapCount() < 1) {
                    report.violation(t + ": vmapCount " + bo.vmapCount() + " with a view open");
                }
                int k = 1 + rnd.nextInt(4);
                for (int j = 0; j < k; j++) {
                    int p = rnd.nextInt(t.pages);
                    checkPage(t, view, (long) p * pageSize, p, "vmap read");
                }
            } finally {
                v.close();
            }
        } finally {
            bo.unpin();
        }
        if (rnd.nextInt(8) == 0) {
            // A closed view: while the mapping is cached it still shows the object's bytes;
            // once torn down (eviction, purge, free) access throws IllegalStateException.
            int p = rnd.nextInt(t.pages);
            try {
                checkPage(t, view, (long) p * pageSize, p, "closed vmap view");
            } catch (IllegalStateException expected) {
                // torn down
            }
        }
    }

    private void writeOp(ShadowObject t) {
        if (t.dontNeed) {
            readOp(t);
            return;
        }
        awaitIdle(t, FenceUsage.READ); // a CPU write waits for GPU readers and writers
        int first = 0;
        int n = t.pages;
        if (rnd.nextInt(5) != 0) {
            n = 1 + rnd.nextInt(Math.min(t.pages, 256));
            first = rnd.nextInt(t.pages - n + 1);
        }
        write(t, first, n);
    }

    private void uploadOp(ShadowObject t) {
        if (t.dontNeed) {
            readOp(t);
            return;
        }
        int first = 0;
        int n = t.pages;
        if (rnd.nextInt(3) != 0) {
            n = 1 + rnd.nextInt(Math.min(t.pages, 512));
            first = rnd.nextInt(t.pages - n + 1);
        }
        upload(t, first, n);
    }

    private void lookupOp(ShadowObject t) {
        BufferObject b = run.clients[t.kind.ordinal()].lookup(t.bo.handle());
        try {
            if (b != t.bo) {
                report.violation(t + ": lookup(" + t.bo.handle() + ") returned another instance: " + b);
                return;
            }
            if (b.refCount() < 2) {
                report.violation(t + ": refCount " + b.refCount() + " after lookup");
            }
            int p = rnd.nextInt(t.pages);
            readAndVerify(t, p, 1, "read after lookup");
        } finally {
            b.release();
        }
    }

    private void pagesOp(ShadowObject t) {
        BufferObject bo = t.bo.retain();
        try {
            bo.getPages();
            try {
                if (bo.pagesUseCount() < 1) {
                    report.violation(t + ": pagesUseCount " + bo.pagesUseCount() + " after getPages()");
                }
                int p = rnd.nextInt(t.pages);
                readAndVerify(t, p, 1, "read with pages used");
            } finally {
                bo.putPages();
            }
        } finally {
            bo.release();
        }
    }

    private void madviseOp(int i, ShadowObject t) {
        BufferObject bo = t.bo;
        if (!t.dontNeed) {
            if (!bo.madvise(Madvise.DONTNEED)) {
                report.corruption(t + ": madvise(DONTNEED) returned false (purged) although the object was"
                        + " never marked DONTNEED: content lost");
                t.unknown = true;
                return;
            }
            t.dontNeed = true;
            if (rnd.nextInt(4) == 0) {
                try (Vmap v = bo.vmap()) {
                    report.violation(t + ": vmap() of a DONTNEED object succeeded: " + v);
                } catch (IllegalStateException | PurgedException expected) {
                    // contract: vmap of a DONTNEED object throws IllegalStateException (or purged)
                }
            }
            return;
        }
        if (bo.madvise(Madvise.WILLNEED)) {
            t.dontNeed = false;
            readAndVerify(t, 0, t.pages, "verify after WILLNEED"); // retained: all of it, unchanged
        } else {
            checkPurged(t);
            report.purgedSeen.increment();
            closeAndForget(i, t);
            if (create(i, t.kind)) {
                report.recreated.increment();
            }
        }
    }

    private void closeOp(int i, ShadowObject t) {
        BufferObject bo = t.bo;
        int how = rnd.nextInt(4);
        if (how == 1) {
            // the object outlives its handle while a reference holds it
            bo.retain();
            bo.close();
            bo.close(); // idempotent: must not drop the retained reference
            if (bo.refCount() != 1) {
                report.violation(t + ": refCount " + bo.refCount() + " after retain() and close() twice");
            }
            try {
                BufferObject other = run.clients[t.kind.ordinal()].lookup(bo.handle());
                if (other == bo) {
                    report.violation(t + ": lookup() of a closed handle found the object");
                }
                other.release(); // a new object that reuses the handle number: give it back
            } catch (NoSuchHandleException expected) {
                // fine
            }
            try {
                int p = rnd.nextInt(t.pages);
                readAndVerify(t, p, 1, "read after close of the handle");
            } catch (PurgedException e) {
                purged(t, e, "read after close of the handle");
            } catch (GpuOutOfMemoryException e) {
                report.gpuOutOfMemory.increment();
            } finally {
                bo.release();
            }
            forget(i, t);
            checkFreed(t);
            return;
        }
        if (how == 2 && !t.dontNeed) {
            // a view closed before the free must be dead after it
            MemorySegment view = null;
            try (Vmap v = bo.vmap()) {
                view = v.segment();
            } catch (GpuOutOfMemoryException e) {
                report.gpuOutOfMemory.increment();
            }
            bo.close();
            forget(i, t);
            checkFreed(t);
            if (view != null) {
                checkDeadView(t, view);
            }
            return;
        }
        bo.close();
        forget(i, t);
        checkFreed(t);
    }

    /**
     * The object is freed (close() dropped its last reference: refCount 0, read() refuses): a view
     * of it must throw IllegalStateException. If it still reads, tell apart the object's own bytes
     * (teardown late) from anything else (another object's memory), and how long teardown took.
     */
    private void checkDeadView(ShadowObject t, MemorySegment view) {
        long x;
        try {
            x = view.get(ShadowObject.WORD, 0);
        } catch (IllegalStateException expected) {
            return; // torn down
        }
        long own = ShadowObject.expectedWord(t.id, t.stamps[0], 0, 0);
        long t0 = System.nanoTime();
        long gone = -1;
        while (System.nanoTime() - t0 < 1_000_000_000L) {
            try {
                view.get(ShadowObject.WORD, 0);
            } catch (IllegalStateException e) {
                gone = System.nanoTime() - t0;
                break;
            }
            LockSupport.parkNanos(50_000);
        }
        String later = gone < 0 ? "still mapped 1 s later"
                : String.format(Locale.ROOT, "torn down %.1f us later", gone / 1e3);
        if (x != own) {
            report.corruption(String.format(Locale.ROOT, "%s: a view of the freed object reads %016x at byte 0, not"
                    + " its own content %016x (another object's memory?); %s", t, x, own, later));
        } else {
            report.violation(t + ": a closed view still reads the object's own bytes after close() freed it"
                    + " (refCount 0, read() throws IllegalStateException); " + later);
        }
    }

    private void reclaimOp() {
        long bytes = (1L + rnd.nextInt(16)) << 20;
        long freed = run.mm.reclaim(bytes);
        if (freed < 0 || freed % pageSize != 0) {
            report.violation("reclaim(" + bytes + ") returned " + freed);
        }
    }

    private void statsOp() {
        MemoryStats s = run.mm.stats();
        if (s.free() < 0 || s.free() > s.capacity() || s.resident() != s.capacity() - s.free()
                || s.swapUsed() < 0 || s.swapUsed() > s.swapCapacity() || s.pinned() < 0
                || s.busy() < 0 || s.busy() > s.capacity() || s.peakResident() < s.resident()
                || s.peakResident() > s.capacity()) {
            report.violation("inconsistent stats: " + s);
        }
        var client = run.clients[rnd.nextInt(run.clients.length)];
        ClientStats cs = client.stats();
        String info = client.fdinfo();
        if (cs.total() < 0 || !info.contains("drm-total-memory:")) {
            report.violation("client stats " + cs + " / fdinfo:\n" + info);
        }
    }

    // ---- creation and end of life -------------------------------------------------------------

    /**
     * Creates an object in empty slot i (exclusive claim held) and gives it its first content.
     *
     * @param kind the kind, or null to draw one
     * @return false if the byte budget leaves no room (nothing created)
     */
    private boolean create(int i, Workload.Kind kind) {
        Workload.Kind k = kind != null ? kind : workload.pickKind(rnd);
        long size = workload.size(k, rnd);
        if (run.liveBytes.get() + size > run.byteCap) {
            return false;
        }
        BufferObject bo = run.clients[k.ordinal()].create(size);
        ShadowObject t = new ShadowObject(run.nextId.incrementAndGet(), k, bo, pageSize);
        run.liveBytes.addAndGet(t.size());
        run.liveObjects.incrementAndGet();
        run.slots.set(i, t);
        try {
            if (bo.size() != size || bo.refCount() != 1 || bo.residency() != Residency.UNPOPULATED) {
                report.violation(t + ": new object: size " + bo.size() + " (asked " + size + "), refCount "
                        + bo.refCount() + ", " + bo.residency());
            }
            int how = rnd.nextInt(4);
            if (k == Workload.Kind.STAGING && how < 2) {
                // left unwritten: reads zeros and stays unpopulated
                int p = rnd.nextInt(t.pages);
                readAndVerify(t, p, 1, "read of a new object");
                if (bo.residency() != Residency.UNPOPULATED) {
                    report.violation(t + ": read of an unpopulated object left it " + bo.residency());
                }
            } else if (how == 0) {
                upload(t, 0, t.pages);
            } else {
                write(t, 0, t.pages);
            }
        } catch (GpuOutOfMemoryException e) {
            report.gpuOutOfMemory.increment(); // stays unwritten (all or nothing)
        } catch (RuntimeException | Error e) {
            report.unexpected(name + ": first content of " + t, e);
            t.unknown = true;
        }
        return true;
    }

    private void forget(int i, ShadowObject t) {
        run.slots.set(i, null);
        run.liveBytes.addAndGet(-t.size());
        run.liveObjects.decrementAndGet();
    }

    private void closeAndForget(int i, ShadowObject t) {
        t.bo.close();
        forget(i, t);
        checkFreed(t);
    }

    /** The last reference is gone: counters answer 0, operations throw IllegalStateException. */
    private void checkFreed(ShadowObject t) {
        BufferObject bo = t.bo;
        if (bo.refCount() != 0 || bo.pinCount() != 0 || bo.vmapCount() != 0) {
            report.violation(t + ": after the last reference: refCount " + bo.refCount() + ", pinCount "
                    + bo.pinCount() + ", vmapCount " + bo.vmapCount());
        }
        try {
            bo.read(0, scratch.asSlice(0, pageSize));
            report.violation(t + ": read() of a freed object succeeded");
        } catch (IllegalStateException expected) {
            // fine
        }
    }

    /** Under an exclusive claim nobody else uses the object: counts are at rest. */
    private void checkQuiet(ShadowObject t, String when) {
        BufferObject bo = t.bo;
        int refs = bo.refCount();
        int pins = bo.pinCount();
        int vmaps = bo.vmapCount();
        int uses = bo.pagesUseCount();
        if (refs != 1 || pins != 0 || vmaps != 0 || uses != 0) {
            report.violation(t + ": " + when + " (no other user): refCount " + refs + ", pinCount " + pins
                    + ", vmapCount " + vmaps + ", pagesUseCount " + uses);
        }
    }

    /** WILLNEED said purged: the object must be PURGED for good, and refuse content operations. */
    private void checkPurged(ShadowObject t) {
        BufferObject bo = t.bo;
        if (bo.residency() != Residency.PURGED) {
            report.violation(t + ": madvise(WILLNEED) returned false but residency is " + bo.residency());
        }
        MemorySegment page = scratch.asSlice(0, pageSize);
        try {
            bo.read(0, page);
            report.violation(t + ": read() of a purged object succeeded");
        } catch (PurgedException expected) {
            // fine
        }
        ShadowObject.fill(page, 0, t.id, 1, 0, pageSize);
        try {
            bo.write(0, page);
            report.violation(t + ": write() of a purged object succeeded");
        } catch (PurgedException expected) {
            // fine
        }
        try {
            bo.getPages();
            bo.putPages();
            report.violation(t + ": getPages() of a purged object succeeded");
        } catch (PurgedException expected) {
            // fine
        }
        if (bo.madvise(Madvise.WILLNEED) || bo.madvise(Madvise.DONTNEED)) {
            report.violation(t + ": madvise() of a purged object returned true");
        }
    }

    /** A PurgedException: expected on a DONTNEED object, a loss of content otherwise. */
    private void purged(ShadowObject t, PurgedException e, String where) {
        if (t.dontNeed) {
            report.purgedSeen.increment();
            Residency r = t.bo.residency();
            if (r != Residency.PURGED) {
                report.violation(t + ": " + where + " threw PurgedException but residency is " + r);
            }
        } else {
            report.corruption(t + ": " + where + " threw PurgedException but the object was never marked"
                    + " DONTNEED: content lost (" + e.getMessage() + ")");
        }
    }

    private void awaitIdle(ShadowObject t, FenceUsage usage) {
        if (!t.bo.resv().awaitIdle(usage, StressGpu.WAIT)) {
            report.violation(t + ": awaitIdle(" + usage + ") still busy after " + StressGpu.WAIT.toSeconds()
                    + " s (jobs run for milliseconds; the scheduler's timeout is " + StressGpu.TIMEOUT.toSeconds() + " s)");
        }
    }

    // ---- content ----------------------------------------------------------------------------

    /** Writes pages [first, first + n) with a new stamp through write(). */
    private void write(ShadowObject t, int first, int n) {
        int s = t.nextStamp();
        MemorySegment src = scratch.asSlice(0, (long) n * pageSize);
        for (int j = 0; j < n; j++) {
            ShadowObject.fill(src, (long) j * pageSize, t.id, s, first + j, pageSize);
        }
        try {
            t.bo.write((long) first * pageSize, src);
        } catch (GpuOutOfMemoryException e) {
            report.gpuOutOfMemory.increment();
            // all or nothing: the old content must still be there
            try {
                readAndVerify(t, first, n, "read after a failed write");
            } catch (GpuOutOfMemoryException again) {
                report.gpuOutOfMemory.increment();
            }
            return;
        }
        t.wrote(first, n, s);
    }

    /** Writes pages [first, first + n) with a new stamp through a vmap (zero copy). */
    private void upload(ShadowObject t, int first, int n) {
        int s = t.nextStamp();
        try (Vmap v = t.bo.vmap()) {
            MemorySegment view = v.segment();
            try {
                for (int j = first; j < first + n; j++) {
                    ShadowObject.fill(view, (long) j * pageSize, t.id, s, j, pageSize);
                }
            } catch (RuntimeException | Error e) {
                t.unknown = true; // a partial upload: the model cannot say which pages changed
                throw e;
            }
            t.wrote(first, n, s);
        }
    }

    /** Reads pages [first, first + n) with read() into poisoned scratch and checks every byte. */
    private void readAndVerify(ShadowObject t, int first, int n, String what) {
        long len = (long) n * pageSize;
        MemorySegment dst = scratch.asSlice(0, len);
        dst.fill(POISON);
        long t0 = System.nanoTime();
        t.bo.read((long) first * pageSize, dst);
        readLatency.record(System.nanoTime() - t0);
        for (int j = 0; j < n; j++) {
            checkPage(t, dst, (long) j * pageSize, first + j, what);
        }
        report.bytesVerified.add(len);
    }

    private void checkPage(ShadowObject t, MemorySegment seg, long off, int p, String what) {
        int stamp = t.stamps[p];
        long bad = ShadowObject.check(seg, off, t.id, stamp, p, pageSize);
        if (bad >= 0) {
            long actual = seg.get(ShadowObject.WORD, off + bad);
            long expected = ShadowObject.expectedWord(t.id, stamp, p, bad);
            report.corruption(String.format(Locale.ROOT,
                    "%s: %s page %d byte %d: expected %016x (stamp %d%s) actual %016x; residency %s, dontNeed %s",
                    t, what, p, bad, expected, stamp, stamp == 0 ? ": never written, zeros" : "", actual,
                    t.bo.residency(), t.dontNeed));
        }
    }

    // ---- the end ----------------------------------------------------------------------------

    /**
     * Final check of slot i (main thread, workers stopped, fences signaled): an object still
     * marked DONTNEED is asked back (WILLNEED: retained means intact, otherwise it must be purged);
     * every other object is read whole and verified; then it is closed and must be freed.
     */
    void verifyAndClose(int i) {
        ShadowObject t = run.slots.get(i);
        if (t == null) {
            return;
        }
        try {
            if (!t.unknown) {
                checkQuiet(t, "at the end");
                if (!t.bo.resv().isIdle(FenceUsage.BOOKKEEP)) {
                    report.violation(t + ": busy at the end although every fence was signaled");
                }
                if (t.dontNeed && !t.bo.madvise(Madvise.WILLNEED)) {
                    checkPurged(t);
                    report.purgedSeen.increment();
                } else {
                    t.dontNeed = false;
                    for (int attempt = 0; ; attempt++) {
                        try {
                            readAndVerify(t, 0, t.pages, "final verify");
                            break;
                        } catch (GpuOutOfMemoryException e) {
                            report.gpuOutOfMemory.increment();
                            if (attempt == 3) {
                                report.violation(t + ": final verify: GpuOutOfMemoryException with nothing"
                                        + " pinned or busy: " + e.getMessage());
                                break;
                            }
                            run.mm.reclaim(t.size());
                        }
                    }
                }
            }
        } catch (PurgedException e) {
            purged(t, e, "final verify");
        } catch (RuntimeException | Error e) {
            report.unexpected("final verify of " + t, e);
        }
        try {
            closeAndForget(i, t);
        } catch (RuntimeException | Error e) {
            report.unexpected("close of " + t, e);
        }
        report.finalSteps.increment();
    }
}
