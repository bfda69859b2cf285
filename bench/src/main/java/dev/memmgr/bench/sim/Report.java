package dev.memmgr.bench.sim;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The simulator's table and the decision rule.
 *
 * <p>The measure is swap traffic: bytes swapped out plus bytes swapped in (population and purge
 * are the same work for every policy up to re-creation of purged objects, and are shown apart).
 * For each trace a policy's ratio is its traffic over the traffic of {@code lru} (memmgr today).
 * It <em>wins</em> a trace at a ratio of at most {@value #WIN} (3% less traffic or better),
 * <em>loses</em> it above {@value #LOSS} (more than 3% more), and ties in between. A policy is
 * adopted as the default if it wins more than half the traces and loses none; if several
 * qualify, the one with the lowest geometric mean ratio.
 */
public final class Report {
    /** A ratio to LRU at or below this is a win. */
    public static final double WIN = 0.97;
    /** A ratio to LRU above this is a loss that rules the policy out. */
    public static final double LOSS = 1.03;
    /** The policy every other is measured against. */
    public static final String BASELINE = "lru";

    private static final double MIB = 1024.0 * 1024.0;

    private Report() {
    }

    /** One policy's standing under the rule. */
    public record Standing(String policy, int wins, int ties, int losses, double worst, double geoMean,
            boolean qualifies) {
    }

    /** @return a policy's traffic over the baseline's on the same trace */
    public static double ratio(Simulator.Result r, Simulator.Result base) {
        if (base.movedBytes() == 0) {
            return r.movedBytes() == 0 ? 1 : Double.POSITIVE_INFINITY;
        }
        return (double) r.movedBytes() / base.movedBytes();
    }

    /** @return results grouped by trace, in order of appearance */
    static Map<String, List<Simulator.Result>> byTrace(List<Simulator.Result> results) {
        Map<String, List<Simulator.Result>> m = new LinkedHashMap<>();
        for (Simulator.Result r : results) {
            m.computeIfAbsent(r.trace(), k -> new ArrayList<>()).add(r);
        }
        return m;
    }

    private static Simulator.Result baseline(List<Simulator.Result> rows) {
        for (Simulator.Result r : rows) {
            if (r.policy().equals(BASELINE)) {
                return r;
            }
        }
        throw new IllegalArgumentException("no " + BASELINE + " result for trace " + rows.get(0).trace());
    }

    /** @return every non-baseline policy's standing, in order of appearance */
    public static List<Standing> standings(List<Simulator.Result> results) {
        Map<String, List<Simulator.Result>> traces = byTrace(results);
        Map<String, double[]> ratios = new LinkedHashMap<>();
        int t = 0;
        for (List<Simulator.Result> rows : traces.values()) {
            Simulator.Result base = baseline(rows);
            for (Simulator.Result r : rows) {
                if (!r.policy().equals(BASELINE)) {
                    ratios.computeIfAbsent(r.policy(), k -> new double[traces.size()])[t] = ratio(r, base);
                }
            }
            t++;
        }
        List<Standing> out = new ArrayList<>();
        for (Map.Entry<String, double[]> e : ratios.entrySet()) {
            int wins = 0;
            int losses = 0;
            double worst = 0;
            double logSum = 0;
            for (double x : e.getValue()) {
                wins += x <= WIN ? 1 : 0;
                losses += x > LOSS ? 1 : 0;
                worst = Math.max(worst, x);
                logSum += Math.log(x);
            }
            int n = e.getValue().length;
            out.add(new Standing(e.getKey(), wins, n - wins - losses, losses, worst, Math.exp(logSum / n),
                    wins * 2 > n && losses == 0));
        }
        return out;
    }

    /** @return the adopted policy by the rule, or null when none qualifies */
    public static String winner(List<Simulator.Result> results) {
        Standing best = null;
        for (Standing s : standings(results)) {
            if (s.qualifies() && (best == null || s.geoMean() < best.geoMean())) {
                best = s;
            }
        }
        return best == null ? null : best.policy();
    }

    /** @return the full table as Markdown */
    public static String table(List<Simulator.Result> results) {
        StringBuilder b = new StringBuilder();
        b.append("| trace | policy | swapped out MiB | swapped in MiB | moved MiB | moved vs lru "
                + "| populated MiB | purged MiB | hit ratio (bytes) |\n");
        b.append("|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for (List<Simulator.Result> rows : byTrace(results).values()) {
            Simulator.Result base = baseline(rows);
            for (Simulator.Result r : rows) {
                b.append(String.format(Locale.ROOT, "| %s | %s | %.0f | %.0f | %.0f | %.3f | %.0f | %.0f | %.4f |%s\n",
                        r.trace(), r.policy(), mib(r.swapOutPages()), mib(r.swapInPages()),
                        r.movedBytes() / MIB, ratio(r, base), mib(r.populatePages()), mib(r.purgePages()),
                        r.hitRatio(), r.failed() == 0 ? "" : " " + r.failed() + " uses failed (out of memory)"));
            }
        }
        return b.toString();
    }

    /** @return the standings and the verdict as Markdown */
    public static String verdict(List<Simulator.Result> results) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "Rule: win at moved/lru <= %.2f, loss above %.2f; adopt with wins on "
                + "more than half the traces and no loss.%n%n", WIN, LOSS));
        b.append("| policy | wins | ties | losses | worst ratio | geometric mean | qualifies |\n");
        b.append("|---|---:|---:|---:|---:|---:|---|\n");
        for (Standing s : standings(results)) {
            b.append(String.format(Locale.ROOT, "| %s | %d | %d | %d | %.3f | %.3f | %s |%n", s.policy(), s.wins(),
                    s.ties(), s.losses(), s.worst(), s.geoMean(), s.qualifies() ? "yes" : "no"));
        }
        String w = winner(results);
        b.append('\n').append(w == null ? "Verdict: no policy qualifies; lru stays the default."
                : "Verdict: " + w + " qualifies and would become the default; lru stays selectable.").append('\n');
        return b.toString();
    }

    /**
     * Summarises several runs of the same traces (other seeds or capacities): per policy and
     * trace the range and median of the ratio to LRU, and in how many runs the policy qualified
     * and was the one adopted.
     */
    public static String sweep(List<List<Simulator.Result>> runs) {
        List<String> traces = new ArrayList<>(byTrace(runs.get(0)).keySet());
        Map<String, List<List<Double>>> ratios = new LinkedHashMap<>();
        Map<String, int[]> counts = new LinkedHashMap<>(); // {qualified, adopted}
        for (List<Simulator.Result> run : runs) {
            Map<String, List<Simulator.Result>> m = byTrace(run);
            for (int t = 0; t < traces.size(); t++) {
                List<Simulator.Result> rows = m.get(traces.get(t));
                Simulator.Result base = baseline(rows);
                for (Simulator.Result r : rows) {
                    if (r.policy().equals(BASELINE)) {
                        continue;
                    }
                    List<List<Double>> perTrace = ratios.computeIfAbsent(r.policy(), k -> {
                        List<List<Double>> l = new ArrayList<>();
                        for (int i = 0; i < traces.size(); i++) {
                            l.add(new ArrayList<>());
                        }
                        return l;
                    });
                    perTrace.get(t).add(ratio(r, base));
                }
            }
            String w = winner(run);
            for (Standing st : standings(run)) {
                int[] c = counts.computeIfAbsent(st.policy(), k -> new int[2]);
                c[0] += st.qualifies() ? 1 : 0;
                c[1] += st.policy().equals(w) ? 1 : 0;
            }
        }
        StringBuilder b = new StringBuilder("| policy |");
        for (String t : traces) {
            b.append(' ').append(t).append(" |");
        }
        b.append(" qualifies | adopted |\n|---|");
        b.append("---|".repeat(traces.size())).append("---:|---:|\n");
        for (Map.Entry<String, List<List<Double>>> e : ratios.entrySet()) {
            b.append("| ").append(e.getKey()).append(" |");
            for (List<Double> xs : e.getValue()) {
                List<Double> sorted = new ArrayList<>(xs);
                sorted.sort(null);
                b.append(String.format(Locale.ROOT, " %.3f-%.3f (%.3f) |", sorted.get(0),
                        sorted.get(sorted.size() - 1), sorted.get(sorted.size() / 2)));
            }
            int[] c = counts.get(e.getKey());
            b.append(String.format(Locale.ROOT, " %d of %d | %d of %d |%n", c[0], runs.size(), c[1], runs.size()));
        }
        long failed = runs.stream().flatMap(List::stream).mapToLong(Simulator.Result::failed).sum();
        b.append("\nCells: lowest-highest (median) moved/lru over the runs.\n");
        if (failed > 0) {
            b.append("WARNING: ").append(failed).append(" uses failed (out of memory) in these runs.\n");
        }
        return b.toString();
    }

    /** @return one line per policy: its ratio on each trace and whether it qualifies */
    public static String ratios(List<Simulator.Result> results) {
        Map<String, StringBuilder> lines = new LinkedHashMap<>();
        for (List<Simulator.Result> rows : byTrace(results).values()) {
            Simulator.Result base = baseline(rows);
            for (Simulator.Result r : rows) {
                if (!r.policy().equals(BASELINE)) {
                    lines.computeIfAbsent(r.policy(), k -> new StringBuilder(String.format("  %-13s", k)))
                            .append(String.format(Locale.ROOT, " %s %.3f", r.trace(), ratio(r, base)));
                }
            }
        }
        StringBuilder b = new StringBuilder();
        for (Standing s : standings(results)) {
            b.append(lines.get(s.policy())).append(s.qualifies() ? "  qualifies" : "").append('\n');
        }
        return b.toString();
    }

    private static double mib(long pages) {
        return pages * Simulator.PAGE_SIZE / MIB;
    }
}
