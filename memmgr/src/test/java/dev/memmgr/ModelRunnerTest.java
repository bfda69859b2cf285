package dev.memmgr;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memmgr.ModelRunner.Report;
import dev.memmgr.ModelRunner.Step;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The model-test runner itself: deterministic tries, the failure report (seed, try, numbered
 * steps, shrunk steps, rerun command), the rerun of one seed through {@code -Dmemmgr.seed}, and
 * the coverage check.
 */
@ExtendWith(MemmgrExtension.class)
class ModelRunnerTest {
    /** A counter model: "inc" adds one, "noise" does nothing; it fails once the count reaches 3. */
    private static final class Counter {
        int value;
        final List<String> trace = new ArrayList<>();
    }

    @AfterEach
    void clearProperties() {
        System.clearProperty(ModelRunner.SEED);
        System.clearProperty(ModelRunner.TRIES);
    }

    private static ModelRunner<Counter> runner(TestInfo info, List<List<String>> traces) {
        return new ModelRunner<Counter>(info, rnd -> new Counter())
                .tries(50)
                .steps(6, 12)
                .action(3, rnd -> {
                    int n = rnd.nextInt(1000);
                    return new Step<>("noise(" + n + ")", c -> c.trace.add("noise " + n));
                })
                .action(1, "inc", c -> {
                    c.value++;
                    c.trace.add("inc");
                })
                .invariant(c -> assertTrue(c.value < 3, "count reached " + c.value))
                .tearDown(c -> traces.add(List.copyOf(c.trace)));
    }

    @Test
    void aFailureReportsSeedTryStepsAShrunkCaseAndTheRerunCommand(TestInfo info) {
        AssertionError e = assertThrows(AssertionError.class, () -> runner(info, new ArrayList<>()).run());
        String m = e.getMessage();
        assertTrue(m.startsWith("ModelRunnerTest#aFailureReportsSeedTryStepsAShrunkCaseAndTheRerunCommand failed at step "), m);
        assertTrue(m.contains(" of try "), m);
        assertTrue(m.contains("\nsteps:\n  1. "), m);
        assertTrue(m.contains("-Dtest='ModelRunnerTest#aFailureReportsSeedTryStepsAShrunkCaseAndTheRerunCommand'"), m);
        // the smallest failing case: three increments, the noise dropped
        assertTrue(m.contains("noise"), "the failing try had noise to drop: " + m);
        String minimal = m.contains("\nshrunk to ") ? m.substring(m.indexOf("\nshrunk to ")) : m.substring(m.indexOf("\nsteps:"));
        assertEquals(List.of("1. inc", "2. inc", "3. inc"),
                minimal.lines().skip(2).map(String::strip).toList(), "the minimal case: " + m);
        assertTrue(e.getCause().getMessage().startsWith("count reached 3"), "the model's failure is the cause");
    }

    @Test
    void theSeedPropertyRerunsExactlyTheFailingTry(TestInfo info) {
        List<List<String>> first = new ArrayList<>();
        AssertionError e = assertThrows(AssertionError.class, () -> runner(info, first).run());
        Matcher seed = Pattern.compile(" seed (-?\\d+): ").matcher(e.getMessage());
        assertTrue(seed.find(), e.getMessage());
        Matcher step = Pattern.compile("failed at step (\\d+) of try (\\d+)/").matcher(e.getMessage());
        assertTrue(step.find(), e.getMessage());
        List<String> failingTrace = first.get(Integer.parseInt(step.group(2)) - 1);

        System.setProperty(ModelRunner.SEED, seed.group(1));
        List<List<String>> again = new ArrayList<>();
        AssertionError rerun = assertThrows(AssertionError.class, () -> runner(info, again).run());
        assertTrue(rerun.getMessage().contains("failed at step " + step.group(1) + " of try 1/1, seed " + seed.group(1) + ": "),
                rerun.getMessage());
        assertEquals(failingTrace, again.get(0), "the same steps, in the same order");
    }

    @Test
    void triesAreTheSameOnEveryRun(TestInfo info) {
        List<List<String>> a = new ArrayList<>();
        List<List<String>> b = new ArrayList<>();
        assertThrows(AssertionError.class, () -> runner(info, a).run());
        assertThrows(AssertionError.class, () -> runner(info, b).run());
        assertEquals(a, b);
    }

    @Test
    void coverageFailsForAnEventNoTryReached(TestInfo info) {
        Report r = new ModelRunner<Counter>(info, rnd -> new Counter())
                .tries(20)
                .action(1, "inc", c -> c.value++)
                .events(c -> c.value > 5 ? Set.of("more than five") : Set.of())
                .run();
        r.assertCovered("more than five");
        AssertionError e = assertThrows(AssertionError.class, () -> r.assertCovered("never"));
        assertTrue(e.getMessage().contains("never reached [never]"), e.getMessage());
    }
}
