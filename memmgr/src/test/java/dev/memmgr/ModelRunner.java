package dev.memmgr;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.function.Function;
import org.junit.jupiter.api.TestInfo;

/**
 * Runs a model-based test: {@link #tries(int) tries} random sequences of steps on a fresh state
 * each, the invariants checked after every step. A try is determined by one seed: the state is
 * set up from it and its steps are drawn from it in advance (actions chosen by weight, each
 * action drawing its own parameters), independent of the state, so that any subsequence can be
 * replayed. A step that does not apply to the state (an object not created yet) does nothing.
 *
 * <p>On failure the test fails with the seed, the try, the numbered steps up to the failing one,
 * the same steps shrunk (steps dropped while it still fails the same way, bounded) and the command
 * that reruns exactly that try: {@code -Dmemmgr.seed=N} (the try's seed) runs that try alone, or
 * {@code -Dmemmgr.tries=N} further tries from it. Without {@code memmgr.seed} the tries start
 * from a seed fixed per test (deterministic builds); {@code -Dmemmgr.seed=random} draws one.
 *
 * @param <S> the state: the system under test and its model
 */
// Public for the tests of the internal packages; patched into the exported package dev.memmgr
// with the tests, so javac sees JUnit and java.logging types in an "exported" signature: not API.
@SuppressWarnings("exports")
public final class ModelRunner<S> {
    /** System property: the seed of the first try ("random" for a new one each run). */
    public static final String SEED = "memmgr.seed";
    /** System property: the number of tries (default: the test's; 1 when a seed is given). */
    public static final String TRIES = "memmgr.tries";
    /** How many replays shrinking may spend on one failure. */
    private static final int SHRINK_RUNS = 300;

    /** Sets up the state of one try. */
    @FunctionalInterface
    public interface Setup<S> {
        /** @return a fresh state; {@code rnd} is the try's own (for random set-ups) */
        S create(SplittableRandom rnd) throws Exception;
    }

    /** Something done to or checked on the state. */
    @FunctionalInterface
    public interface Op<S> {
        /** Acts on the state. */
        void apply(S state) throws Exception;
    }

    /** One step of a try: what it does, described for the failure report. */
    public record Step<S>(String description, Op<S> op) {
        @Override
        public String toString() {
            return description;
        }
    }

    /** Draws a step of one action. */
    @FunctionalInterface
    public interface Action<S> {
        /** @return a step with parameters drawn from {@code rnd} */
        Step<S> draw(SplittableRandom rnd);
    }

    private record Weighted<S>(int weight, Action<S> action) {
    }

    private final String test;
    private final Setup<S> setUp;
    private final List<Weighted<S>> actions = new ArrayList<>();
    private Op<S> invariant = s -> { };
    private Op<S> tearDown = s -> { };
    private Function<S, Collection<String>> events = s -> List.of();
    private int tries = 100;
    private int minSteps = 1;
    private int maxSteps = 40;
    /** The events of the last passing replay. */
    private Collection<String> lastEvents = List.of();

    /** A runner for the test {@code info} names (used in the rerun command). */
    public ModelRunner(TestInfo info, Setup<S> setUp) {
        String cls = info.getTestClass().map(Class::getSimpleName).orElse("?");
        this.test = cls + info.getTestMethod().map(m -> "#" + m.getName()).orElse("");
        this.setUp = setUp;
    }

    /** Adds an action, chosen with probability weight / (sum of weights) at each step. */
    public ModelRunner<S> action(int weight, Action<S> action) {
        if (weight <= 0) {
            throw new IllegalArgumentException("weight " + weight);
        }
        actions.add(new Weighted<>(weight, action));
        return this;
    }

    /** Adds an action without parameters. */
    public ModelRunner<S> action(int weight, String description, Op<S> op) {
        Step<S> step = new Step<>(description, op);
        return action(weight, rnd -> step);
    }

    /** The check run after set-up and after every step. */
    public ModelRunner<S> invariant(Op<S> check) {
        this.invariant = check;
        return this;
    }

    /** Run at the end of every try, passed or failed (close the manager). */
    public ModelRunner<S> tearDown(Op<S> close) {
        this.tearDown = close;
        return this;
    }

    /** What happened in a try worth counting ({@link Report#runsWith}): coverage of rare paths. */
    public ModelRunner<S> events(Function<S, Collection<String>> of) {
        this.events = of;
        return this;
    }

    /** Number of tries. */
    public ModelRunner<S> tries(int n) {
        this.tries = n;
        return this;
    }

    /** Steps per try: drawn uniformly in [min, max]. */
    public ModelRunner<S> steps(int min, int max) {
        this.minSteps = min;
        this.maxSteps = max;
        return this;
    }

    /**
     * What the tries did.
     *
     * @param tries how many ran
     * @param runsWith per event, the tries in which it happened
     * @param defaultRun whether the tries were the test's own (no seed or tries given)
     */
    public record Report(int tries, Map<String, Integer> runsWith, boolean defaultRun) {
        /**
         * Fails unless each event happened in at least one try: the generator reaches the paths
         * the test is about. Checked on the test's own tries only (a rerun of one seed need not
         * reach them all).
         */
        public void assertCovered(String... required) {
            if (!defaultRun) {
                return;
            }
            List<String> missing = new ArrayList<>();
            for (String e : required) {
                if (!runsWith.containsKey(e)) {
                    missing.add(e);
                }
            }
            if (!missing.isEmpty()) {
                throw new AssertionError(tries + " tries never reached " + missing + "; tries with each event: " + runsWith);
            }
        }
    }

    /** Runs the tries; fails the test on the first failing one. */
    public Report run() {
        String seedProperty = System.getProperty(SEED, "").strip();
        long first;
        int n;
        if (seedProperty.isEmpty()) {
            first = test.hashCode() * 0x9E3779B97F4A7C15L;
            n = tries;
        } else {
            first = seedProperty.equals("random") ? new SplittableRandom().nextLong() : Long.decode(seedProperty);
            n = seedProperty.equals("random") ? tries : 1;
        }
        boolean defaultRun = seedProperty.isEmpty() && System.getProperty(TRIES) == null;
        n = Integer.getInteger(TRIES, n);
        Map<String, Integer> runsWith = new TreeMap<>();
        long seed = first;
        for (int t = 1; t <= n; t++) {
            List<Step<S>> steps = draw(seed);
            Failure f = replay(seed, steps);
            if (f != null) {
                throw report(seed, t, n, steps, f);
            }
            for (String e : lastEvents) {
                runsWith.merge(e, 1, Integer::sum);
            }
            seed = new SplittableRandom(seed).nextLong();
        }
        return new Report(n, runsWith, defaultRun);
    }

    private List<Step<S>> draw(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int total = 0;
        for (Weighted<S> w : actions) {
            total += w.weight();
        }
        int count = minSteps + rnd.nextInt(maxSteps - minSteps + 1);
        List<Step<S>> steps = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int pick = rnd.nextInt(total);
            for (Weighted<S> w : actions) {
                pick -= w.weight();
                if (pick < 0) {
                    steps.add(w.action().draw(rnd));
                    break;
                }
            }
        }
        return steps;
    }

    /** A failed replay: the index of the failing step (-1: set-up or first check) and the error. */
    private record Failure(int step, Throwable error) {
    }

    /** Runs the steps on a fresh state of {@code seed}; @return the failure, or null */
    private Failure replay(long seed, List<Step<S>> steps) {
        S state;
        try {
            state = setUp.create(new SplittableRandom(~seed));
        } catch (Throwable e) {
            return new Failure(-1, e);
        }
        int i = -1;
        Failure failure = null;
        try {
            invariant.apply(state);
            for (i = 0; i < steps.size(); i++) {
                steps.get(i).op().apply(state);
                invariant.apply(state);
            }
            lastEvents = events.apply(state);
        } catch (Throwable e) {
            failure = new Failure(i, e);
        } finally {
            try {
                tearDown.apply(state);
            } catch (Throwable e) {
                if (failure == null) {
                    failure = new Failure(steps.size(), e);
                } else {
                    failure.error().addSuppressed(e);
                }
            }
        }
        return failure;
    }

    /**
     * Drops steps while the try still fails with the same kind of error (delta debugging: chunks
     * of halving size, then single steps), at most {@link #SHRINK_RUNS} replays.
     */
    private List<Step<S>> shrink(long seed, List<Step<S>> failing, Failure original) {
        List<Step<S>> current = new ArrayList<>(failing);
        int runs = 0;
        for (int chunk = Math.max(1, current.size() / 2); chunk >= 1 && runs < SHRINK_RUNS; chunk /= 2) {
            boolean progress = true;
            while (progress && runs < SHRINK_RUNS) {
                progress = false;
                for (int from = 0; from < current.size() && runs < SHRINK_RUNS; ) {
                    List<Step<S>> candidate = new ArrayList<>(current.subList(0, from));
                    candidate.addAll(current.subList(Math.min(current.size(), from + chunk), current.size()));
                    runs++;
                    Failure f = replay(seed, candidate);
                    if (f != null && f.error().getClass() == original.error().getClass() && f.step() >= 0) {
                        current = new ArrayList<>(candidate.subList(0, Math.min(candidate.size(), f.step() + 1)));
                        progress = true;
                    } else {
                        from += chunk;
                    }
                }
            }
        }
        return current;
    }

    private AssertionError report(long seed, int t, int n, List<Step<S>> steps, Failure f) {
        StringBuilder b = new StringBuilder();
        String where = f.step() < 0 ? "in set-up" : f.step() >= steps.size() ? "in tear-down" : "at step " + (f.step() + 1);
        b.append(test).append(" failed ").append(where).append(" of try ").append(t).append('/').append(n)
                .append(", seed ").append(seed).append(": ").append(f.error())
                .append("\nrerun that try: mvn -B -q -pl memmgr test -Dtest='").append(test)
                .append("' -Dsurefire.failIfNoSpecifiedTests=false -D").append(SEED).append('=').append(seed);
        int last = Math.min(f.step(), steps.size() - 1);
        b.append("\nsteps:");
        appendSteps(b, steps.subList(0, last + 1));
        if (f.step() >= 0 && f.step() < steps.size()) {
            List<Step<S>> shrunk = shrink(seed, steps.subList(0, last + 1), f);
            if (shrunk.size() < last + 1) {
                Failure again = replay(seed, shrunk);
                b.append("\nshrunk to ").append(shrunk.size()).append(" step(s), failing with ")
                        .append(again == null ? "(no failure on replay)" : again.error().toString()).append(':');
                appendSteps(b, shrunk);
            }
        }
        return new AssertionError(b.toString(), f.error());
    }

    private static void appendSteps(StringBuilder b, List<? extends Step<?>> steps) {
        for (int i = 0; i < steps.size(); i++) {
            b.append("\n  ").append(i + 1).append(". ").append(steps.get(i));
        }
    }
}
