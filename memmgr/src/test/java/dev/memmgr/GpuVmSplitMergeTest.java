package dev.memmgr;

import static dev.memmgr.GpuVmTestSupport.map;
import static dev.memmgr.GpuVmTestSupport.of;
import static dev.memmgr.GpuVmTestSupport.pg;
import static dev.memmgr.GpuVmTestSupport.remap;
import static dev.memmgr.GpuVmTestSupport.unmap;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memmgr.GpuVmTestSupport.VmState;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The split rules of DESIGN.md 4.3 through the public API, with real buffer objects: the 15
 * worked examples of the kernel's "Split and Merge" documentation as its code behaves (the table
 * of reference/KERNEL-SEMANTICS.md, with its two corrections: example 1 gives UNMAP(keep), MAP and
 * the piece left by example 15 has offset n+1), the two examples of KERNEL-SEMANTICS.md, and
 * unmap. Each request as a plan ({@code planMap}/{@code planUnmap}: the ops, nothing changed) and
 * as an apply ({@code map}/{@code unmap}: the same ops, then {@code mappings()}, the links and
 * the references). The VM starts at a non-zero address, so every address is start-relative.
 */
@ExtendWith(MemmgrExtension.class)
class GpuVmSplitMergeTest {
    /** One unit of the examples: 4 pages. */
    private static final long U = pg(4);
    /** The offsets n and m of the examples, in bytes. */
    private static final long N = 5 * U;
    private static final long M = 11 * U;
    /** Where the VM starts. */
    private static final long BASE = 16 * U;

    private Client client;
    private GpuVm vm;

    @BeforeEach
    void setUp(Fixture f) {
        client = f.client(f.manager(), "split");
        vm = client.createVm("split", BASE, 64 * U);
    }

    /** A mapping in units, by object name: (start, range, object, offset). */
    record T(long start, long range, String obj, long offset) {
        GpuVa resolve(Map<String, BufferObject> objs) {
            return new GpuVa(BASE + start * U, range * U, objs.get(obj), offset);
        }

        @Override
        public String toString() {
            return "(" + start + ", " + range + ", " + obj + ", " + offset / U + "u)";
        }
    }

    /** An expected op on mappings in units; {@code kind}: MAP, UNMAP or REMAP. */
    record E(String kind, T va, boolean keep, T prev, T next) {
        VaOp resolve(Map<String, BufferObject> objs) {
            return switch (kind) {
                case "MAP" -> map(va.resolve(objs));
                case "UNMAP" -> unmap(va.resolve(objs), keep);
                default -> remap(va.resolve(objs), keep, prev == null ? null : prev.resolve(objs),
                        next == null ? null : next.resolve(objs));
            };
        }
    }

    private static T t(long start, long range, String obj, long offset) {
        return new T(start, range, obj, offset);
    }

    private static E mapE(T t) {
        return new E("MAP", t, false, null, null);
    }

    private static E unmapE(T t, boolean keep) {
        return new E("UNMAP", t, keep, null, null);
    }

    private static E remapE(T old, boolean keep, T prev, T next) {
        return new E("REMAP", old, keep, prev, next);
    }

    record Example(int number, List<T> before, T request, List<E> ops, List<T> after) {
        @Override
        public String toString() {
            return "example " + number + ": " + before + " + map " + request;
        }
    }

    static Stream<Example> kernelTable() {
        T a1 = t(0, 1, "A", N);
        T a2 = t(0, 2, "A", N);
        T a3 = t(0, 3, "A", N);
        T a1at1 = t(1, 1, "A", N + U);
        return Stream.of(
                new Example(1, List.of(a1), a1, List.of(unmapE(a1, true), mapE(a1)), List.of(a1)),
                new Example(2, List.of(a1), t(0, 1, "A", M),
                        List.of(unmapE(a1, false), mapE(t(0, 1, "A", M))), List.of(t(0, 1, "A", M))),
                new Example(3, List.of(a1), t(0, 1, "B", N),
                        List.of(unmapE(a1, false), mapE(t(0, 1, "B", N))), List.of(t(0, 1, "B", N))),
                new Example(4, List.of(a1), a2, List.of(unmapE(a1, true), mapE(a2)), List.of(a2)),
                new Example(5, List.of(a2), t(0, 1, "B", N),
                        List.of(remapE(a2, false, null, t(1, 1, "A", N + U)), mapE(t(0, 1, "B", N))),
                        List.of(t(0, 1, "B", N), t(1, 1, "A", N + U))),
                new Example(6, List.of(a2), a1,
                        List.of(remapE(a2, true, null, t(1, 1, "A", N + U)), mapE(a1)),
                        List.of(a1, t(1, 1, "A", N + U))),
                new Example(7, List.of(a2), t(1, 1, "B", M),
                        List.of(remapE(a2, false, a1, null), mapE(t(1, 1, "B", M))),
                        List.of(a1, t(1, 1, "B", M))),
                new Example(8, List.of(a2), a1at1,
                        List.of(remapE(a2, true, a1, null), mapE(a1at1)),
                        List.of(a1, a1at1)),
                new Example(9, List.of(a2), t(1, 2, "B", M),
                        List.of(remapE(a2, false, a1, null), mapE(t(1, 2, "B", M))),
                        List.of(a1, t(1, 2, "B", M))),
                new Example(10, List.of(a2), t(1, 2, "A", N + U),
                        List.of(remapE(a2, true, a1, null), mapE(t(1, 2, "A", N + U))),
                        List.of(a1, t(1, 2, "A", N + U))),
                new Example(11, List.of(a3), t(1, 1, "B", M),
                        List.of(remapE(a3, false, a1, t(2, 1, "A", N + 2 * U)), mapE(t(1, 1, "B", M))),
                        List.of(a1, t(1, 1, "B", M), t(2, 1, "A", N + 2 * U))),
                new Example(12, List.of(a3), a1at1,
                        List.of(remapE(a3, true, a1, t(2, 1, "A", N + 2 * U)), mapE(a1at1)),
                        List.of(a1, a1at1, t(2, 1, "A", N + 2 * U))),
                new Example(13, List.of(a1at1), a2, List.of(unmapE(a1at1, true), mapE(a2)), List.of(a2)),
                new Example(14, List.of(a1at1), a3, List.of(unmapE(a1at1, true), mapE(a3)), List.of(a3)),
                new Example(15, List.of(t(1, 2, "A", N)), t(0, 2, "B", M),
                        List.of(remapE(t(1, 2, "A", N), false, null, t(2, 1, "A", N + U)), mapE(t(0, 2, "B", M))),
                        List.of(t(0, 2, "B", M), t(2, 1, "A", N + U))),
                // the two examples of KERNEL-SEMANTICS.md (K = one unit), objects X, Y, Z, W, V
                new Example(16, List.of(t(0, 4, "X", 0)), t(1, 1, "Y", 64 * U),
                        List.of(remapE(t(0, 4, "X", 0), false, t(0, 1, "X", 0), t(2, 2, "X", 2 * U)),
                                mapE(t(1, 1, "Y", 64 * U))),
                        List.of(t(0, 1, "X", 0), t(1, 1, "Y", 64 * U), t(2, 2, "X", 2 * U))),
                new Example(17, List.of(t(0, 2, "X", 0), t(2, 1, "Z", 0), t(3, 3, "W", U)), t(1, 3, "V", 0),
                        List.of(remapE(t(0, 2, "X", 0), false, t(0, 1, "X", 0), null),
                                unmapE(t(2, 1, "Z", 0), false),
                                remapE(t(3, 3, "W", U), false, null, t(4, 2, "W", 2 * U)),
                                mapE(t(1, 3, "V", 0))),
                        List.of(t(0, 1, "X", 0), t(1, 3, "V", 0), t(4, 2, "W", 2 * U))));
    }

    /** The objects of the examples: A and B of 32 units, the others of 8 (Y of 80); lazy, no frames. */
    private Map<String, BufferObject> objects() {
        return Map.of("A", client.create(32 * U), "B", client.create(32 * U), "X", client.create(8 * U),
                "Y", client.create(80 * U), "Z", client.create(8 * U), "W", client.create(8 * U),
                "V", client.create(8 * U));
    }

    @ParameterizedTest
    @MethodSource("kernelTable")
    void mapExample(Example ex) {
        Map<String, BufferObject> objs = objects();
        List<BufferObject> all = List.copyOf(objs.values());
        for (T b : ex.before()) {
            GpuVa v = b.resolve(objs);
            assertEquals(List.of(map(v)), vm.map(v.va(), v.range(), v.bo(), v.offset()), "map into an empty range");
        }
        List<GpuVa> before = ex.before().stream().map(b -> b.resolve(objs)).toList();
        assertEquals(before, vm.mappings());
        GpuVa req = ex.request().resolve(objs);
        List<VaOp> expected = ex.ops().stream().map(e -> e.resolve(objs)).toList();

        VmState was = VmState.of(vm, all.toArray(BufferObject[]::new));
        assertEquals(expected, vm.planMap(req.va(), req.range(), req.bo(), req.offset()), "planMap");
        assertEquals(was, VmState.of(vm, all.toArray(BufferObject[]::new)), "a plan changes nothing");

        List<VaOp> ops = vm.map(req.va(), req.range(), req.bo(), req.offset());
        assertEquals(expected, ops, "map applies what planMap returned");
        assertSameObjects(ops, objs);
        List<GpuVa> after = ex.after().stream().map(a -> a.resolve(objs)).toList();
        assertEquals(after, vm.mappings(), "mappings() after");
        assertLinks(after, all);
    }

    /** Every object of the after state has a link listing its mappings and one extra reference; others none. */
    private void assertLinks(List<GpuVa> after, List<BufferObject> all) {
        for (BufferObject bo : all) {
            List<GpuVa> mine = of(bo, after);
            Optional<VmBo> link = vm.vmBo(bo);
            assertEquals(!mine.isEmpty(), link.isPresent(), "a link exactly while mapped: " + bo);
            assertEquals(mine.isEmpty() ? 1 : 2, bo.refCount(), "one reference per link, not per mapping: " + bo);
            if (link.isPresent()) {
                assertSame(bo, link.get().bo());
                assertSame(vm, link.get().vm());
                assertEquals(mine, link.get().mappings());
                assertTrue(link.get().external());
            }
        }
        assertEquals(after.stream().map(GpuVa::bo).distinct().count(), vm.externalObjects().size());
    }

    /** The GpuVa values of the ops name the very objects mapped (identity, not just equality). */
    private static void assertSameObjects(List<VaOp> ops, Map<String, BufferObject> objs) {
        for (VaOp op : ops) {
            List<GpuVa> vas = new ArrayList<>();
            switch (op) {
                case VaOp.Map m -> vas.add(m.va());
                case VaOp.Unmap u -> vas.add(u.va());
                case VaOp.Remap r -> {
                    vas.add(r.unmap().va());
                    if (r.prev() != null) {
                        vas.add(r.prev());
                        assertSame(r.unmap().va().bo(), r.prev().bo(), "prev piece of the same object");
                    }
                    if (r.next() != null) {
                        vas.add(r.next());
                        assertSame(r.unmap().va().bo(), r.next().bo(), "next piece of the same object");
                    }
                    assertTrue(r.prev() != null || r.next() != null, "a REMAP keeps at least one piece");
                }
            }
            for (GpuVa v : vas) {
                assertTrue(objs.values().stream().anyMatch(b -> b == v.bo()), "op names a mapped object: " + op);
            }
        }
    }

    // ---- specific values -------------------------------------------------------------------

    @Test
    void remapPiecesAreNullWhenAbsentAndCarryTheirOffsets() {
        BufferObject a = client.create(32 * U);
        BufferObject b = client.create(32 * U);
        vm.map(BASE, 3 * U, a, N);
        List<VaOp> ops = vm.map(BASE + U, U, b, 0);
        VaOp.Remap r = (VaOp.Remap) ops.get(0);
        assertEquals(new GpuVa(BASE, 3 * U, a, N), r.unmap().va());
        assertEquals(false, r.unmap().keep());
        assertEquals(new GpuVa(BASE, U, a, N), r.prev());
        assertEquals(new GpuVa(BASE + 2 * U, U, a, N + 2 * U), r.next());
        assertEquals(new VaOp.Map(new GpuVa(BASE + U, U, b, 0)), ops.get(1));

        // the request starts where the mapping starts: no prev piece
        VaOp.Remap atStart = (VaOp.Remap) vm.planMap(BASE + 2 * U, pg(1), b, 0).get(0);
        assertNull(atStart.prev());
        assertEquals(new GpuVa(BASE + 2 * U + pg(1), U - pg(1), a, N + 2 * U + pg(1)), atStart.next());
        // the request ends where the mapping ends: no next piece
        VaOp.Remap atEnd = (VaOp.Remap) vm.planMap(BASE + 3 * U - pg(1), pg(1), b, 0).get(0);
        assertEquals(new GpuVa(BASE + 2 * U, U - pg(1), a, N + 2 * U), atEnd.prev());
        assertNull(atEnd.next());
        // across two mappings: the first keeps its front, the second its back
        List<VaOp> across = vm.planMap(BASE + 2 * U - pg(1), pg(2), a, 0);
        assertEquals(List.of(remap(new GpuVa(BASE + U, U, b, 0), false, new GpuVa(BASE + U, U - pg(1), b, 0), null),
                remap(new GpuVa(BASE + 2 * U, U, a, N + 2 * U), false, null,
                        new GpuVa(BASE + 2 * U + pg(1), U - pg(1), a, N + 2 * U + pg(1))),
                map(new GpuVa(BASE + 2 * U - pg(1), pg(2), a, 0))), across);
    }

    @Test
    void adjacentMappingsOfTheSameObjectAreNeverMerged() {
        BufferObject a = client.create(32 * U);
        assertEquals(List.of(map(new GpuVa(BASE, U, a, 0))), vm.map(BASE, U, a, 0));
        assertEquals(List.of(map(new GpuVa(BASE + U, U, a, U))), vm.map(BASE + U, U, a, U), "touching: no op on the neighbour");
        assertEquals(List.of(new GpuVa(BASE, U, a, 0), new GpuVa(BASE + U, U, a, U)), vm.mappings());
        assertEquals(2, vm.vmBo(a).orElseThrow().mappings().size());
        assertEquals(2, a.refCount(), "two mappings, one link, one reference");
    }

    @Test
    void keepNeedsTheSameObjectAndTheSameDistanceBetweenOffsetAndAddress() {
        BufferObject a = client.create(32 * U);
        BufferObject b = client.create(32 * U);
        vm.map(BASE + 2 * U, 2 * U, a, 4 * U); // offset - va = 4U - 2U (relative)
        // same object, same distance, overlapping only partly: keep
        assertEquals(List.of(remap(new GpuVa(BASE + 2 * U, 2 * U, a, 4 * U), true, null,
                        new GpuVa(BASE + 3 * U, U, a, 5 * U)), map(new GpuVa(BASE + U, 2 * U, a, 3 * U))),
                vm.planMap(BASE + U, 2 * U, a, 3 * U));
        // same object, other distance: no keep
        assertEquals(false, ((VaOp.Remap) vm.planMap(BASE + U, 2 * U, a, 4 * U).get(0)).unmap().keep());
        // other object, same offsets: no keep
        assertEquals(false, ((VaOp.Remap) vm.planMap(BASE + U, 2 * U, b, 3 * U).get(0)).unmap().keep());
    }

    // ---- unmap -----------------------------------------------------------------------------

    record UnmapCase(String name, List<T> before, long start, long range, List<E> ops, List<T> after) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<UnmapCase> unmapCases() {
        T a = t(0, 4, "A", N);
        return Stream.of(
                new UnmapCase("exactly one mapping", List.of(a), 0, 4, List.of(unmapE(a, false)), List.of()),
                new UnmapCase("inside one mapping", List.of(a), 1, 2,
                        List.of(remapE(a, false, t(0, 1, "A", N), t(3, 1, "A", N + 3 * U))),
                        List.of(t(0, 1, "A", N), t(3, 1, "A", N + 3 * U))),
                new UnmapCase("its front", List.of(a), 0, 1,
                        List.of(remapE(a, false, null, t(1, 3, "A", N + U))), List.of(t(1, 3, "A", N + U))),
                new UnmapCase("its back", List.of(a), 3, 2,
                        List.of(remapE(a, false, t(0, 3, "A", N), null)), List.of(t(0, 3, "A", N))),
                new UnmapCase("around it", List.of(a), 0, 10, List.of(unmapE(a, false)), List.of()),
                new UnmapCase("nothing there", List.of(a), 5, 3, List.of(), List.of(a)),
                new UnmapCase("three mappings, cut at both ends",
                        List.of(t(0, 2, "X", 0), t(2, 1, "Z", 0), t(3, 3, "W", U)), 1, 3,
                        List.of(remapE(t(0, 2, "X", 0), false, t(0, 1, "X", 0), null),
                                unmapE(t(2, 1, "Z", 0), false),
                                remapE(t(3, 3, "W", U), false, null, t(4, 2, "W", 2 * U))),
                        List.of(t(0, 1, "X", 0), t(4, 2, "W", 2 * U))),
                new UnmapCase("two pieces of one object, one gone", List.of(t(0, 1, "A", 0), t(2, 1, "A", U)), 2, 1,
                        List.of(unmapE(t(2, 1, "A", U), false)), List.of(t(0, 1, "A", 0))));
    }

    @ParameterizedTest
    @MethodSource("unmapCases")
    void unmapCase(UnmapCase c) {
        Map<String, BufferObject> objs = objects();
        List<BufferObject> all = List.copyOf(objs.values());
        BufferObject[] arr = all.toArray(BufferObject[]::new);
        for (T b : c.before()) {
            GpuVa v = b.resolve(objs);
            vm.map(v.va(), v.range(), v.bo(), v.offset());
        }
        List<VaOp> expected = c.ops().stream().map(e -> e.resolve(objs)).toList();
        VmState was = VmState.of(vm, arr);
        assertEquals(expected, vm.planUnmap(BASE + c.start() * U, c.range() * U), "planUnmap");
        assertEquals(was, VmState.of(vm, arr), "a plan changes nothing");
        List<VaOp> ops = vm.unmap(BASE + c.start() * U, c.range() * U);
        assertEquals(expected, ops, "unmap applies what planUnmap returned");
        assertTrue(ops.stream().noneMatch(op -> op instanceof VaOp.Map), "unmap never maps");
        List<GpuVa> after = c.after().stream().map(a -> a.resolve(objs)).toList();
        assertEquals(after, vm.mappings(), "mappings() after");
        assertLinks(after, all);
    }

    @Test
    void unmapNeverKeepsEvenWhereMapWould() {
        BufferObject a = client.create(32 * U);
        vm.map(BASE, 4 * U, a, 0);
        assertEquals(List.of(remap(new GpuVa(BASE, 4 * U, a, 0), false, new GpuVa(BASE, U, a, 0),
                new GpuVa(BASE + 2 * U, 2 * U, a, 2 * U))), vm.unmap(BASE + U, U));
        assertEquals(List.of(unmap(new GpuVa(BASE, U, a, 0), false), unmap(new GpuVa(BASE + 2 * U, 2 * U, a, 2 * U), false)),
                vm.unmap(BASE, 4 * U));
        assertEquals(List.of(), vm.mappings());
        assertEquals(Optional.empty(), vm.vmBo(a));
        assertEquals(1, a.refCount());
    }

    // ---- queries -----------------------------------------------------------------------------

    @Test
    void mappingsOfARangeAndFindAcceptAnyValue() {
        BufferObject a = client.create(32 * U);
        BufferObject b = client.create(32 * U);
        GpuVa first = new GpuVa(BASE, U, a, 0);
        GpuVa second = new GpuVa(BASE + 2 * U, 2 * U, b, U);
        vm.map(first.va(), first.range(), a, 0);
        vm.map(second.va(), second.range(), b, U);
        assertEquals(List.of(first, second), vm.mappings(BASE, 64 * U));
        assertEquals(List.of(first), vm.mappings(BASE + U - 1, 1), "one byte of the first");
        assertEquals(List.of(), vm.mappings(BASE + U, U), "the hole between");
        assertEquals(List.of(first, second), vm.mappings(BASE + U - 1, U + 2), "a byte of each");
        assertEquals(List.of(second), vm.mappings(BASE + 3 * U + 7, 1));
        assertEquals(List.of(), vm.mappings(BASE, 0), "an empty range overlaps nothing");
        assertEquals(List.of(), vm.mappings(BASE, -5));
        assertEquals(List.of(), vm.mappings(Long.MIN_VALUE, Long.MAX_VALUE), "[MIN, -1): below the VM");
        assertEquals(List.of(first, second), vm.mappings(-5, Long.MAX_VALUE), "from below the VM");
        assertEquals(List.of(first, second), vm.mappings(0, Long.MAX_VALUE), "an end past Long.MAX_VALUE");
        assertEquals(List.of(), vm.mappings(Long.MAX_VALUE, Long.MAX_VALUE));

        assertEquals(Optional.of(first), vm.find(BASE));
        assertEquals(Optional.of(first), vm.find(BASE + U - 1));
        assertEquals(Optional.empty(), vm.find(BASE + U));
        assertEquals(Optional.of(second), vm.find(BASE + 4 * U - 1));
        assertEquals(Optional.empty(), vm.find(BASE + 4 * U));
        assertEquals(Optional.empty(), vm.find(-1));
        assertEquals(Optional.empty(), vm.find(Long.MIN_VALUE));
        assertEquals(Optional.empty(), vm.find(Long.MAX_VALUE));
        assertEquals(Optional.empty(), vm.find(BASE - 1));
    }
}
