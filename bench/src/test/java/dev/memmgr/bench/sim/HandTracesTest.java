package dev.memmgr.bench.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * One tiny trace per policy whose evictions were worked out by hand, step by step (the comments
 * give the lists after each step; heads on the left). Objects are named A, B, C... in the order
 * they are declared; every object has one page unless said otherwise.
 */
class HandTracesTest {
    private static final int A = 0;
    private static final int B = 1;
    private static final int C = 2;
    private static final int D = 3;
    private static final int E = 4;
    private static final int F = 5;
    private static final int G = 6;
    private static final int J = 9;
    private static final int K = 10;
    private static final int L = 11;
    private static final int M = 12;

    private static List<String> evictions(Policy p, int capacity, Trace t) {
        List<String> log = new ArrayList<>();
        Simulator.Result r = new Simulator(capacity).run(t, p, id -> log.add(String.valueOf((char) ('A' + id))));
        assertEquals(0, r.failed());
        return log;
    }

    private static Trace.Builder objects(int n, int pages, boolean held) {
        Trace.Builder b = new Trace.Builder("hand");
        for (int i = 0; i < n; i++) {
            b.object(pages, held);
        }
        return b;
    }

    private static Trace accesses(Trace.Builder b, int... ids) {
        for (int id : ids) {
            b.access(id);
        }
        return b.build();
    }

    @Test
    void memmgrLruEvictsInactiveFirstAndGivesSecondChances() {
        Trace.Builder b = new Trace.Builder("hand");
        b.object(1, true); // A
        b.object(1, true); // B
        b.object(1, false); // C: a getPages/putPages per use, INACTIVE between uses
        b.object(1, true); // D
        b.object(1, true); // E
        // A B C: ACTIVE [A B], INACTIVE [C]; A: bit on A
        // D: INACTIVE first: C evicted; ACTIVE [A* B D]
        // E: A has its bit: cleared, to the tail [B D A]; B evicted; [D A E]
        // C (swap-in): D evicted (A's bit was cleared)
        Trace t = accesses(b, A, B, C, A, D, E, C);
        assertEquals(List.of("C", "B", "D"), evictions(new LruPolicy(), 3, t));
        Simulator.Result r = new Simulator(3).run(t, new LruPolicy());
        assertEquals(1, r.swapInPages());
        assertEquals(3, r.swapOutPages());
        assertEquals(5, r.populatePages());
        assertEquals(1, r.hitPages());
    }

    @Test
    void clockIsTheSameShrinkerOnOneList() {
        Trace.Builder b = new Trace.Builder("hand");
        b.object(1, true);
        b.object(1, true);
        b.object(1, false);
        b.object(1, true);
        b.object(1, true);
        // A B C: [A B C]; A: bit. D: A second chance [B C A], B evicted; [C A D]
        // E: C evicted; [A D E]. C: A evicted (its bit was cleared)
        assertEquals(List.of("B", "C", "A"), evictions(new LruPolicy(true), 3, accesses(b, A, B, C, A, D, E, C)));
    }

    /** A B C D A E B F A G D B, capacity 4: exercises T1/T2, both ghost lists and both adaptations. */
    private static Trace arcTrace() {
        return accesses(objects(7, 1, true), A, B, C, D, A, E, B, F, A, G, D, B);
    }

    @Test
    void arc() {
        // A B C D: T1 [A B C D]. A: T2 [A]. E: T1 3 > p 0: B to B1; T1 [C D E]
        // B (B1 ghost): p = 1; T1 3 > 1: C to B1; T2 [A B]. F: D to B1; T1 [E F]. A: T2 [B A]
        // G: E to B1 [C D E]; T1 [F G]; trim T1 + B1 <= 4: C forgotten
        // D (B1 ghost): p = 2; T1 2 not > 2: T2's B to B2; T2 [A D]
        // B (B2 ghost): p = 1; T1 2 > 1: F to B1; T2 [A D B]
        ArcPolicy arc = new ArcPolicy(4);
        assertEquals(List.of("B", "C", "D", "E", "B", "F"), evictions(arc, 4, arcTrace()));
        assertEquals(1.0, arc.target());
    }

    @Test
    void bufferedArcDecidesLikeArcWhenHitsAreBufferedOrDropped() {
        // Buffered: each hit is applied at the next drain (before the next eviction), the same
        // moves. All dropped: flagged heads get CAR's treatment (to the T2 tail), again the same.
        assertEquals(List.of("B", "C", "D", "E", "B", "F"), evictions(new BufferedArcPolicy(4, 0, 1), 4, arcTrace()));
        assertEquals(List.of("B", "C", "D", "E", "B", "F"), evictions(new BufferedArcPolicy(4, 1, 1), 4, arcTrace()));
    }

    @Test
    void bufferedArcOrdersT2ByFirstHitPerInterval() {
        // A B: T1 [A B]. Hits A B A. ARC: T2 [A], [A B], [B A]; D evicts T2's head B.
        // Buffered: A and B are offered on their first hit only (the second A finds its bit set);
        // the drain before D's eviction makes T2 [A B]; D evicts A.
        Trace t = accesses(objects(4, 1, true), A, B, A, B, A, D);
        assertEquals(List.of("B"), evictions(new ArcPolicy(2), 2, t));
        assertEquals(List.of("A"), evictions(new BufferedArcPolicy(2, 0, 1), 2, t));
    }

    @Test
    void car() {
        // A B C D: T1 [A B C D]. A: bit.
        // E: T1 4 >= max(1, p 0): A flagged, cleared, to T2 [A]; B evicted to B1; T1 [C D E]
        // B (B1 ghost): p = 1; C evicted to B1; T2 [A B]. A: bit. F: D evicted; T1 [E F]
        // D (B1 ghost): p = 2; T1 2 >= 2: E evicted; T2 [A* B D]; T1 [F]
        // G: T1 1 < 2: T2's A flagged, cleared, to the tail [B D A]; B evicted to B2
        CarPolicy car = new CarPolicy(4);
        assertEquals(List.of("B", "C", "D", "E", "B"),
                evictions(car, 4, accesses(objects(7, 1, true), A, B, C, D, A, E, B, A, F, D, G)));
        assertEquals(2.0, car.target());
    }

    @Test
    void s3Fifo() {
        // capacity 10, S's share 1 page. A..J: S [A..J]; A..J again: every counter 1.
        // K: S drains into M (all used), M's A has counter 0 (reset on the move): evicted; S [K]
        // B: counter 1. L: S's K unused: evicted to the ghost queue; S [L]
        // K (ghost): L evicted to the ghost queue; K enters M [B..J K]
        // M: S empty: M's B (counter 1) drops to 0 and goes to the tail; C evicted
        Trace.Builder b = objects(13, 1, true);
        for (int round = 0; round < 2; round++) {
            for (int id = A; id <= J; id++) {
                b.access(id);
            }
        }
        Trace t = accesses(b, K, B, L, K, M);
        assertEquals(List.of("A", "K", "L", "C"), evictions(new S3FifoPolicy(10), 10, t));
    }

    @Test
    void wTinyLfu() {
        // capacity 100 pages, window 1 page, objects of 10 pages; the newest object stays in the
        // window and is the candidate at the next eviction.
        // A..J: window [J], probation [A..I]. A: promoted, protected [A] (frequency 2).
        // K: candidate J (1) vs victim B (1): a tie goes against the candidate: J evicted
        // B: protected [A B]. L: candidate K (1) vs C (1): K evicted
        // J (swap-in, frequency 2): candidate L (1) vs C (1): L evicted
        // M: candidate J (2) vs C (1): J admitted, C evicted
        Trace.Builder b = objects(13, 10, true);
        for (int id = A; id <= J; id++) {
            b.access(id);
        }
        Trace t = accesses(b, A, K, B, L, J, M);
        assertEquals(List.of("J", "K", "L", "C"), evictions(new WTinyLfuPolicy(100, false), 100, t));
    }
}
