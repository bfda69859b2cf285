package dev.memmgr.bench;

import dev.memmgr.Client;
import dev.memmgr.MemoryManager;
import dev.memmgr.MemoryManagerException;
import dev.memmgr.MemoryStats;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The memmgr stress tool: a rendering-engine-like workload on one {@link MemoryManager}, every
 * byte checked against a model, under a small heap.
 *
 * <pre>
 * bin/memmgr stress [--capacity 256m] [--swap 1g] [--threads 2] [--seconds 30] [--objects 256] [--seed N]
 * java -Xmx64m --enable-native-access=ALL-UNNAMED -cp bench/target/benchmarks.jar dev.memmgr.bench.Stress ...
 * </pre>
 *
 * <h2>Workload</h2>
 * Four clients, as a renderer keeps them: {@code textures} (64 KiB..16 MiB, written once, read
 * and pinned every frame), {@code geometry} (4 KiB..4 MiB vertex and index buffers, partly
 * rewritten), {@code staging} (256 KiB..8 MiB upload buffers, rewritten through vmaps and
 * recycled often) and {@code cache} (4 KiB..2 MiB derived data, marked DONTNEED and taken back
 * with WILLNEED). Sizes are skewed: most buffers are small, the big ones hold most of the bytes;
 * the skew is tuned per run so that {@code --objects} buffers make a working set of about twice
 * the capacity (capped at capacity + swap/2), so eviction, swap-in and purge happen all the time
 * (see {@link Workload}). {@code --threads} workers each loop: pick a random slot of an object
 * table of {@code --objects} entries; create an object there if empty (within the byte budget),
 * else apply one operation drawn from the object kind's weights:
 * <ul>
 * <li>read a page range or the whole object and verify every byte (sometimes waiting first for
 *     GPU writers with {@code awaitIdle(WRITE)});</li>
 * <li>a "frame": pin, vmap, read a few pages through the view, close it, unpin; sometimes poke
 *     the closed view, which must either show the right bytes (mapping still cached) or throw
 *     IllegalStateException (torn down), never anything else;</li>
 * <li>write a page-aligned range or the whole object (after {@code awaitIdle(READ)}); a write
 *     that throws GpuOutOfMemoryException must leave the old content, which is then verified;</li>
 * <li>upload: vmap and write a range through {@code Vmap.segment()};</li>
 * <li>fence: a job of the "GPU" ({@link StressGpu}: the run's {@link dev.memmgr.GpuScheduler},
 *     4 credits, a 10 s timeout) that sleeps 0.1..2 ms; it declares that it reads or writes the
 *     object (implicit sync attaches its finished fence at push, and the kernel checks the
 *     shrinker leaves the busy object resident), or its fence is attached by hand with KERNEL or
 *     BOOKKEEP usage, with or without the reservation locked; until it signals the object is
 *     busy;</li>
 * <li>lookup by handle (must return the same instance), retain / getPages / putPages / release;</li>
 * <li>madvise: DONTNEED, later WILLNEED: retained means the whole object is verified at once;
 *     not retained means purged: residency PURGED, read, write and getPages throw
 *     PurgedException, madvise returns false; the object is closed and recreated;</li>
 * <li>close: plainly; or retain, close the handle (twice: idempotent), check the handle is gone,
 *     read through the kept reference, release; or vmap, close the view, close the handle, and
 *     check the dead view throws IllegalStateException (if it still reads, the report says
 *     whether it shows the object's own bytes and how long teardown took, or foreign bytes, a
 *     corruption). A freed object must answer refCount 0 and refuse read with
 *     IllegalStateException;</li>
 * <li>now and then {@code MemoryManager.reclaim}, stats and fdinfo;</li>
 * <li>sharing ({@link SharingWorkload}): a few objects exported to a second manager, used and
 *     verified through the import, the exporter and a dynamic attachment under eviction.</li>
 * </ul>
 * About one step in eight is instead an operation of the worker's own GPU VM ({@link StressVm}):
 * map ranges of the worker's objects (client {@code vm}, outside the table, an eighth of the
 * capacity over all workers) over existing mappings, unmap ranges or whole objects, read and
 * write through the VM with every byte checked, access unmapped addresses (a fault at the first
 * unmapped byte, nothing copied), DONTNEED, WILLNEED and close handles of mapped objects, submit
 * ({@code lockAll}, {@code validate}, a job's fence), check the page table, or bind a range of a
 * table object under a shared claim for one read; or push a batch of jobs ({@link StressJobs}) that
 * upload, copy and read through the VM on the scheduler's threads (and one that must fault), every
 * byte checked against a snapshot of the model, their failures classified.
 * Workers claim a slot without blocking (shared for reads, pins, fences, lookups; exclusive for
 * writes, uploads, madvise and close; a busy slot is skipped), so several threads pin and read one
 * object at once while the model stays exact. Under an exclusive claim the object's counts must
 * be at rest (refCount 1, no pins, vmaps or page uses). Each thread's random choices come from
 * {@code --seed}; thread interleaving still varies between runs.
 *
 * <h2>Shadow model</h2>
 * {@link ShadowObject}: per object one int stamp per page; every write covers whole pages and
 * fills page p with words computed from (object id, stamp, p); stamp 0 means never written
 * (zeros). 4 bytes per 4 KiB page: a few MiB of heap for gigabytes of objects. Reads go into a
 * per-thread off-heap scratch segment (the largest object's size, from an {@link
 * java.lang.foreign.Arena}) poisoned first, and every byte read is compared. Content may only be
 * lost by a purge of an object marked DONTNEED (reads then throw PurgedException, counted as
 * expected); a PurgedException on any other object, or any wrong byte, is a corruption (the
 * first ten are printed with object, page, expected and actual word). At the end every live
 * object is verified whole (DONTNEED ones after WILLNEED) and closed, and the manager must be
 * back to all frames free and no swap used.
 *
 * <h2>Swap</h2>
 * When {@code --swap} is exactly twice the capacity, the builder's default is used: a temp file
 * in java.io.tmpdir, unlinked at once (nothing to clean up, nobody else can open it). Otherwise
 * the tool creates a private directory (0700) in java.io.tmpdir, lets the manager create its swap
 * file there ({@code Builder.swapFile}, 0600, deleted on close), and deletes the directory at
 * the end, on Ctrl-C and before a watchdog exit. {@code --swap 0} disables swap: then only purge
 * frees memory and the target working set is the capacity (expect GpuOutOfMemoryException).
 *
 * <h2>Output</h2>
 * The settings and the seed first (repeat a run with {@code --seed}); once a second a progress
 * line labelled with its second (1, 2, 3, ...: a late line comes late, it is never repeated or
 * skipped) with ops/s, resident, evicted and swap used from {@code MemoryManager.stats()}, the
 * live working set, evictions, swap-ins, purges, GpuOutOfMemoryExceptions, the VM maps,
 * unmaps, reads checked and validates, and the jobs finished so far; failures as they
 * happen ({@code CORRUPTION:}, {@code UNEXPECTED:} with stack traces); then counts of expected
 * events, a {@code vm:} line with the VM workload's figures, a {@code jobs:} line with the
 * scheduler's (jobs pushed and finished, timeouts, batches, uploads, copies and reads that did their
 * work, page faults checked, bytes the kernels verified, CPU reads after implicit sync, jobs failed
 * as they may by cause, busy objects checked resident, jobs that found objects evicted between
 * submission and run), and a {@code result:} line, and finally exactly these lines:
 * <pre>
 * ops: N
 * evictions: N
 * swapIns: N
 * purges: N
 * corruptions: N
 * pin p50: 850 ns p99: 35.2 us
 * read p50: 3.4 us p99: 1.3 ms
 * </pre>
 * ops counts workload operations (expected failures included, final verification not); the
 * latencies are of {@code pin()} in frames and of every {@code read()} (whole-object reads and
 * swap-ins included), from {@link LatencyHistogram} (log buckets, 6 % resolution), each in ns, us,
 * ms or s as its magnitude asks.
 *
 * <h2>Exit status</h2>
 * 0: clean. 1: any corruption or unexpected result or exception (anything but
 * GpuOutOfMemoryException, which is expected when everything is pinned, busy or locked, and
 * PurgedException on DONTNEED objects, both counted and printed separately), including
 * OutOfMemoryError, a job that times out, is cancelled or never signals. 2: bad options (a message and the usage on stderr; nothing runs). 3: the
 * watchdog: no operation completed for 10 s; then every thread's stack with the locks held is
 * printed ({@code ThreadMXBean.dumpAllThreads}) and the JVM halts.
 *
 * <p>{@link Soak} is the same tool for five minutes by default.
 */
public final class Stress {
    /** Exit status when the watchdog sees no progress (see {@link Watchdog}). */
    static final int EXIT_WATCHDOG = 3;

    static final String USAGE = usage("stress", 30, "the stress tool");

    private static final long WATCHDOG_NANOS = TimeUnit.SECONDS.toNanos(10);

    /** The usage text of the stress tool as {@code command} (stress or soak). */
    static String usage(String command, int defaultSeconds, String what) {
        return """
                usage: bin/memmgr %s [options]        (%s, under -Xmx64m)
                  --capacity SIZE   frames of the manager: at least 1m, a multiple of 4k (default 256m)
                  --swap SIZE       swap file size: 0 for none, else at least 4k (default 1g)
                  --threads N       worker threads, 1..256 (default 2)
                  --seconds N       duration of the workload, 1..1000000 (default %d)
                  --objects N       maximum live objects, 1..1048576 (default 256)
                  --seed N          random seed, decimal or 0x hex (default: random, printed)
                  --help            this text
                SIZE: bytes with an optional k, m or g suffix (powers of 1024), e.g. 256m.
                Exit status: 0 clean, 1 corruption or unexpected failure, 2 bad options,
                3 watchdog (no progress for 10 s: every thread's stack is printed first)."""
                .formatted(command, what, defaultSeconds);
    }

    /** Command-line settings. */
    record Options(long capacity, long swap, int threads, int seconds, int objects, long seed) {
        static final List<String> NAMES = List.of("--capacity", "--swap", "--threads", "--seconds", "--objects",
                "--seed");

        /** The settings of {@code bin/memmgr stress} (30 s by default). */
        static Options parse(String[] args) {
            return of(CommandLine.parse(args, NAMES), 30);
        }

        static Options of(CommandLine line, int defaultSeconds) {
            long capacity = line.size("--capacity", 256L << 20, 1L << 20, 1L << 40);
            if (capacity % 4096 != 0) {
                throw new CommandLine.BadOptions("--capacity must be a multiple of 4k: '" + line.value("--capacity") + "'");
            }
            long swap = line.size("--swap", 1L << 30, 0, 1L << 42);
            if (swap != 0 && swap < 4096) {
                throw new CommandLine.BadOptions("--swap must be 0 or at least 4k: '" + line.value("--swap") + "'");
            }
            return new Options(capacity, swap, line.integer("--threads", 2, 1, 256),
                    line.integer("--seconds", defaultSeconds, 1, 1_000_000), line.integer("--objects", 256, 1, 1 << 20),
                    line.seed("--seed", ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE));
        }
    }

    // ---- shared state of a run (package: the workers use it) ---------------------------------

    final MemoryManager mm;
    final int pageSize;
    final Client[] clients;
    final Workload workload;
    final StressReport report;
    final StressGpu gpu;
    final SharingWorkload sharing;
    final AtomicReferenceArray<ShadowObject> slots;
    /** Per slot: 0 free, n > 0 shared by n threads, -1 exclusive. */
    final AtomicIntegerArray claims;
    final AtomicLong liveBytes = new AtomicLong();
    final AtomicInteger liveObjects = new AtomicInteger();
    final AtomicInteger nextId = new AtomicInteger();
    /** Live bytes are kept under this (creation waits for room). */
    final long byteCap;
    /** Bytes of objects each worker's GPU VM workload may keep: an eighth of the capacity over all workers. */
    final long vmBudget;
    volatile boolean running = true;

    private Stress(MemoryManager mm, Workload workload, int objects, int threads, StressReport report) {
        this.mm = mm;
        this.pageSize = mm.pageSize();
        this.workload = workload;
        this.report = report;
        this.gpu = new StressGpu(report);
        this.sharing = new SharingWorkload(mm, report);
        this.slots = new AtomicReferenceArray<>(objects);
        this.claims = new AtomicIntegerArray(objects);
        this.byteCap = workload.targetBytes + workload.targetBytes / 5;
        this.vmBudget = Math.max(16L * pageSize, Math.min(16L << 20, mm.capacity() / (8L * threads)) / pageSize * pageSize);
        Workload.Kind[] kinds = Workload.Kind.values();
        this.clients = new Client[kinds.length];
        for (Workload.Kind k : kinds) {
            clients[k.ordinal()] = mm.openClient(k.label);
        }
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        return run("stress", USAGE, 30, args, out, err);
    }

    /** The stress tool as {@code command}: bad options exit 2 before anything runs. */
    static int run(String command, String usage, int defaultSeconds, String[] args, PrintStream out, PrintStream err) {
        return CommandLine.execute(command, usage, args, out, err, Options.NAMES, l -> Options.of(l, defaultSeconds),
                o -> run(command, usage, o, out, err));
    }

    private static int run(String command, String usage, Options o, PrintStream out, PrintStream err) {
        SwapDir swapDir = new SwapDir();
        Thread hook = new Thread(swapDir::delete, "stress-cleanup");
        Runtime.getRuntime().addShutdownHook(hook);
        MemoryManager mm;
        String swapWhere;
        try {
            MemoryManager.Builder b = MemoryManager.builder().capacity(o.capacity());
            if (o.swap() == 0) {
                b.noSwap();
                swapWhere = "none";
            } else if (o.swap() == 2 * o.capacity()) {
                swapWhere = "unlinked temp file in " + System.getProperty("java.io.tmpdir");
            } else {
                Path file = swapDir.create();
                b.swapFile(file, o.swap());
                swapWhere = file.toString();
            }
            mm = b.build();
        } catch (IllegalArgumentException e) {
            // settings the manager refuses together (e.g. a swap file smaller than a page)
            err.println(command + ": " + e.getMessage());
            err.println(usage);
            swapDir.delete();
            return CommandLine.BAD_OPTIONS;
        } catch (MemoryManagerException e) {
            err.println(command + ": cannot create the manager: " + e.getMessage());
            swapDir.delete();
            return 1;
        } catch (IOException e) {
            err.println(command + ": cannot create a swap directory in java.io.tmpdir: " + e);
            return 1;
        }
        try {
            return runOn(mm, o, swapWhere, swapDir, out);
        } finally {
            mm.close();
            swapDir.delete();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs anyway
            }
        }
    }

    private static int runOn(MemoryManager mm, Options o, String swapWhere, SwapDir swapDir, PrintStream out) {
        long capacity = mm.capacity();
        long swapBytes = mm.stats().swapCapacity();
        long target = swapBytes == 0 ? capacity : Math.min(2 * capacity, capacity + swapBytes / 2);
        Workload workload = new Workload(capacity, mm.pageSize(), o.objects(), target);
        StressReport report = new StressReport(out);
        Stress s = new Stress(mm, workload, o.objects(), o.threads(), report);

        out.printf(Locale.ROOT, "memmgr stress: capacity %s, swap %s (%s), page %d B, %d threads, %d s, %d objects, seed %d%n",
                Sizes.format(capacity), Sizes.format(swapBytes), swapWhere, mm.pageSize(), o.threads(), o.seconds(),
                o.objects(), o.seed());
        out.printf(Locale.ROOT, "workload: target working set %s (%.1f x capacity), objects %s..%s, skew %.2f, mean object %s%n",
                Sizes.format(target), (double) target / capacity, Sizes.format(mm.pageSize()),
                Sizes.format(workload.maxObject), workload.skew, Sizes.format((long) workload.meanSize));
        out.printf(Locale.ROOT, "repeat with: --capacity %d --swap %d --threads %d --seconds %d --objects %d --seed %d%n",
                capacity, o.swap(), o.threads(), o.seconds(), o.objects(), o.seed());

        Watchdog watchdog = new Watchdog(report::progress, WATCHDOG_NANOS,
                () -> mm.stats() + ", live " + s.liveObjects.get() + " objects " + Sizes.format(s.liveBytes.get())
                        + ", seed " + o.seed(),
                swapDir::delete, out);
        watchdog.start();
        StressWorker[] workers = new StressWorker[o.threads()];
        Thread[] threads = new Thread[o.threads()];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = new StressWorker(s, "worker-" + i, o.seed() * 0x9E3779B97F4A7C15L + i);
            threads[i] = new Thread(workers[i], "stress-worker-" + i);
            threads[i].start();
        }

        long start = System.nanoTime();
        long lastOps = 0;
        long lastTick = start;
        String stoppedEarly = null;
        // one line per second, labelled with its second: a late wake-up (a loaded machine, a GC
        // pause) delays a line, it never repeats or skips a label; the rate is over the real interval
        for (int tick = 1; ; tick++) {
            long next = start + TimeUnit.SECONDS.toNanos(tick);
            while (System.nanoTime() < next && report.abort == null) {
                sleepMillis(Math.max(1, TimeUnit.NANOSECONDS.toMillis(next - System.nanoTime())));
            }
            long now = System.nanoTime();
            long ops = report.ops.sum();
            progress(out, s, tick, (ops - lastOps) * 1e9 / Math.max(1, now - lastTick));
            lastOps = ops;
            lastTick = now;
            if (report.abort != null) {
                stoppedEarly = report.abort;
                break;
            }
            if (report.corruptions() + report.unexpected() >= 1000) {
                stoppedEarly = "too many failures";
                break;
            }
            if (tick >= o.seconds()) {
                break;
            }
        }
        if (stoppedEarly != null) {
            out.println("stopping early: " + stoppedEarly);
        }
        s.running = false;
        LatencyHistogram pin = new LatencyHistogram();
        LatencyHistogram read = new LatencyHistogram();
        for (int i = 0; i < threads.length; i++) {
            joinUninterruptibly(threads[i]);
            pin.add(workers[i].pinLatency);
            read.add(workers[i].readLatency);
        }
        s.gpu.close(); // every job finished, then the entities and the scheduler closed
        long ops = report.ops.sum();
        double seconds = (System.nanoTime() - start) / 1e9;

        // final verification: every live object, then the manager must be empty
        int live = s.liveObjects.get();
        long t0 = System.nanoTime();
        StressWorker checker = new StressWorker(s, "final", o.seed());
        checker.withScratch(() -> {
            for (int i = 0; i < s.slots.length(); i++) {
                checker.verifyAndClose(i);
            }
        });
        s.sharing.finish(mm);
        out.printf(Locale.ROOT, "final verification: %d objects in %.1f s%n", live, (System.nanoTime() - t0) / 1e9);
        // every object is closed: the manager must be empty (give a reclaim pass in flight, which
        // may hold the last transient reference of an object, a moment to finish freeing it)
        MemoryStats st = mm.stats();
        long settle = System.nanoTime();
        while (!empty(st) && System.nanoTime() - settle < TimeUnit.SECONDS.toNanos(2)) {
            sleepMillis(10);
            st = mm.stats();
        }
        if (!empty(st)) {
            report.violation("every object is freed but the manager still holds memory 2 s later: " + st);
        }
        for (Client c : s.clients) {
            c.close();
        }
        report.finalSteps.increment();
        mm.close(); // under the watchdog too
        report.finalSteps.increment();
        watchdog.stop();

        long failures = report.corruptions() + report.unexpected();
        out.printf(Locale.ROOT, "duration: %.1f s, %.0f ops/s, %s verified%n", seconds, ops / seconds,
                Sizes.format(report.bytesVerified.sum()));
        out.printf("fences: %d attached, %d signaled%n", report.fencesAttached.sum(), report.fencesSignaled.sum());
        out.printf("gpuOutOfMemory (expected): %d%n", report.gpuOutOfMemory.sum());
        out.printf("purged (expected, DONTNEED objects): %d seen, %d recreated%n", report.purgedSeen.sum(),
                report.recreated.sum());
        out.printf("vm: %d maps, %d unmaps, %d reads checked, %d writes, %d validates (%d with evicted objects),"
                        + " %d page faults checked, %d table objects bound, %d handles closed while mapped,"
                        + " %d objects freed by their last unmap, %d resets%n", report.vmMaps.sum(), report.vmUnmaps.sum(),
                report.vmReads.sum(), report.vmWrites.sum(), report.vmValidates.sum(), report.vmValidatesEvicted.sum(),
                report.vmFaults.sum(), report.vmBorrowed.sum(),
                report.vmClosedMapped.sum(), report.vmFreedByUnmap.sum(), report.vmResets.sum());
        out.printf("jobs: %d pushed, %d finished, %d timeouts; %d batches through VMs: %d uploads, %d copies, %d reads,"
                        + " %d page faults checked, %s verified by kernels, %d CPU reads after implicit sync;"
                        + " failed as expected: %d purged, %d out of memory, %d by a failed dependency, %d skipped after"
                        + " a failed job; %d busy objects checked resident, %d more kept through a reclaim of every"
                        + " purgeable byte; %d jobs found objects evicted between submission and run%n",
                report.jobsPushed.sum(), report.jobsFinished.sum(), report.jobTimeouts.sum(),
                report.jobBatches.sum(), report.jobUploads.sum(), report.jobCopies.sum(), report.jobReads.sum(),
                report.jobFaults.sum(), Sizes.format(report.jobBytesVerified.sum()), report.jobCpuReads.sum(),
                report.jobFailedPurged.sum(), report.jobFailedOom.sum(), report.jobFailedDependency.sum(),
                report.jobSkipped.sum(), report.jobBusyChecks.sum(), report.jobBusyProbes.sum(),
                report.jobEvictedBeforeRun.sum());
        out.println(s.sharing.summary());
        out.printf("unexpected: %d%n", report.unexpected());
        out.printf("result: %s (seed %d)%n", failures == 0 && stoppedEarly == null ? "OK" : "FAILED", o.seed());
        out.printf("ops: %d%n", ops);
        out.printf("evictions: %d%n", st.evictions());
        out.printf("swapIns: %d%n", st.swapIns());
        out.printf("purges: %d%n", st.purges());
        out.printf("peak resident: %s of %s%n", Sizes.format(st.peakResident()), Sizes.format(st.capacity()));
        out.printf("corruptions: %d%n", report.corruptions());
        out.println(pin.line("pin"));
        out.println(read.line("read"));
        out.flush();
        return failures == 0 && stoppedEarly == null ? 0 : 1;
    }

    private static boolean empty(MemoryStats st) {
        return st.resident() == 0 && st.swapUsed() == 0 && st.pinned() == 0 && st.purgeable() == 0
                && st.free() == st.capacity();
    }

    private static void progress(PrintStream out, Stress s, int second, double opsPerSecond) {
        MemoryStats st = s.mm.stats();
        out.printf(Locale.ROOT,
                "[%4d s] %8.0f ops/s  resident %9s  evicted %9s  swap used %9s  live %4d objects %9s"
                        + "  evictions %d swapIns %d purges %d oom %d  vm maps %d unmaps %d reads %d validates %d"
                        + "  jobs %d%n",
                second, opsPerSecond, Sizes.format(st.resident()),
                Sizes.format(st.evicted()), Sizes.format(st.swapUsed()), s.liveObjects.get(),
                Sizes.format(s.liveBytes.get()), st.evictions(), st.swapIns(), st.purges(),
                s.report.gpuOutOfMemory.sum(), s.report.vmMaps.sum(), s.report.vmUnmaps.sum(), s.report.vmReads.sum(),
                s.report.vmValidates.sum(), s.report.jobsFinished.sum());
    }

    private static void sleepMillis(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void joinUninterruptibly(Thread t) {
        while (true) {
            try {
                t.join();
                return;
            } catch (InterruptedException e) {
                // the watchdog ends a hung run
            }
        }
    }

    /** A private directory in java.io.tmpdir for the swap file; deleted with its content. */
    private static final class SwapDir {
        private volatile Path dir;

        synchronized Path create() throws IOException {
            dir = Files.createTempDirectory("memmgr-stress-",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            return dir.resolve("swap");
        }

        synchronized void delete() {
            Path d = dir;
            if (d == null) {
                return;
            }
            try {
                Files.deleteIfExists(d.resolve("swap"));
                Files.deleteIfExists(d);
                dir = null;
            } catch (IOException ignored) {
                // best effort
            }
        }
    }
}
