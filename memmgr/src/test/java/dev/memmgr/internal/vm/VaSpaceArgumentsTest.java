package dev.memmgr.internal.vm;

import static dev.memmgr.internal.vm.VmTestSupport.PAGE;
import static dev.memmgr.internal.vm.VmTestSupport.assertState;
import static dev.memmgr.internal.vm.VmTestSupport.populate;
import static dev.memmgr.internal.vm.VmTestSupport.spans;
import static dev.memmgr.internal.vm.VmTestSupport.view;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memmgr.internal.vm.VmTestSupport.E;
import dev.memmgr.internal.vm.VmTestSupport.Obj;
import dev.memmgr.internal.vm.VmTestSupport.S;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Bad requests (each refused with the documented exception, in the documented order, nothing
 * changed), queries with any value, the constructor's rules, and stamped plans (stale or foreign
 * plans refused, nothing changed).
 */
class VaSpaceArgumentsTest {
    /** The space [16, 80) pages; an object of 8 pages. */
    private static final long START = 16 * PAGE;
    private static final long SIZE = 64 * PAGE;
    private static final long END = START + SIZE;
    private static final Obj OBJ = new Obj("obj", 8 * PAGE);

    private VaSpace<Obj> space;
    private List<S> before;
    private long generation;

    @BeforeEach
    void setUp() {
        space = new VaSpace<>(START, SIZE, PAGE);
        populate(space, new S(START, 2 * PAGE, OBJ, 0), new S(START + 4 * PAGE, 4 * PAGE, OBJ, 4 * PAGE),
                new S(END - PAGE, PAGE, OBJ, 7 * PAGE));
        before = spans(space);
        generation = space.generation();
    }

    private <T extends Throwable> void refused(Class<T> type, Executable call) {
        assertThrows(type, call);
        assertState(space, before, generation);
    }

    private void badMap(Class<? extends Throwable> type, long va, long range, Obj obj, long offset) {
        refused(type, () -> space.planMap(va, range, obj, offset, obj == null ? 8 * PAGE : obj.size));
    }

    private void badUnmap(long va, long range) {
        refused(IllegalArgumentException.class, () -> space.planUnmap(va, range));
    }

    @Test
    void nullObjectIsRefusedFirst() {
        badMap(NullPointerException.class, START, PAGE, null, 0);
        badMap(NullPointerException.class, START + 1, 0, null, -1);   // before alignment and bounds
        badMap(NullPointerException.class, 0, PAGE, null, 100 * PAGE); // before bounds and object range
    }

    @Test
    void misalignedArgumentsAreIllegal() {
        badMap(IllegalArgumentException.class, START + 1, PAGE, OBJ, 0);
        badMap(IllegalArgumentException.class, START, PAGE + 1, OBJ, 0);
        badMap(IllegalArgumentException.class, START, PAGE, OBJ, 1);
        badMap(IllegalArgumentException.class, START, PAGE, OBJ, -1);
        badMap(IllegalArgumentException.class, START + PAGE / 2, PAGE / 2, OBJ, 0);
        badUnmap(START + 1, PAGE);
        badUnmap(START, PAGE - 1);
    }

    @Test
    void emptyOrNegativeRangesAreIllegal() {
        badMap(IllegalArgumentException.class, START, 0, OBJ, 0);
        badMap(IllegalArgumentException.class, START + PAGE, -PAGE, OBJ, 0);
        badMap(IllegalArgumentException.class, START, Long.MIN_VALUE, OBJ, 0);
        badUnmap(START, 0);
        badUnmap(START + PAGE, -PAGE);
        badUnmap(START, Long.MIN_VALUE);
    }

    @Test
    void rangesOutsideTheSpaceAreIllegal() {
        long farPage = Long.MAX_VALUE & -PAGE;
        for (long[] r : new long[][] {
            {START - PAGE, PAGE},         // below the start
            {START - PAGE, 2 * PAGE},     // straddles the start
            {0, PAGE},
            {-PAGE, PAGE},
            {Long.MIN_VALUE, PAGE},
            {END, PAGE},                  // at the end
            {END - PAGE, 2 * PAGE},       // straddles the end
            {START, SIZE + PAGE},         // longer than the space
            {farPage, PAGE},              // far above
            {END - PAGE, farPage},        // va + range overflows
            {farPage, farPage},
        }) {
            badMap(IllegalArgumentException.class, r[0], r[1], OBJ, 0);
            badUnmap(r[0], r[1]);
        }
    }

    @Test
    void objectRangesOutsideTheObjectAreOutOfBounds() {
        badMap(IndexOutOfBoundsException.class, START, PAGE, OBJ, -PAGE);
        badMap(IndexOutOfBoundsException.class, START, PAGE, OBJ, Long.MIN_VALUE);
        badMap(IndexOutOfBoundsException.class, START, PAGE, OBJ, 8 * PAGE);          // starts at the end
        badMap(IndexOutOfBoundsException.class, START, 2 * PAGE, OBJ, 7 * PAGE);      // runs past the end
        badMap(IndexOutOfBoundsException.class, START, 9 * PAGE, OBJ, 0);             // longer than the object
        badMap(IndexOutOfBoundsException.class, START, 2 * PAGE, OBJ, Long.MAX_VALUE & -PAGE); // offset + range overflows
        Obj empty = new Obj("empty", 0);
        badMap(IndexOutOfBoundsException.class, START, PAGE, empty, 0);
    }

    @Test
    void alignmentAndBoundsComeBeforeTheObjectRange() {
        badMap(IllegalArgumentException.class, START, PAGE, OBJ, -1);                // misaligned and negative
        badMap(IllegalArgumentException.class, START, PAGE, OBJ, 8 * PAGE + 1);      // misaligned and past the end
        badMap(IllegalArgumentException.class, END, 2 * PAGE, OBJ, 100 * PAGE);      // outside the space and the object
        badMap(IllegalArgumentException.class, START, 0, OBJ, 100 * PAGE);
    }

    @Test
    void goodRequestsAtTheEdgesAreAccepted() {
        Plan<Obj> whole = space.planUnmap(START, SIZE);
        assertEquals(3, whole.ops().size());
        Plan<Obj> last = space.planMap(END - 8 * PAGE, 8 * PAGE, OBJ, 0, OBJ.size);
        assertEquals(new E.Map(new S(END - 8 * PAGE, 8 * PAGE, OBJ, 0)), view(last).getLast());
        assertState(space, before, generation);
    }

    @Test
    void queriesAcceptAnyValue() {
        Mapping<Obj> first = space.mappings().getFirst();
        assertSame(first, space.find(START));
        assertSame(first, space.find(START + 2 * PAGE - 1));
        assertNull(space.find(START + 2 * PAGE));
        assertNull(space.find(START - 1));
        assertNull(space.find(Long.MIN_VALUE));
        assertNull(space.find(Long.MAX_VALUE));
        assertNull(space.find(-1));
        assertSame(space.mappings().getLast(), space.find(END - 1));
        assertNull(space.find(END));

        assertEquals(space.mappings(), space.mappings(0, Long.MAX_VALUE));
        assertEquals(space.mappings(), space.mappings(5, Long.MAX_VALUE));            // end saturates
        assertEquals(List.of(), space.mappings(Long.MIN_VALUE + 1, Long.MAX_VALUE));  // [MIN + 1, 0)
        assertEquals(List.of(), space.mappings(Long.MIN_VALUE, Long.MAX_VALUE));      // [MIN, -1)
        assertEquals(List.of(), space.mappings(START, 0));
        assertEquals(List.of(), space.mappings(START, -PAGE));
        assertEquals(List.of(), space.mappings(Long.MAX_VALUE, Long.MAX_VALUE));
        assertEquals(List.of(first), space.mappings(START + 1, 1));                   // unaligned
        assertEquals(List.of(first), space.mappings(START - 5, 6));
        assertEquals(List.of(), space.mappings(START - 5, 5));
        assertEquals(space.mappings().subList(0, 2), space.mappings(START + PAGE, 4 * PAGE));
        assertState(space, before, generation);
    }

    @Test
    void constructorRules() {
        for (long page : new long[] {0, -PAGE, 3000, PAGE + 1}) {
            assertThrows(IllegalArgumentException.class, () -> new VaSpace<Obj>(0, SIZE, page));
        }
        long[][] bad = {
            {-PAGE, SIZE}, {1, SIZE}, {0, 0}, {0, -PAGE}, {0, PAGE + 1},
            {Long.MAX_VALUE & -PAGE, PAGE}, {PAGE, Long.MAX_VALUE & -PAGE},
        };
        for (long[] b : bad) {
            assertThrows(IllegalArgumentException.class, () -> new VaSpace<Obj>(b[0], b[1], PAGE), () -> b[0] + "+" + b[1]);
        }
        VaSpace<Obj> top = new VaSpace<>(PAGE, (Long.MAX_VALUE & -PAGE) - PAGE, PAGE);
        long lastPage = top.start() + top.size() - PAGE;
        top.apply(top.planMap(lastPage, PAGE, OBJ, 0, OBJ.size));
        assertEquals(lastPage, top.find(Long.MAX_VALUE - PAGE).va());
        top.checkInvariants();
        VaSpace<Obj> small = new VaSpace<>(0, 16, 16);   // any power-of-two page size
        assertEquals(1, small.planMap(0, 16, OBJ, 16, OBJ.size).ops().size());
    }

    // ---- stamped plans -----------------------------------------------------------------------

    @Test
    void aStalePlanIsRefusedAndChangesNothing() {
        Plan<Obj> first = space.planMap(START, PAGE, OBJ, 0, OBJ.size);
        Plan<Obj> second = space.planUnmap(START, SIZE);
        assertTrue(first.isCurrent());
        space.apply(second);
        assertFalse(first.isCurrent());
        List<S> now = spans(space);
        assertEquals(List.of(), now);
        assertThrows(IllegalStateException.class, () -> space.apply(first));
        assertState(space, now, generation + 1);
    }

    @Test
    void aPlanAppliesOnce() {
        Plan<Obj> plan = space.planMap(START + 2 * PAGE, PAGE, OBJ, 0, OBJ.size);
        space.apply(plan);
        List<S> now = spans(space);
        assertThrows(IllegalStateException.class, () -> space.apply(plan));
        assertState(space, now, generation + 1);
    }

    @Test
    void anEmptyPlanStillAdvancesTheGeneration() {
        Plan<Obj> map = space.planMap(START + 2 * PAGE, PAGE, OBJ, 0, OBJ.size);
        Plan<Obj> nothing = space.planUnmap(START + 2 * PAGE, 2 * PAGE);
        assertEquals(List.of(), nothing.ops());
        space.apply(nothing);
        assertThrows(IllegalStateException.class, () -> space.apply(map));
        assertState(space, before, generation + 1);
    }

    @Test
    void aPlanOfAnotherSpaceIsRefused() {
        VaSpace<Obj> other = new VaSpace<>(START, SIZE, PAGE);
        while (other.generation() < space.generation()) {
            other.apply(other.planUnmap(START, SIZE));
        }
        Plan<Obj> foreign = other.planMap(START + 2 * PAGE, PAGE, OBJ, 0, OBJ.size);
        assertEquals(space.generation(), foreign.generation());   // the stamp names the space too
        refused(IllegalArgumentException.class, () -> space.apply(foreign));
        refused(NullPointerException.class, () -> space.apply(null));
        other.apply(foreign);
        assertEquals(1, other.count());
    }

    @Test
    void planOpsAreUnmodifiable() {
        Plan<Obj> plan = space.planMap(START, PAGE, OBJ, 0, OBJ.size);
        assertThrows(UnsupportedOperationException.class, () -> plan.ops().clear());
        assertEquals(generation, plan.generation());
    }
}
