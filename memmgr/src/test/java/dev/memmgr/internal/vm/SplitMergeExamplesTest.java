package dev.memmgr.internal.vm;

import static dev.memmgr.internal.vm.VmTestSupport.PAGE;
import static dev.memmgr.internal.vm.VmTestSupport.assertRemovesNodesOf;
import static dev.memmgr.internal.vm.VmTestSupport.assertState;
import static dev.memmgr.internal.vm.VmTestSupport.populate;
import static dev.memmgr.internal.vm.VmTestSupport.spans;
import static dev.memmgr.internal.vm.VmTestSupport.view;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.memmgr.internal.vm.VmTestSupport.E;
import dev.memmgr.internal.vm.VmTestSupport.Obj;
import dev.memmgr.internal.vm.VmTestSupport.S;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The worked examples of the kernel's DOC "Split and Merge" (drm_gpuvm.c) as its code behaves
 * (the table of reference/KERNEL-SEMANTICS.md), the two examples above that table, and unmap
 * examples; each as a plan (ops, nothing changed) and as an apply (the mappings after).
 */
class SplitMergeExamplesTest {
    /** One unit of the examples: 4 pages. */
    private static final long U = 4 * PAGE;
    private static final long N = 5 * U;
    private static final long M = 11 * U;
    private static final Obj A = new Obj("A", 32 * U);
    private static final Obj B = new Obj("B", 32 * U);

    /** A mapping in units: (start, range, object, offset). */
    private static S t(long start, long range, Obj obj, long offset) {
        return new S(start * U, range * U, obj, offset);
    }

    private static E map(S s) {
        return new E.Map(s);
    }

    private static E unmap(S s, boolean keep) {
        return new E.Unmap(s, keep);
    }

    private static E remap(S old, boolean keep, S prev, S next) {
        return new E.Remap(old, keep, prev, next);
    }

    private static VaSpace<Obj> space() {
        return new VaSpace<>(0, 64 * U, PAGE);
    }

    record Example(int number, List<S> before, S request, List<E> ops, List<S> after) {
        @Override
        public String toString() {
            return "example " + number;
        }
    }

    static Stream<Example> kernelTable() {
        S a1 = t(0, 1, A, N);
        S a2 = t(0, 2, A, N);
        S a3 = t(0, 3, A, N);
        S a1at1 = t(1, 1, A, N + U);
        return Stream.of(
                // 1: identical request: UNMAP K, MAP (the doc text promises no callback; the code
                // gives these two)
                new Example(1, List.of(a1), a1, List.of(unmap(a1, true), map(a1)), List.of(a1)),
                new Example(2, List.of(a1), t(0, 1, A, M),
                        List.of(unmap(a1, false), map(t(0, 1, A, M))), List.of(t(0, 1, A, M))),
                new Example(3, List.of(a1), t(0, 1, B, N),
                        List.of(unmap(a1, false), map(t(0, 1, B, N))), List.of(t(0, 1, B, N))),
                new Example(4, List.of(a1), a2, List.of(unmap(a1, true), map(a2)), List.of(a2)),
                new Example(5, List.of(a2), t(0, 1, B, N),
                        List.of(remap(a2, false, null, t(1, 1, A, N + U)), map(t(0, 1, B, N))),
                        List.of(t(0, 1, B, N), t(1, 1, A, N + U))),
                new Example(6, List.of(a2), a1,
                        List.of(remap(a2, true, null, t(1, 1, A, N + U)), map(a1)),
                        List.of(a1, t(1, 1, A, N + U))),
                new Example(7, List.of(a2), t(1, 1, B, M),
                        List.of(remap(a2, false, a1, null), map(t(1, 1, B, M))),
                        List.of(a1, t(1, 1, B, M))),
                new Example(8, List.of(a2), a1at1,
                        List.of(remap(a2, true, a1, null), map(a1at1)),
                        List.of(a1, a1at1)),
                new Example(9, List.of(a2), t(1, 2, B, M),
                        List.of(remap(a2, false, a1, null), map(t(1, 2, B, M))),
                        List.of(a1, t(1, 2, B, M))),
                new Example(10, List.of(a2), t(1, 2, A, N + U),
                        List.of(remap(a2, true, a1, null), map(t(1, 2, A, N + U))),
                        List.of(a1, t(1, 2, A, N + U))),
                new Example(11, List.of(a3), t(1, 1, B, M),
                        List.of(remap(a3, false, a1, t(2, 1, A, N + 2 * U)), map(t(1, 1, B, M))),
                        List.of(a1, t(1, 1, B, M), t(2, 1, A, N + 2 * U))),
                new Example(12, List.of(a3), a1at1,
                        List.of(remap(a3, true, a1, t(2, 1, A, N + 2 * U)), map(a1at1)),
                        List.of(a1, a1at1, t(2, 1, A, N + 2 * U))),
                new Example(13, List.of(a1at1), a2, List.of(unmap(a1at1, true), map(a2)), List.of(a2)),
                new Example(14, List.of(a1at1), a3, List.of(unmap(a1at1, true), map(a3)), List.of(a3)),
                // 15: the remaining piece has offset n+1 (the doc text says n+2)
                new Example(15, List.of(t(1, 2, A, N)), t(0, 2, B, M),
                        List.of(remap(t(1, 2, A, N), false, null, t(2, 1, A, N + U)), map(t(0, 2, B, M))),
                        List.of(t(0, 2, B, M), t(2, 1, A, N + U))));
    }

    @ParameterizedTest
    @MethodSource("kernelTable")
    void kernelExample(Example ex) {
        check(ex.before(), ex.request(), ex.ops(), ex.after());
    }

    /** Plans, checks the ops and that nothing changed, applies, checks the mappings after. */
    private static void check(List<S> before, S request, List<E> ops, List<S> after) {
        VaSpace<Obj> space = space();
        populate(space, before.toArray(S[]::new));
        long generation = space.generation();
        Plan<Obj> plan = space.planMap(request.va(), request.range(), request.obj(), request.offset(),
                request.obj().size);
        assertEquals(ops, view(plan));
        assertState(space, before, generation);
        assertRemovesNodesOf(space, plan);
        space.apply(plan);
        assertState(space, after, generation + 1);
    }

    /** KERNEL-SEMANTICS.md: a request inside one mapping cuts it in two (K = one unit). */
    @Test
    void requestInsideOneMapping() {
        Obj x = new Obj("X", 8 * U);
        Obj y = new Obj("Y", 80 * U);
        S a = t(0, 4, x, 0);
        S req = t(1, 1, y, 64 * U);
        check(List.of(a), req,
                List.of(remap(a, false, t(0, 1, x, 0), t(2, 2, x, 2 * U)), map(req)),
                List.of(t(0, 1, x, 0), req, t(2, 2, x, 2 * U)));
    }

    /** KERNEL-SEMANTICS.md: a request over three mappings: REMAP(prev), UNMAP, REMAP(next), MAP. */
    @Test
    void requestAcrossThreeMappings() {
        Obj x = new Obj("X", 8 * U);
        Obj z = new Obj("Z", 8 * U);
        Obj w = new Obj("W", 8 * U);
        Obj v = new Obj("V", 8 * U);
        S a = t(0, 2, x, 0);
        S b = t(2, 1, z, 0);
        S c = t(3, 3, w, U);
        S req = t(1, 3, v, 0);
        check(List.of(a, b, c), req,
                List.of(remap(a, false, t(0, 1, x, 0), null), unmap(b, false),
                        remap(c, false, null, t(4, 2, w, 2 * U)), map(req)),
                List.of(t(0, 1, x, 0), req, t(4, 2, w, 2 * U)));
    }

    /** Neighbours that continue each other in the same object stay two mappings. */
    @Test
    void adjacentMappingsAreNeverMerged() {
        check(List.of(t(0, 1, A, N)), t(1, 1, A, N + U),
                List.of(map(t(1, 1, A, N + U))),
                List.of(t(0, 1, A, N), t(1, 1, A, N + U)));
    }

    /** Keep is per old mapping: same object at the request's distance, whatever the cut. */
    @Test
    void keepIsDecidedPerMapping() {
        S first = t(0, 2, A, N);            // continues the request: keep
        S second = t(2, 1, B, N + 2 * U);   // other object: no keep
        S third = t(3, 2, A, N);            // same object, other distance: no keep
        S req = t(1, 3, A, N + U);
        check(List.of(first, second, third), req,
                List.of(remap(first, true, t(0, 1, A, N), null), unmap(second, false),
                        remap(third, false, null, t(4, 1, A, N + U)), map(req)),
                List.of(t(0, 1, A, N), req, t(4, 1, A, N + U)));
    }

    // ---- unmap -------------------------------------------------------------------------------

    private static void checkUnmap(List<S> before, long va, long range, List<E> ops, List<S> after) {
        VaSpace<Obj> space = space();
        populate(space, before.toArray(S[]::new));
        long generation = space.generation();
        Plan<Obj> plan = space.planUnmap(va * U, range * U);
        assertEquals(ops, view(plan));
        assertState(space, before, generation);
        assertRemovesNodesOf(space, plan);
        space.apply(plan);
        assertState(space, after, generation + 1);
    }

    private static final S MID = t(2, 4, A, N);

    @Test
    void unmapCutsTheStartOfAMapping() {
        checkUnmap(List.of(MID), 0, 4, List.of(remap(MID, false, null, t(4, 2, A, N + 2 * U))),
                List.of(t(4, 2, A, N + 2 * U)));
    }

    @Test
    void unmapCutsTheEndOfAMapping() {
        checkUnmap(List.of(MID), 4, 4, List.of(remap(MID, false, t(2, 2, A, N), null)), List.of(t(2, 2, A, N)));
    }

    @Test
    void unmapInsideAMappingCutsBothEnds() {
        checkUnmap(List.of(MID), 3, 2, List.of(remap(MID, false, t(2, 1, A, N), t(5, 1, A, N + 3 * U))),
                List.of(t(2, 1, A, N), t(5, 1, A, N + 3 * U)));
    }

    @Test
    void unmapOfAWholeMappingIsUnmapWithoutKeep() {
        checkUnmap(List.of(MID), 2, 4, List.of(unmap(MID, false)), List.of());
        checkUnmap(List.of(MID), 1, 6, List.of(unmap(MID, false)), List.of());
    }

    @Test
    void unmapSpanningSeveralMappings() {
        S a = t(0, 2, A, N);
        S b = t(2, 1, B, 0);
        S c = t(4, 2, B, U);   // after a hole at [3, 4)
        S d = t(6, 2, A, 0);
        S e = t(9, 1, A, 0);   // untouched
        checkUnmap(List.of(a, b, c, d, e), 1, 6,
                List.of(remap(a, false, t(0, 1, A, N), null), unmap(b, false), unmap(c, false),
                        remap(d, false, null, t(7, 1, A, U))),
                List.of(t(0, 1, A, N), t(7, 1, A, U), e));
    }

    @Test
    void unmapOfAnEmptyRangeGivesNoOps() {
        S a = t(0, 2, A, N);
        S b = t(4, 2, B, 0);
        checkUnmap(List.of(a, b), 2, 2, List.of(), List.of(a, b));
        checkUnmap(List.of(), 0, 64, List.of(), List.of());
    }

    @Test
    void unmapOfTheWholeSpaceUnmapsEverything() {
        VaSpace<Obj> space = space();
        populate(space, t(0, 2, A, N), t(2, 1, B, 0), t(63, 1, A, 0));
        space.apply(space.planUnmap(0, space.size()));
        assertEquals(List.of(), spans(space));
        space.checkInvariants();
    }
}
