package dev.memmgr.internal.vm;

import static dev.memmgr.internal.vm.VmTestSupport.PAGE;
import static dev.memmgr.internal.vm.VmTestSupport.assertState;
import static dev.memmgr.internal.vm.VmTestSupport.removed;
import static dev.memmgr.internal.vm.VmTestSupport.spans;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.memmgr.internal.vm.VmTestSupport.Obj;
import dev.memmgr.internal.vm.VmTestSupport.S;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Random map/unmap sequences over four objects in a 48-page space against a per-page model of
 * the address space: each page maps (object, object page) or nothing, and is marked where a
 * mapping starts (mappings are never merged, so their boundaries are part of the state). After
 * every step: the tree's mappings are exactly the model's; the plan changed nothing; its ops
 * name the mappings that overlapped the request, in address order, with at most one MAP, last;
 * REMAP pieces are exactly the parts outside the request and show the pages they showed; keep
 * holds exactly when the request shows the same page at the shared addresses; applying the ops
 * to the previous mapping set gives the new one. Stale plans and bad requests change nothing.
 *
 * <p>Seeded: a failure names its seed; rerun it alone with {@code -Dmemmgr.seed=N}.
 */
class VaSpaceModelTest {
    private static final int PAGES = 48;
    private static final long START = 8 * PAGE;
    private static final long SIZE = PAGES * PAGE;
    private static final int RUNS = 150;
    private static final int STEPS = 250;

    @Test
    void randomMapUnmapSequencesFollowThePageModel() {
        Long fixed = Long.getLong("memmgr.seed");
        if (fixed != null) {
            run(fixed);
            return;
        }
        SplittableRandom seeds = new SplittableRandom(0x6B0D5EEDL);
        for (int i = 0; i < RUNS; i++) {
            run(seeds.nextLong());
        }
    }

    /**
     * A sparse-texture sized space: 100,000 one-page mappings by plan and apply, a map across
     * 1,000 of them, then an unmap of everything (100,000 - 1,000 + 1 UNMAPs in address order).
     */
    @Test
    void hundredThousandMappingsThroughPlans() {
        int n = 100_000;
        Obj o = new Obj("T", 2 * PAGE);
        VaSpace<Obj> big = new VaSpace<>(0, 2L * n * PAGE, PAGE);
        for (int i = 0; i < n; i++) {
            Plan<Obj> p = big.planMap(2L * i * PAGE, PAGE, o, (i & 1) * PAGE, o.size);
            assertEquals(1, p.ops().size());
            big.apply(p);
        }
        big.checkInvariants();
        assertTrue(big.height() <= 25, "height " + big.height());
        Plan<Obj> across = big.planMap(2000L * PAGE, 2000L * PAGE, new Obj("U", 2000L * PAGE), 0, 2000L * PAGE);
        assertEquals(1001, across.ops().size());
        big.apply(across);
        assertEquals(n - 1000 + 1, big.count());
        Plan<Obj> all = big.planUnmap(0, big.size());
        assertEquals(n - 1000 + 1, all.ops().size());
        long lastVa = -1;
        for (Op<Obj> op : all.ops()) {
            Op.Unmap<Obj> u = op instanceof Op.Unmap<Obj> x ? x : fail("not an UNMAP: " + op);
            assertTrue(u.va().va() > lastVa);
            lastVa = u.va().va();
        }
        big.apply(all);
        assertEquals(0, big.count());
        big.checkInvariants();
    }

    private static void run(long seed) {
        try {
            new World(new SplittableRandom(seed)).run();
        } catch (AssertionError | RuntimeException e) {
            throw new AssertionError("seed " + seed + " (rerun with -Dmemmgr.seed=" + seed + ")", e);
        }
    }

    private static final class World {
        final SplittableRandom rnd;
        final VaSpace<Obj> space = new VaSpace<>(START, SIZE, PAGE);
        final Obj[] objects = {
            new Obj("A", 4 * PAGE), new Obj("B", 16 * PAGE), new Obj("C", 32 * PAGE), new Obj("D", 64 * PAGE),
        };
        /** Per page of the space: the object shown, or null. */
        final Obj[] obj = new Obj[PAGES];
        /** Per page: the object page shown (0 when unmapped). */
        final long[] objPage = new long[PAGES];
        /** Per page: whether a mapping starts here. */
        final boolean[] starts = new boolean[PAGES];

        World(SplittableRandom rnd) {
            this.rnd = rnd;
        }

        void run() {
            for (int step = 0; step < STEPS; step++) {
                int kind = rnd.nextInt(20);
                if (kind < 11) {
                    randomMap();
                } else if (kind < 17) {
                    randomUnmap();
                } else if (kind < 19) {
                    Plan<Obj> old = rnd.nextBoolean() ? space.planUnmap(START, SIZE)
                            : space.planMap(START, PAGE, objects[0], 0, objects[0].size);
                    if (rnd.nextBoolean()) {
                        randomMap();
                    } else {
                        randomUnmap();
                    }
                    List<S> now = spans(space);
                    long generation = space.generation();
                    assertThrows(IllegalStateException.class, () -> space.apply(old));
                    assertState(space, now, generation);
                } else {
                    badRequest();
                }
            }
        }

        // ---- requests -----------------------------------------------------------------------

        /** A random [first, end) of pages: arbitrary, or lined up with an existing mapping. */
        int[] randomPages() {
            List<Mapping<Obj>> all = space.mappings();
            if (!all.isEmpty() && rnd.nextInt(3) == 0) {
                Mapping<Obj> m = all.get(rnd.nextInt(all.size()));
                int first = page(m.va());
                int end = page(m.end());
                return switch (rnd.nextInt(3)) {
                    case 0 -> new int[] {first, end};
                    case 1 -> new int[] {first, first + 1 + rnd.nextInt(PAGES - first)};
                    default -> new int[] {rnd.nextInt(end), end};
                };
            }
            if (rnd.nextInt(25) == 0) {
                return new int[] {0, PAGES};
            }
            int first = rnd.nextInt(PAGES);
            int max = Math.min(PAGES - first, rnd.nextBoolean() ? 4 : 16);
            return new int[] {first, first + 1 + rnd.nextInt(max)};
        }

        void randomMap() {
            int[] r = randomPages();
            Obj o = objects[rnd.nextInt(objects.length)];
            int objPages = (int) (o.size / PAGE);
            int first = r[0];
            int end = Math.min(r[1], first + objPages);
            long off = rnd.nextInt(objPages - (end - first) + 1);
            if (rnd.nextBoolean()) {
                // often continue what is shown at some page of the request (the keep case)
                int p = first + rnd.nextInt(end - first);
                if (obj[p] != null) {
                    long cont = objPage[p] - (p - first);
                    long contPages = obj[p].size / PAGE;
                    if (cont >= 0 && cont + (end - first) <= contPages) {
                        o = obj[p];
                        off = cont;
                    }
                }
            }
            long va = START + first * PAGE;
            long range = (end - first) * PAGE;
            long offset = off * PAGE;
            step(va, range, o, offset);
        }

        void randomUnmap() {
            int[] r = randomPages();
            step(START + r[0] * PAGE, (r[1] - r[0]) * PAGE, null, 0);
        }

        void badRequest() {
            List<S> now = spans(space);
            long generation = space.generation();
            Obj o = objects[rnd.nextInt(objects.length)];
            long va = START + rnd.nextInt(PAGES) * PAGE;
            switch (rnd.nextInt(6)) {
                case 0 -> assertThrows(IllegalArgumentException.class,
                        () -> space.planMap(va + 1 + rnd.nextInt((int) PAGE - 1), PAGE, o, 0, o.size));
                case 1 -> assertThrows(IllegalArgumentException.class,
                        () -> space.planMap(va, SIZE + START - va + PAGE, o, 0, o.size));
                case 2 -> assertThrows(IndexOutOfBoundsException.class,
                        () -> space.planMap(START, PAGE, o, o.size, o.size));
                case 3 -> assertThrows(NullPointerException.class, () -> space.planMap(va, PAGE, null, 0, 0));
                case 4 -> assertThrows(IllegalArgumentException.class, () -> space.planUnmap(va, 0));
                default -> assertThrows(IllegalArgumentException.class, () -> space.planUnmap(START - PAGE, 2 * PAGE));
            }
            assertState(space, now, generation);
        }

        // ---- one checked step -----------------------------------------------------------------

        /**
         * Plans (map when {@code o} is not null, else unmap), checks the plan against the
         * model, applies it, updates the model and checks the tree against it.
         */
        void step(long va, long range, Obj o, long offset) {
            boolean map = o != null;
            long end = va + range;
            List<Mapping<Obj>> beforeNodes = space.mappings();
            List<S> before = spans(space);
            long generation = space.generation();

            Plan<Obj> plan = map ? space.planMap(va, range, o, offset, o.size) : space.planUnmap(va, range);
            assertState(space, before, generation);   // planning is pure

            List<Mapping<Obj>> overlapping = new ArrayList<>();
            for (Mapping<Obj> m : beforeNodes) {
                if (m.va() < end && m.end() > va) {
                    overlapping.add(m);
                }
            }
            List<Op<Obj>> ops = plan.ops();
            assertEquals(overlapping.size() + (map ? 1 : 0), ops.size(), "op count");
            for (int i = 0; i < overlapping.size(); i++) {
                checkCut(ops.get(i), overlapping.get(i), va, end, o, offset);
            }
            if (map) {
                Op.Map<Obj> last = ops.getLast() instanceof Op.Map<Obj> x ? x : fail("MAP is not last: " + ops);
                assertTrue(last.va().sameAs(va, range, o, offset), "MAP " + last.va());
            }

            List<S> expected = applyToValues(before, ops);
            space.apply(plan);
            assertState(space, expected, generation + 1);

            int first = page(va);
            int last = page(end);
            for (int p = first; p < last; p++) {
                obj[p] = o;
                objPage[p] = map ? offset / PAGE + (p - first) : 0;
                starts[p] = map && p == first;
            }
            if (last < PAGES && obj[last] != null) {
                starts[last] = true;
            }
            checkModel();
        }

        /** One op for an old mapping the request overlaps: the right kind, pieces and keep. */
        void checkCut(Op<Obj> op, Mapping<Obj> old, long va, long end, Obj o, long offset) {
            assertSame(old, removed(op), "ops name the overlapping mappings in address order");
            S prev = old.va() < va ? new S(old.va(), va - old.va(), old.obj(), old.offset()) : null;
            S next = old.end() > end ? new S(end, old.end() - end, old.obj(), old.offset() + (end - old.va())) : null;
            boolean keep;
            if (prev == null && next == null) {
                keep = op instanceof Op.Unmap<Obj> x ? x.keep() : fail("a mapping inside the request gives UNMAP: " + op);
            } else {
                Op.Remap<Obj> r = op instanceof Op.Remap<Obj> x ? x : fail("a cut mapping gives REMAP: " + op);
                assertEquals(prev, S.of(r.prev()), "prev piece");
                assertEquals(next, S.of(r.next()), "next piece");
                assertShowsWhatWasShown(r.prev());
                assertShowsWhatWasShown(r.next());
                keep = r.unmap().keep();
            }
            // keep: at the first address both share, the request shows the page shown before
            int shared = page(Math.max(old.va(), va));
            boolean samePage = o != null && obj[shared] == o && objPage[shared] == offset / PAGE + (shared - page(va));
            assertEquals(samePage, keep, "keep of " + old);
        }

        /** A kept piece shows, page by page, what the model showed there before the step. */
        void assertShowsWhatWasShown(Mapping<Obj> piece) {
            if (piece == null) {
                return;
            }
            for (int p = page(piece.va()); p < page(piece.end()); p++) {
                assertSame(obj[p], piece.obj());
                assertEquals(objPage[p], piece.offset() / PAGE + (p - page(piece.va())), "piece " + piece);
            }
        }

        /** The ops applied to plain values: remove each old mapping, add pieces and the MAP. */
        static List<S> applyToValues(List<S> before, List<Op<Obj>> ops) {
            List<S> out = new ArrayList<>(before);
            for (Op<Obj> op : ops) {
                switch (op) {
                    case Op.Map<Obj> m -> out.add(S.of(m.va()));
                    case Op.Unmap<Obj> u -> assertTrue(out.remove(S.of(u.va())));
                    case Op.Remap<Obj> r -> {
                        assertTrue(out.remove(S.of(r.unmap().va())));
                        if (r.prev() != null) {
                            out.add(S.of(r.prev()));
                        }
                        if (r.next() != null) {
                            out.add(S.of(r.next()));
                        }
                    }
                }
            }
            out.sort(Comparator.comparingLong(S::va));
            for (int i = 1; i < out.size(); i++) {
                assertTrue(out.get(i - 1).end() <= out.get(i).va(), "ops leave overlapping mappings");
            }
            return out;
        }

        /** The tree's mappings, expanded to pages, equal the model (boundaries included). */
        void checkModel() {
            Obj[] tObj = new Obj[PAGES];
            long[] tPage = new long[PAGES];
            boolean[] tStarts = new boolean[PAGES];
            for (Mapping<Obj> m : space.mappings()) {
                assertTrue(m.offset() >= 0 && m.offset() + m.range() <= m.obj().size, "inside its object: " + m);
                int first = page(m.va());
                tStarts[first] = true;
                for (int p = first; p < page(m.end()); p++) {
                    assertNull(tObj[p], "overlap at page " + p);
                    tObj[p] = m.obj();
                    tPage[p] = m.offset() / PAGE + (p - first);
                }
            }
            assertArrayEquals(obj, tObj, "objects per page");
            assertArrayEquals(objPage, tPage, "object pages per page");
            assertArrayEquals(starts, tStarts, "mapping boundaries");
            long probe = START - PAGE + rnd.nextLong(SIZE + 2 * PAGE);
            Mapping<Obj> found = space.find(probe);
            int p = (int) Math.floorDiv(probe - START, PAGE);
            boolean inside = p >= 0 && p < PAGES;
            assertSame(inside ? obj[p] : null, found == null ? null : found.obj());
            if (found != null) {
                assertEquals(objPage[p], (found.offset() + (probe - found.va())) / PAGE);
            }
        }

        static int page(long address) {
            return (int) ((address - START) / PAGE);
        }
    }
}
