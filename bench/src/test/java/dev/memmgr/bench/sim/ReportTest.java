package dev.memmgr.bench.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The decision rule, and determinism of the whole table. */
class ReportTest {
    private static Simulator.Result result(String trace, String policy, long moved) {
        return new Simulator.Result(trace, policy, 1, 1000, 0, 0, moved, 0, 0, 1, 0);
    }

    /** Three traces; lru moves 1000 pages on each; the others' traffic as given. */
    private static List<Simulator.Result> results(String policy, long... moved) {
        List<Simulator.Result> out = new ArrayList<>();
        for (int t = 0; t < moved.length; t++) {
            out.add(result("t" + t, "lru", 1000));
            out.add(result("t" + t, policy, moved[t]));
        }
        return out;
    }

    @Test
    void winsTiesAndLossesAtTheStatedThresholds() {
        Report.Standing s = Report.standings(results("x", 970, 1030, 1031)).get(0);
        assertEquals(1, s.wins()); // 0.97: a win
        assertEquals(1, s.ties()); // 1.03: still a tie
        assertEquals(1, s.losses()); // 1.031: a loss
        assertEquals(1.031, s.worst(), 1e-12);
    }

    @Test
    void adoptionNeedsWinsOnMostTracesAndNoLoss() {
        assertEquals("x", Report.winner(results("x", 500, 900, 1030)));
        assertNull(Report.winner(results("x", 500, 900, 1031)), "one loss beyond 3% rules it out");
        assertNull(Report.winner(results("x", 500, 980, 1000)), "one win of three is not most");
    }

    @Test
    void amongQualifiersTheLowestGeometricMeanIsAdopted() {
        List<Simulator.Result> r = new ArrayList<>();
        for (int t = 0; t < 3; t++) {
            r.add(result("t" + t, "lru", 1000));
            r.add(result("t" + t, "a", 900));
            r.add(result("t" + t, "b", t == 0 ? 100 : 960));
        }
        assertEquals("b", Report.winner(r));
        assertTrue(Report.verdict(r).contains("Verdict: b qualifies"));
    }

    @Test
    void zeroBaselineTrafficIsATieOnlyForZero() {
        assertEquals(1.0, Report.ratio(result("t", "x", 0), result("t", "lru", 0)));
        assertEquals(Double.POSITIVE_INFINITY, Report.ratio(result("t", "x", 1), result("t", "lru", 0)));
    }

    @Test
    void aTableWithoutTheBaselineIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> Report.winner(List.of(result("t", "x", 1))));
    }

    private static String table(long seed) {
        List<Trace> traces = new ArrayList<>();
        for (String name : Traces.NAMES) {
            traces.add(Traces.byName(name, seed, 1024, 30_000));
        }
        List<Simulator.Result> r = Simulate.run(traces, new ArrayList<>(Simulate.policies().keySet()), 1024);
        return Report.table(r) + Report.verdict(r);
    }

    @Test
    void sameSeedSameTable() {
        String first = table(42);
        assertEquals(first, table(42));
        assertNotEquals(first, table(43), "the seed must matter");
    }
}
