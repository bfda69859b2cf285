package dev.memmgr.internal.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

/** Value views of mappings and ops, so that tests compare whole op lists with assertEquals. */
final class VmTestSupport {
    static final long PAGE = 4096;

    private VmTestSupport() {
    }

    /** A mapped object: compared by identity, named for messages. */
    static final class Obj {
        final String name;
        final long size;

        Obj(String name, long size) {
            this.name = name;
            this.size = size;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    /** A mapping as a value: (va, range, obj, offset). */
    record S(long va, long range, Obj obj, long offset) {
        static S of(Mapping<Obj> m) {
            return m == null ? null : new S(m.va(), m.range(), m.obj(), m.offset());
        }

        long end() {
            return va + range;
        }
    }

    /** An op as a value. */
    sealed interface E {
        record Map(S va) implements E {
        }

        record Unmap(S va, boolean keep) implements E {
        }

        record Remap(S old, boolean keep, S prev, S next) implements E {
        }
    }

    static E view(Op<Obj> op) {
        return switch (op) {
            case Op.Map<Obj> m -> new E.Map(S.of(m.va()));
            case Op.Unmap<Obj> u -> new E.Unmap(S.of(u.va()), u.keep());
            case Op.Remap<Obj> r -> new E.Remap(S.of(r.unmap().va()), r.unmap().keep(), S.of(r.prev()), S.of(r.next()));
        };
    }

    static List<E> view(Plan<Obj> plan) {
        List<E> out = new ArrayList<>();
        for (Op<Obj> op : plan.ops()) {
            out.add(view(op));
        }
        return out;
    }

    static List<S> spans(VaSpace<Obj> space) {
        List<S> out = new ArrayList<>();
        for (Mapping<Obj> m : space.mappings()) {
            out.add(S.of(m));
        }
        return out;
    }

    /** The mapping an op removes (the UNMAP's, or the REMAP's UNMAP's), or null for a MAP. */
    static Mapping<Obj> removed(Op<Obj> op) {
        return switch (op) {
            case Op.Map<Obj> m -> null;
            case Op.Unmap<Obj> u -> u.va();
            case Op.Remap<Obj> r -> r.unmap().va();
        };
    }

    /** Maps each span into the space with plan + apply; each must land in a hole (one MAP). */
    static void populate(VaSpace<Obj> space, S... spans) {
        for (S s : spans) {
            Plan<Obj> p = space.planMap(s.va(), s.range(), s.obj(), s.offset(), s.obj().size);
            assertEquals(List.of(new E.Map(s)), view(p), "setup mapping " + s + " overlaps");
            space.apply(p);
        }
        space.checkInvariants();
    }

    /** Asserts the space holds exactly these spans, at this generation. */
    static void assertState(VaSpace<Obj> space, List<S> spans, long generation) {
        assertEquals(spans, spans(space));
        assertEquals(generation, space.generation());
        assertEquals(spans.size(), space.count());
        space.checkInvariants();
    }

    /** Asserts the ops' removed mappings are the space's own nodes (identity), in address order. */
    static void assertRemovesNodesOf(VaSpace<Obj> space, Plan<Obj> plan) {
        List<Mapping<Obj>> nodes = space.mappings();
        long lastVa = Long.MIN_VALUE;
        for (Op<Obj> op : plan.ops()) {
            Mapping<Obj> m = removed(op);
            if (m != null) {
                assertTrue(nodes.stream().anyMatch(n -> n == m), "op " + op + " names a mapping not in the space");
                assertTrue(m.va() > lastVa, "ops out of address order: " + plan);
                lastVa = m.va();
            }
        }
    }
}
