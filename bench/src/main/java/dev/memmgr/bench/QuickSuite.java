package dev.memmgr.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import org.openjdk.jmh.profile.GCProfiler;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * The quick suite: every benchmark of DESIGN.md section 5 with short iterations (a few minutes
 * in all), then a markdown table of each ratio next to its target, with JMH's error columns
 * (99.9% confidence half-widths; wide on a shared two-core machine) and the heap footprint
 * ({@link Footprint}, measured in this JVM).
 *
 * <p>{@code bin/memmgr quick [--out FILE]}: prints the table, and writes it to FILE as well.
 */
public final class QuickSuite {
    static final String USAGE = """
            usage: bin/memmgr quick [--out FILE]
              --out FILE   write the table to FILE as well (its directory must exist)
              --help       this text
            Runs every benchmark of the suite with short iterations (a few minutes), then prints a
            markdown table of each ratio next to its target.
            Exit status: 0 done, 1 a benchmark or writing FILE failed, 2 bad options.""";

    private final List<RunResult> results = new ArrayList<>();
    private final List<String> rows = new ArrayList<>();

    /** The suite's settings. */
    record Options(Path out) {
        static final List<String> NAMES = List.of("--out");

        static Options of(CommandLine line) {
            String v = line.value("--out");
            if (v == null) {
                return new Options(null);
            }
            Path out = Path.of(v).toAbsolutePath();
            Path dir = out.getParent();
            if (Files.isDirectory(out)) {
                throw new CommandLine.BadOptions("--out: '" + v + "' is a directory");
            }
            if (dir == null || !Files.isDirectory(dir)) {
                throw new CommandLine.BadOptions("--out: the directory of '" + v + "' does not exist");
            }
            if (!Files.isWritable(dir) || (Files.exists(out) && !Files.isWritable(out))) {
                throw new CommandLine.BadOptions("--out: '" + v + "' is not writable");
            }
            return new Options(out);
        }
    }

    private QuickSuite() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        return CommandLine.execute("quick", USAGE, args, out, err, Options.NAMES, Options::of, o -> run(o, out, err));
    }

    private static int run(Options o, PrintStream out, PrintStream err) {
        QuickSuite suite = new QuickSuite();
        try {
            suite.runAll();
        } catch (RunnerException e) {
            err.println("quick: a benchmark failed: " + e.getMessage());
            return 1;
        }
        String report = suite.report();
        out.println();
        out.println(report);
        if (o.out() != null) {
            try {
                Files.writeString(o.out(), report);
            } catch (IOException e) {
                err.println("quick: cannot write " + o.out() + ": " + e);
                return 1;
            }
            out.println("written to " + o.out());
        }
        return 0;
    }

    private void runAll() throws RunnerException {
        run(PagesBench.class.getName() + "\\.", 3, 1, 5, 1, true, null);
        run(PagesContendedBench.class.getName() + "\\.", 3, 1, 5, 1, false, null);
        run(AllocBench.class.getName() + "\\.", 2, 1, 3, 1, false, null);
        run(VmapBench.class.getName() + "\\.vmapCached", 3, 1, 5, 1, true, new String[] {"pages", "1"});
        run(VmapBench.class.getName() + "\\.vmapCold", 2, 1, 3, 1, false, null);
        run(ReclaimBench.class.getName() + "\\.", 2, 2, 5, 2, false, null);
        run(ShrinkerBench.class.getName() + "\\.", 2, 1, 3, 1, false, null);
        run(GpuVmBench.class.getName() + "\\.", 3, 1, 5, 1, true, null);
        run(ExecBench.class.getName() + "\\.", 3, 1, 5, 1, true, null);
        run(DmaBufBench.class.getName() + "\\.mapMapped", 3, 1, 5, 1, true, null);
        run(DmaBufBench.class.getName() + "\\.evict", 2, 1, 3, 1, false, null);
        run(SchedBench.class.getName() + "\\.", 3, 1, 5, 1, true, null);
    }

    private void run(String include, int warmups, int warmupSeconds, int iterations, int seconds, boolean gc,
                     String[] param) throws RunnerException {
        ChainedOptionsBuilder o = new OptionsBuilder().include(include).forks(1)
                .warmupIterations(warmups).warmupTime(TimeValue.seconds(warmupSeconds))
                .measurementIterations(iterations).measurementTime(TimeValue.seconds(seconds));
        if (gc) {
            o = o.addProfiler(GCProfiler.class);
        }
        if (param != null) {
            o = o.param(param[0], param[1]);
        }
        Collection<RunResult> r = new Runner(o.build()).run();
        results.addAll(r);
    }

    // ---- the table ---------------------------------------------------------------------------

    private String report() {
        String date = ZonedDateTime.now().format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm z"));
        String machine = Runtime.getRuntime().availableProcessors() + " cores, " + System.getProperty("os.arch") + ", "
                + System.getProperty("java.vm.name") + " " + Runtime.version();
        pagesRows();
        allocRows();
        vmapRows();
        reclaimRows();
        shrinkerRows();
        gpuVmRows();
        execRows();
        dmaBufRows();
        schedRows();
        footprintRows();
        StringBuilder sb = new StringBuilder();
        sb.append("memmgr quick suite, ").append(date).append("; ").append(machine).append('\n');
        sb.append("Scores are JMH averages with their 99.9% error; ratios carry the combined relative error.\n\n");
        sb.append("| check | measured (score ± error) | ratio | target | met |\n");
        sb.append("|---|---|---|---|---|\n");
        for (String row : rows) {
            sb.append(row).append('\n');
        }
        return sb.toString();
    }

    private void pagesRows() {
        for (String m : new String[] {"getPutPages", "pinUnpin"}) {
            Result<?> one = score("PagesBench." + m, null);
            Result<?> floor = score("PagesBench.atomicPair", null);
            ratioRow(m + " vs atomicPair, 1 thread", one, floor, 1.5, true);
            infoRatioRow(m + " vs casPair (conditional floor), 1 thread", one, score("PagesBench.casPair", null));
            Result<?> two = score("PagesContendedBench." + m, null);
            ratioRow(m + ", 2 threads vs 1 thread", two, one, 2.0, true);
            infoRatioRow(m + " vs atomicPair, both 2 threads", two, score("PagesContendedBench.atomicPair", null));
        }
        infoRatioRow("atomicPair itself, 2 threads vs 1 thread (the machine's floor)",
                score("PagesContendedBench.atomicPair", null), score("PagesBench.atomicPair", null));
        for (String m : new String[] {"PagesBench.getPutPages", "PagesBench.pinUnpin", "VmapBench.vmapCached"}) {
            Result<?> alloc = secondary(m, m.startsWith("VmapBench") ? "1" : null, "gc.alloc.rate.norm");
            if (alloc != null) {
                boolean met = alloc.getScore() < 0.5; // JMH reports fractions of a byte of noise
                rows.add(String.format(Locale.ROOT, "| %s allocation | %s | | 0 B/op | %s |",
                        shortName(m), scoreText(alloc), met ? "yes" : "NO"));
            }
        }
    }

    private void allocRows() {
        for (String size : new String[] {"65536", "1048576", "16777216"}) {
            String label = Sizes.format(Long.parseLong(size));
            Result<?> ours = score("AllocBench.createPopulateFree", size);
            ratioRow("createPopulateFree vs arenaConfined, " + label, ours,
                    score("AllocBench.arenaConfined", size), 1.0, true);
            ratioRow("createPopulateFree vs nettyPooledZeroed, " + label, ours,
                    score("AllocBench.nettyPooledZeroed", size), 1.0, true);
        }
    }

    private void vmapRows() {
        Result<?> cached = score("VmapBench.vmapCached", "1");
        if (cached != null) {
            rows.add(String.format(Locale.ROOT, "| vmapCached | %s | | <= 100 ns | %s |", scoreText(cached),
                    cached.getScore() <= 100 ? "yes" : "NO"));
        }
        for (String pages : new String[] {"1", "16", "256"}) {
            for (String shape : new String[] {"Contiguous", "Scattered"}) {
                Result<?> r = score("VmapBench.vmapCold" + shape, pages);
                if (r != null) {
                    rows.add(String.format(Locale.ROOT, "| vmapCold%s, %s pages (map + unmap) | %s | | info | |",
                            shape, pages, scoreText(r)));
                }
            }
        }
    }

    private void reclaimRows() {
        bandwidthRow("evict bandwidth vs rawWrite", score("ReclaimBench.evict", null), score("ReclaimBench.rawWrite", null));
        bandwidthRow("swapIn bandwidth vs rawRead", score("ReclaimBench.swapIn", null), score("ReclaimBench.rawRead", null));
    }

    private void shrinkerRows() {
        for (String m : new String[] {"scanPastBusy", "scanPastPinned"}) {
            Result<?> r = score("ShrinkerBench." + m, null);
            if (r != null) {
                rows.add(String.format(Locale.ROOT, "| shrinker %s, per object in the way | %s | | info | |", m,
                        scoreText(r)));
            }
        }
    }

    private void gpuVmRows() {
        ratioRow("GpuVm map + unmap of one page, 100,000 vs 100 mappings", score("GpuVmBench.mapUnmapOnePage", "100000"),
                score("GpuVmBench.mapUnmapOnePage", "100"), 2.0, true);
        infoRatioRow("GpuVm map + unmap, scattered holes, 100,000 vs 100 mappings",
                score("GpuVmBench.mapUnmapScattered", "100000"), score("GpuVmBench.mapUnmapScattered", "100"));
        for (String m : new String[] {"mapUnmapOnePage", "planSplitPerOp"}) {
            Result<?> r = score("GpuVmBench." + m, "100000");
            Result<?> alloc = secondary("GpuVmBench." + m, "100000", "gc.alloc.rate.norm");
            if (r != null) {
                rows.add(String.format(Locale.ROOT, "| GpuVm %s, 100,000 mappings%s | %s, %s | | info | |", m,
                        m.startsWith("plan") ? " (per op of a 17-op split plan)" : "", scoreText(r),
                        alloc == null ? "? B/op" : scoreText(alloc)));
            }
        }
    }

    private void execRows() {
        Result<?> pairs = score("ExecBench.plainPairs", null);
        ratioRow("Exec.lockAll of 64 uncontended + close vs 64 lock/unlock pairs", score("ExecBench.execLockAll", null),
                pairs, 1.5, true);
        infoRatioRow("Exec.lockAll of 64 through lock(BufferObject) vs 64 pairs",
                score("ExecBench.execLockAllObjects", null), pairs);
        infoRatioRow("64 locks held at once, then unlocked, vs 64 pairs", score("ExecBench.plainHoldAll", null), pairs);
        Result<?> alloc = secondary("ExecBench.execLockAll", null, "gc.alloc.rate.norm");
        if (alloc != null) {
            rows.add(String.format(Locale.ROOT, "| Exec.lockAll of 64 + close allocation | %s | | info | |",
                    scoreText(alloc)));
        }
    }

    /** dma-buf: map() of a mapped dynamic attachment (section 5), and eviction per notified attachment (info). */
    private void dmaBufRows() {
        Result<?> map = score("DmaBufBench.mapMapped", null);
        if (map != null) {
            rows.add(String.format(Locale.ROOT, "| dma-buf map() of a mapped dynamic attachment, lock held | %s | |"
                    + " <= 100 ns | %s |", scoreText(map), map.getScore() <= 100 ? "yes" : "NO"));
        }
        Result<?> alloc = secondary("DmaBufBench.mapMapped", null, "gc.alloc.rate.norm");
        if (alloc != null) {
            rows.add(String.format(Locale.ROOT, "| dma-buf mapMapped allocation | %s | | 0 B/op | %s |", scoreText(alloc),
                    alloc.getScore() < 0.5 ? "yes" : "NO"));
        }
        Result<?> bare = score("DmaBufBench.evictUnattached", null);
        Result<?> floor = score("DmaBufBench.evictViewed", null);
        if (bare != null && floor != null) {
            rows.add(String.format(Locale.ROOT, "| dma-buf eviction of an exported page, no attachment: no mapping vs a"
                    + " cached one | %s vs %s | | info | |", scoreText(bare), scoreText(floor)));
        }
        for (String n : new String[] {"1", "16", "64"}) {
            Result<?> evict = score("DmaBufBench.evictMapped", n);
            if (evict != null && floor != null) {
                int k = Integer.parseInt(n);
                double per = (evict.getScore() - floor.getScore()) / k;
                double err = Math.hypot(errorOf(evict), errorOf(floor)) / k;
                rows.add(String.format(Locale.ROOT, "| dma-buf eviction with %s dynamic attachment(s) mapped vs a cached"
                        + " mapping alone | %s vs %s | %.3g ± %.2g %s per notified attachment | info | |", n,
                        scoreText(evict), scoreText(floor), per, err, evict.getScoreUnit()));
            }
        }
    }

    private void schedRows() {
        ratioRow("scheduler: empty job push to finished vs executorTask (1 entity)", score("SchedBench.emptyJob", null),
                score("SchedBench.executorTask", null), 2.0, true);
        Result<?> alloc = secondary("SchedBench.emptyJob", null, "gc.alloc.rate.norm");
        if (alloc != null) {
            rows.add(String.format(Locale.ROOT, "| scheduler: empty job allocation | %s | | info | |", scoreText(alloc)));
        }
        Result<?> thr = score("SchedBench.throughput4Entities", null);
        if (thr != null) {
            rows.add(String.format(Locale.ROOT, "| scheduler: throughput, 4 entities, 64 credits (jobs/s) | %s | | info | |",
                    scoreText(thr)));
        }
    }

    private void footprintRows() {
        for (Footprint.Result r : Footprint.measureAll()) {
            if (r.objects() > 1) {
                rows.add(String.format(Locale.ROOT, "| heap per object: %s | %.1f B | | <= 200 B | %s |",
                        r.shape(), r.perObject(), r.perObject() <= 200 ? "yes" : "NO"));
            }
            if (r.pages() > r.objects()) {
                rows.add(String.format(Locale.ROOT, "| heap per page: %s | %.2f B | | <= 4.5 B | %s |",
                        r.shape(), r.perPage(), r.perPage() <= 4.5 ? "yes" : "NO"));
            }
        }
    }

    /**
     * A row for {@code a / b}; with {@code atMost} the ratio must not exceed the target, else it
     * must reach it.
     */
    private void ratioRow(String check, Result<?> a, Result<?> b, double target, boolean atMost) {
        if (a == null || b == null) {
            rows.add("| " + check + " | not run | | | |");
            return;
        }
        double ratio = a.getScore() / b.getScore();
        double rel = Math.sqrt(sq(relError(a)) + sq(relError(b)));
        boolean met = atMost ? ratio <= target : ratio >= target;
        rows.add(String.format(Locale.ROOT, "| %s | %s vs %s | %.2f ± %.2f | %s %.1f | %s |", check, scoreText(a),
                scoreText(b), ratio, ratio * rel, atMost ? "<=" : ">=", target, met ? "yes" : "NO"));
    }

    /**
     * Same bytes per operation on both sides, so bandwidth ours / raw = time raw / time ours;
     * target at least 0.8.
     */
    private void bandwidthRow(String check, Result<?> ours, Result<?> raw) {
        if (ours == null || raw == null) {
            rows.add("| " + check + " | not run | | | |");
            return;
        }
        double ratio = raw.getScore() / ours.getScore();
        double rel = Math.sqrt(sq(relError(ours)) + sq(relError(raw)));
        rows.add(String.format(Locale.ROOT, "| %s (time ours vs raw) | %s vs %s | %.2f ± %.2f | >= 0.8 | %s |", check,
                scoreText(ours), scoreText(raw), ratio, ratio * rel, ratio >= 0.8 ? "yes" : "NO"));
    }

    /** A ratio shown for context, without a target. */
    private void infoRatioRow(String check, Result<?> a, Result<?> b) {
        if (a == null || b == null) {
            return;
        }
        double ratio = a.getScore() / b.getScore();
        double rel = Math.sqrt(sq(relError(a)) + sq(relError(b)));
        rows.add(String.format(Locale.ROOT, "| %s | %s vs %s | %.2f ± %.2f | info | |", check, scoreText(a),
                scoreText(b), ratio, ratio * rel));
    }

    private static double errorOf(Result<?> r) {
        return Double.isNaN(r.getScoreError()) ? 0 : r.getScoreError();
    }

    private static double relError(Result<?> r) {
        double e = r.getScoreError();
        return Double.isNaN(e) || r.getScore() == 0 ? 0 : e / r.getScore();
    }

    private static double sq(double x) {
        return x * x;
    }

    private static String scoreText(Result<?> r) {
        double e = r.getScoreError();
        return String.format(Locale.ROOT, "%.3g ± %s %s", r.getScore(), Double.isNaN(e) ? "?" : String.format(Locale.ROOT,
                "%.2g", e), r.getScoreUnit());
    }

    private static String shortName(String benchmark) {
        return benchmark.substring(benchmark.indexOf('.') + 1);
    }

    /** @return the primary result of a benchmark ("Class.method"), with the given param value if any */
    private Result<?> score(String benchmark, String paramValue) {
        RunResult r = find(benchmark, paramValue);
        return r == null ? null : r.getPrimaryResult();
    }

    private Result<?> secondary(String benchmark, String paramValue, String label) {
        RunResult r = find(benchmark, paramValue);
        return r == null ? null : r.getSecondaryResults().get(label);
    }

    private RunResult find(String benchmark, String paramValue) {
        for (RunResult r : results) {
            String name = r.getParams().getBenchmark();
            if (!name.endsWith("." + benchmark)) {
                continue;
            }
            if (paramValue == null || r.getParams().getParamsKeys().stream()
                    .anyMatch(k -> paramValue.equals(r.getParams().getParam(k)))) {
                return r;
            }
        }
        return null;
    }
}
