package dev.memmgr.bench.sim;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The simulator's command line ({@code bin/memmgr simulate}): generates the traces, replays each
 * against every policy and prints the traces, the table and the verdict as Markdown.
 *
 * <pre>
 * bin/memmgr simulate [--seeds 1] [--capacities 8192] [--uses 1000000] [--all-held]
 *                     [--traces streaming,loop,scan-mix,mixed,zipf-sizes]
 *                     [--policies lru,clock,w-tinylfu,w-tinylfu-1%,arc,arc-buffered,car,s3-fifo]
 * </pre>
 * One seed and one capacity print the traces, the full table and the verdict; several print the
 * verdict of each run and a summary of the ratios over all runs.
 * Also available: {@code arc-buffered-drop50} (half the hit offers dropped).
 */
public final class Simulate {
    /** The policies of the report's table. */
    public static final List<String> DEFAULT_POLICIES = List.of("lru", "clock", "w-tinylfu", "w-tinylfu-1%", "arc",
            "arc-buffered", "car", "s3-fifo");

    private Simulate() {
    }

    /** @return the policies by name, in the report's order */
    public static Map<String, Policy.Factory> policies() {
        Map<String, Policy.Factory> m = new LinkedHashMap<>();
        m.put("lru", c -> new LruPolicy());
        m.put("clock", c -> new LruPolicy(true));
        m.put("w-tinylfu", c -> new WTinyLfuPolicy(c, true));
        m.put("w-tinylfu-1%", c -> new WTinyLfuPolicy(c, false));
        m.put("arc", ArcPolicy::new);
        m.put("arc-buffered", c -> new BufferedArcPolicy(c, 0, 1));
        m.put("car", CarPolicy::new);
        m.put("s3-fifo", S3FifoPolicy::new);
        m.put("arc-buffered-drop50", c -> new BufferedArcPolicy(c, 0.5, 1));
        return m;
    }

    /** Runs every policy on every trace. */
    public static List<Simulator.Result> run(List<Trace> traces, List<String> policyNames, int capacity) {
        Map<String, Policy.Factory> all = policies();
        Simulator sim = new Simulator(capacity);
        List<Simulator.Result> results = new ArrayList<>();
        for (Trace t : traces) {
            for (String p : policyNames) {
                Policy.Factory f = all.get(p);
                if (f == null) {
                    throw new IllegalArgumentException("no policy '" + p + "' (" + String.join(", ", all.keySet()) + ")");
                }
                results.add(sim.run(t, f.create(capacity)));
            }
        }
        return results;
    }

    public static void main(String[] args) {
        List<Long> seeds = List.of(1L);
        List<Integer> capacities = List.of(8192);
        int uses = Traces.USES;
        boolean allHeld = false;
        List<String> traceNames = Traces.NAMES;
        List<String> policyNames = DEFAULT_POLICIES;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-h") || a.equals("--help")) {
                System.out.println("usage: simulate [--seeds 1,2] [--capacities 8192,16384] [--uses N] [--all-held]"
                        + " [--traces a,b] [--policies a,b]");
                System.out.println("traces: " + String.join(",", traceNames));
                System.out.println("policies: " + String.join(",", policies().keySet()));
                return;
            }
            if (a.equals("--all-held")) {
                allHeld = true;
                continue;
            }
            if (i + 1 >= args.length) {
                fail("missing value after " + a);
            }
            String v = args[++i];
            try {
                switch (a) {
                    case "--seed", "--seeds" -> seeds = Arrays.stream(v.split(",")).map(Long::parseLong).toList();
                    case "--capacity", "--capacities" ->
                        capacities = Arrays.stream(v.split(",")).map(Integer::parseInt).toList();
                    case "--uses" -> uses = Integer.parseInt(v);
                    case "--traces" -> traceNames = List.of(v.split(","));
                    case "--policies" -> policyNames = List.of(v.split(","));
                    default -> fail("unknown option " + a + " (try --help)");
                }
            } catch (NumberFormatException e) {
                fail("not a number after " + a + ": " + v);
            }
        }
        if (capacities.stream().anyMatch(c -> c < 64) || uses <= 0) {
            fail("capacities must be at least 64 pages and --uses positive");
        }
        if (!policyNames.contains(Report.BASELINE)) {
            fail("--policies must include " + Report.BASELINE + ", the baseline");
        }
        long start = System.nanoTime();
        try {
            List<List<Simulator.Result>> runs = new ArrayList<>();
            for (int capacity : capacities) {
                for (long seed : seeds) {
                    List<Trace> traces = new ArrayList<>();
                    for (String name : traceNames) {
                        Trace t = Traces.byName(name, seed, capacity, uses);
                        traces.add(allHeld ? t.withAllHeld() : t);
                    }
                    List<Simulator.Result> results = run(traces, policyNames, capacity);
                    runs.add(results);
                    System.out.printf("Capacity %d pages (%d MiB of 4 KiB pages), seed %d%s.%n", capacity,
                            capacity * Simulator.PAGE_SIZE >> 20, seed, allHeld ? ", all objects held" : "");
                    if (seeds.size() * capacities.size() == 1) {
                        System.out.println();
                        for (Trace t : traces) {
                            System.out.printf("- %s: %s%n", t.name(), t.description());
                        }
                        System.out.println();
                        System.out.print(Report.table(results));
                        System.out.println();
                        System.out.print(Report.verdict(results));
                    } else {
                        String w = Report.winner(results);
                        System.out.print(Report.ratios(results));
                        System.out.println("  adopted by the rule: " + (w == null ? "none" : w));
                    }
                }
            }
            if (runs.size() > 1) {
                System.out.println();
                System.out.print(Report.sweep(runs));
            }
        } catch (IllegalArgumentException e) {
            fail(e.getMessage());
        }
        System.out.printf("%n(%.1f s)%n", (System.nanoTime() - start) / 1e9);
    }

    private static void fail(String message) {
        System.err.println("simulate: " + message);
        System.exit(2);
    }
}
