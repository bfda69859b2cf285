package dev.memmgr.internal.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The ordered structure alone: lookups and walks at the edges, refused changes (nothing moves),
 * 100,000 mappings in address and random order (AVL height bound, every invariant), and random
 * insert/remove sequences against a TreeMap.
 */
class VaTreeTest {
    private static final Object X = "X";

    private static Mapping<Object> node(long va, long range) {
        return new Mapping<>(va, range, X, 0);
    }

    private static List<Long> starts(VaTree<Object> t) {
        List<Long> out = new ArrayList<>();
        for (Mapping<Object> m = t.first(); m != null; m = m.next) {
            out.add(m.va());
        }
        return out;
    }

    /** The AVL bound: height &lt; 1.4405 log2(n + 2) - 0.3277. */
    private static void assertAvlHeight(VaTree<Object> t) {
        double bound = 1.4405 * Math.log(t.size() + 2) / Math.log(2) - 0.3277;
        assertTrue(t.height() < bound, "height " + t.height() + " for " + t.size() + " nodes");
    }

    @Test
    void lookupsAndWalksAtTheEdges() {
        VaTree<Object> t = new VaTree<>();
        assertNull(t.first());
        assertNull(t.find(0));
        assertNull(t.firstOverlapping(Long.MIN_VALUE, Long.MAX_VALUE));
        Mapping<Object> a = node(10, 10);
        Mapping<Object> b = node(20, 5);   // touches a
        Mapping<Object> c = node(40, 10);
        t.insert(c);
        t.insert(a);
        t.insert(b);
        t.checkInvariants();
        assertEquals(List.of(10L, 20L, 40L), starts(t));
        assertSame(a, t.first());
        assertNull(t.floor(9));
        assertSame(a, t.floor(19));
        assertSame(b, t.floor(20));
        assertSame(b, t.floor(39));
        assertSame(c, t.floor(Long.MAX_VALUE));
        assertSame(a, t.find(10));
        assertSame(a, t.find(19));
        assertSame(b, t.find(24));
        assertNull(t.find(25));
        assertNull(t.find(50));
        assertNull(t.find(Long.MIN_VALUE));
        assertSame(a, t.firstOverlapping(0, 11));
        assertNull(t.firstOverlapping(0, 10));
        assertSame(b, t.firstOverlapping(20, 21));
        assertSame(c, t.firstOverlapping(25, 41));
        assertNull(t.firstOverlapping(25, 40));
        assertNull(t.firstOverlapping(50, Long.MAX_VALUE));
        assertSame(c, t.firstOverlapping(49, 50));
        assertNull(t.firstOverlapping(15, 15));
        assertNull(t.firstOverlapping(15, 5));
    }

    @Test
    void refusedChangesMoveNothing() {
        VaTree<Object> t = new VaTree<>();
        Mapping<Object> a = node(10, 10);
        Mapping<Object> b = node(30, 10);
        t.insert(a);
        t.insert(b);
        for (long[] r : new long[][] {{10, 1}, {5, 6}, {19, 1}, {15, 20}, {0, 100}, {39, 5}, {30, 10}}) {
            assertThrows(IllegalStateException.class, () -> t.insert(node(r[0], r[1])), () -> r[0] + "+" + r[1]);
            assertEquals(List.of(10L, 30L), starts(t));
            t.checkInvariants();
        }
        assertThrows(IllegalStateException.class, () -> t.insert(a));        // linked already
        VaTree<Object> other = new VaTree<>();
        Mapping<Object> twin = node(10, 10);
        other.insert(twin);
        assertThrows(IllegalStateException.class, () -> t.remove(twin));    // same key, other tree
        assertThrows(IllegalStateException.class, () -> t.remove(node(10, 10))); // in no tree
        assertEquals(List.of(10L, 30L), starts(t));
        assertEquals(2, t.size());
        t.checkInvariants();
        other.checkInvariants();
        t.insert(node(20, 10));   // exactly the hole
        t.remove(a);
        assertFalse(a.linked());
        assertNull(a.next);
        t.insert(a);              // a removed node may go back in
        assertEquals(List.of(10L, 20L, 30L), starts(t));
        t.checkInvariants();
    }

    @Test
    void insertAfterChecksTheNeighboursItIsGiven() {
        VaTree<Object> t = new VaTree<>();
        Mapping<Object> a = node(10, 10);
        Mapping<Object> c = node(40, 10);
        t.insert(a);
        t.insert(c);
        assertThrows(IllegalStateException.class, () -> t.insertAfter(c, node(25, 5)));   // before c
        assertThrows(IllegalStateException.class, () -> t.insertAfter(null, node(25, 5))); // not first
        assertThrows(IllegalStateException.class, () -> t.insertAfter(a, node(15, 10)));  // overlaps a
        assertThrows(IllegalStateException.class, () -> t.insertAfter(a, node(30, 15)));  // overlaps c
        assertThrows(IllegalStateException.class, () -> t.insertAfter(node(0, 5), node(25, 5))); // p in no tree
        assertEquals(List.of(10L, 40L), starts(t));
        t.checkInvariants();
        Mapping<Object> b = node(20, 20);
        t.insertAfter(a, b);
        t.insertAfter(null, node(0, 10));
        t.insertAfter(c, node(50, 1));
        assertEquals(List.of(0L, 10L, 20L, 40L, 50L), starts(t));
        t.checkInvariants();
    }

    @Test
    void hundredThousandMappingsInOrderAndShuffled() {
        int n = 100_000;
        for (boolean shuffled : new boolean[] {false, true}) {
            VaTree<Object> t = new VaTree<>();
            long[] order = new long[n];
            for (int i = 0; i < n; i++) {
                order[i] = i;
            }
            if (shuffled) {
                shuffle(order, new SplittableRandom(42));
            }
            List<Mapping<Object>> nodes = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                nodes.add(null);
            }
            for (long i : order) {
                Mapping<Object> m = node(i * 2 * 4096, 4096);   // one page, a hole after each
                nodes.set((int) i, m);
                t.insert(m);
            }
            t.checkInvariants();
            assertEquals(n, t.size());
            assertAvlHeight(t);
            for (int i = 0; i < n; i += 997) {
                assertSame(nodes.get(i), t.find(i * 2L * 4096 + 4095));
                assertNull(t.find(i * 2L * 4096 + 4096));
                assertSame(nodes.get(i), t.firstOverlapping(i * 2L * 4096 - 1, i * 2L * 4096 + 1));
            }
            shuffle(order, new SplittableRandom(7));
            for (int k = 0; k < n; k++) {
                t.remove(nodes.get((int) order[k]));
                if (k % 20_000 == 0) {
                    t.checkInvariants();
                    assertAvlHeight(t);
                }
            }
            assertEquals(0, t.size());
            assertNull(t.first());
            t.checkInvariants();
        }
    }

    private static void shuffle(long[] a, SplittableRandom rnd) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            long x = a[i];
            a[i] = a[j];
            a[j] = x;
        }
    }

    @Test
    void randomInsertRemoveAgainstTreeMap() {
        long seed = Long.getLong("memmgr.seed", 0x7EE5L);
        try {
            SplittableRandom rnd = new SplittableRandom(seed);
            for (int run = 0; run < 50; run++) {
                runAgainstTreeMap(rnd);
            }
        } catch (AssertionError | RuntimeException e) {
            throw new AssertionError("seed " + seed + " (rerun with -Dmemmgr.seed=" + seed + ")", e);
        }
    }

    private static void runAgainstTreeMap(SplittableRandom rnd) {
        VaTree<Object> t = new VaTree<>();
        TreeMap<Long, Mapping<Object>> model = new TreeMap<>();
        int slots = 1 + rnd.nextInt(300);
        for (int step = 0; step < 600; step++) {
            long va = rnd.nextInt(slots) * 16L;
            long range = 16L * (1 + rnd.nextInt(3));
            if (rnd.nextInt(3) == 0 && !model.isEmpty()) {
                Mapping<Object> victim = model.ceilingEntry(va) != null ? model.ceilingEntry(va).getValue()
                        : model.firstEntry().getValue();
                t.remove(victim);
                model.remove(victim.va());
            } else {
                Map.Entry<Long, Mapping<Object>> lo = model.floorEntry(va + range - 1);
                boolean overlaps = lo != null && lo.getValue().end() > va;
                Mapping<Object> m = node(va, range);
                if (overlaps) {
                    assertThrows(IllegalStateException.class, () -> t.insert(m));
                } else {
                    t.insert(m);
                    model.put(va, m);
                }
            }
            assertEquals(new ArrayList<>(model.keySet()), starts(t));
            long probe = rnd.nextLong(-16, slots * 16L + 64);
            Map.Entry<Long, Mapping<Object>> f = model.floorEntry(probe);
            assertSame(f == null ? null : f.getValue(), t.floor(probe));
            assertSame(f != null && f.getValue().end() > probe ? f.getValue() : null, t.find(probe));
            t.checkInvariants();
            assertAvlHeight(t);
        }
    }
}
