package dev.memmgr.internal.vm;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * The pure core of a GPU virtual address space (drm_gpuvm without its objects, locks and
 * refcounts): the range {@code [start, start + size)}, the mappings in it (a {@link VaTree}),
 * the split/merge planner of drm_gpuvm_sm_map and drm_gpuvm_sm_unmap, and the generation that
 * stamps every {@link Plan}. See the package comment for the whole mechanism.
 *
 * <p>Argument rules, checked in this order before anything is planned: a null object:
 * NullPointerException; va, range or offset not a page multiple, range not positive,
 * {@code [va, va + range)} not inside the space: IllegalArgumentException
 * ({@link #checkMapRange}); offset negative or {@code offset + range} past the object's size:
 * IndexOutOfBoundsException ({@link #checkObjectRange}). A facade that adds a check of its own
 * between the two (the object's manager) calls them itself before planning. Queries
 * ({@link #find}, {@link #mappings(long, long)}, {@link #forEachOverlapping}) accept any value.
 *
 * <p>Not thread-safe: the owner (the GpuVm) calls everything under its lock, and plans with
 * {@link #apply} under the same hold as it planned, or checks {@link Plan#isCurrent()}.
 *
 * @param <O> the type of the mapped objects, compared by identity ({@code ==})
 */
public final class VaSpace<O> {
    private final long start;
    private final long size;
    private final long pageSize;
    private final long pageMask;
    private final VaTree<O> tree = new VaTree<>();
    private long generation;

    /**
     * Creates an empty space {@code [start, start + size)}.
     *
     * @param start first address, a page multiple, &gt;= 0
     * @param size bytes, a page multiple, &gt; 0, with {@code start + size} not overflowing
     * @param pageSize a power of two
     * @throws IllegalArgumentException if any of that does not hold
     */
    public VaSpace(long start, long size, long pageSize) {
        if (pageSize <= 0 || (pageSize & (pageSize - 1)) != 0) {
            throw new IllegalArgumentException("page size " + pageSize + " is not a power of two");
        }
        this.pageSize = pageSize;
        this.pageMask = pageSize - 1;
        if (start < 0 || size <= 0 || start > Long.MAX_VALUE - size) {
            throw new IllegalArgumentException("bad address space start " + start + " size " + size);
        }
        requireAligned("start", start);
        requireAligned("size", size);
        this.start = start;
        this.size = size;
    }

    /** @return the first address of the space */
    public long start() {
        return start;
    }

    /** @return the size of the space in bytes */
    public long size() {
        return size;
    }

    /** @return the page size: the granule of addresses, ranges and offsets */
    public long pageSize() {
        return pageSize;
    }

    /** @return the number of applied plans; plans are valid only at the generation they were made at */
    public long generation() {
        return generation;
    }

    /** @return the number of mappings */
    public int count() {
        return tree.size();
    }

    /** @return the mapping containing {@code address}, or null; any value is accepted */
    public Mapping<O> find(long address) {
        return tree.find(address);
    }

    /** @return every mapping, in address order (a new list) */
    public List<Mapping<O>> mappings() {
        List<Mapping<O>> out = new ArrayList<>(tree.size());
        for (Mapping<O> m = tree.first(); m != null; m = m.next) {
            out.add(m);
        }
        return out;
    }

    /**
     * Returns the mappings overlapping {@code [va, va + range)}; any values are accepted (a range
     * &lt;= 0 overlaps nothing, an end past {@code Long.MAX_VALUE} is cut there).
     *
     * @return those mappings, in address order (a new list)
     */
    public List<Mapping<O>> mappings(long va, long range) {
        List<Mapping<O>> out = new ArrayList<>();
        forEachOverlapping(va, range, out::add);
        return out;
    }

    /**
     * Calls {@code action} for each mapping overlapping {@code [va, va + range)}, in address
     * order, with the values {@link #mappings(long, long)} accepts; O(log n + k), no allocation.
     * The action must not change the space.
     */
    public void forEachOverlapping(long va, long range, Consumer<? super Mapping<O>> action) {
        long end = queryEnd(va, range);
        for (Mapping<O> m = tree.firstOverlapping(va, end); m != null && m.va < end; m = m.next) {
            action.accept(m);
        }
    }

    private static long queryEnd(long va, long range) {
        if (range <= 0) {
            return va;
        }
        long end = va + range;
        return end < va ? Long.MAX_VALUE : end;
    }

    /**
     * The address rules of unmap: va and range page multiples, range &gt; 0,
     * {@code [va, va + range)} inside the space.
     *
     * @throws IllegalArgumentException if one does not hold
     */
    public void checkRange(long va, long range) {
        requireAligned("va", va);
        requireAligned("range", range);
        if (range <= 0) {
            throw new IllegalArgumentException("range " + range + " is not positive");
        }
        // va >= start >= 0 and range <= size, so neither difference overflows
        if (va < start || range > size || va - start > size - range) {
            throw new IllegalArgumentException(
                    "[" + hex(va) + ", +" + hex(range) + ") is not inside [" + hex(start) + ", " + hex(start + size) + ")");
        }
    }

    /**
     * The address rules of map: those of {@link #checkRange}, and offset a page multiple.
     *
     * @throws IllegalArgumentException if one does not hold
     */
    public void checkMapRange(long va, long range, long offset) {
        checkRange(va, range);
        requireAligned("offset", offset);
    }

    /**
     * The object rule of map: {@code [offset, offset + range)} inside the object's
     * {@code objectSize} bytes (checked without overflow). Run after {@link #checkMapRange}
     * (range &gt; 0).
     *
     * @throws IndexOutOfBoundsException if it does not hold
     */
    public static void checkObjectRange(long offset, long range, long objectSize) {
        if (offset < 0 || offset > objectSize - range) {
            throw new IndexOutOfBoundsException("object bytes [" + offset + ", +" + range + ") are not inside its "
                    + objectSize + " bytes");
        }
    }

    private void requireAligned(String what, long value) {
        if ((value & pageMask) != 0) {
            throw new IllegalArgumentException(what + " " + hex(value) + " is not a multiple of the page size "
                    + hex(pageSize));
        }
    }

    private static String hex(long v) {
        return v < 0 ? Long.toString(v) : "0x" + Long.toHexString(v);
    }

    /**
     * Plans mapping {@code [va, va + range)} to bytes {@code [offset, offset + range)} of
     * {@code obj} (drm_gpuvm_sm_map); changes nothing.
     *
     * @param objectSize the size of {@code obj} in bytes
     * @return the ops: a REMAP or UNMAP per overlapping mapping in address order, then one MAP
     * @throws NullPointerException if {@code obj} is null
     * @throws IllegalArgumentException by {@link #checkMapRange}
     * @throws IndexOutOfBoundsException by {@link #checkObjectRange}
     */
    public Plan<O> planMap(long va, long range, O obj, long offset, long objectSize) {
        Objects.requireNonNull(obj, "obj");
        checkMapRange(va, range, offset);
        checkObjectRange(offset, range, objectSize);
        return plan(va, range, obj, offset, true);
    }

    /**
     * Plans unmapping {@code [va, va + range)} (drm_gpuvm_sm_unmap); changes nothing.
     *
     * @return the ops: a REMAP or UNMAP per overlapping mapping in address order, keep always
     *     false; empty when nothing is mapped there
     * @throws IllegalArgumentException by {@link #checkRange}
     */
    public Plan<O> planUnmap(long va, long range) {
        checkRange(va, range);
        return plan(va, range, null, 0, false);
    }

    /**
     * The walk of __drm_gpuvm_sm_map and __drm_gpuvm_sm_unmap. The kernel spells out nine
     * cases (old start before, at or after the request's, old end before, at or after its end);
     * they reduce to: a {@code prev} piece when the old mapping starts before the request, a
     * {@code next} piece (offset moved by the distance from the old start to the request's end)
     * when it ends after, REMAP if there is a piece and UNMAP otherwise; for a map, keep when the
     * old mapping maps the same object at the same {@code offset - va}.
     */
    private Plan<O> plan(long va, long range, O obj, long offset, boolean map) {
        long end = va + range;
        List<Op<O>> ops = new ArrayList<>(map ? 2 : 1);
        Mapping<O> floor = tree.floor(va);
        // the mapping the MAP will follow once the cuts are applied: the first cut's prev piece,
        // else the last mapping below the request, which no op touches
        Mapping<O> mapPred = floor != null && floor.va + floor.range > va ? floor.prev : floor;
        Mapping<O> m = floor != null && floor.va + floor.range > va ? floor : floor == null ? tree.first() : floor.next;
        for (; m != null && m.va < end; m = m.next) {
            long mEnd = m.va + m.range;
            boolean keep = map && m.obj == obj && m.offset - m.va == offset - va;
            Op.Unmap<O> unmap = new Op.Unmap<>(m, keep);
            Mapping<O> prev = m.va < va ? new Mapping<>(m.va, va - m.va, m.obj, m.offset) : null;
            Mapping<O> next = mEnd > end ? new Mapping<>(end, mEnd - end, m.obj, m.offset + (end - m.va)) : null;
            ops.add(prev == null && next == null ? unmap : new Op.Remap<>(unmap, prev, next));
            if (prev != null) {
                mapPred = prev;
            }
        }
        if (map) {
            ops.add(new Op.Map<>(new Mapping<>(va, range, obj, offset)));
        }
        return new Plan<>(this, generation, Collections.unmodifiableList(ops), map ? mapPred : null);
    }

    /**
     * Applies a plan made on this space at its current generation: removes and inserts exactly
     * what its ops say, in order, and moves to the next generation (so the plan, and every
     * other plan made before, can no longer be applied).
     *
     * @throws NullPointerException if {@code plan} is null
     * @throws IllegalArgumentException if the plan was made on another space (nothing changed)
     * @throws IllegalStateException if the space changed since the plan was made (nothing
     *     changed)
     */
    public void apply(Plan<O> plan) {
        Objects.requireNonNull(plan, "plan");
        if (plan.space != this) {
            throw new IllegalArgumentException("a plan of another address space");
        }
        if (plan.generation != generation) {
            throw new IllegalStateException(
                    "stale plan: made at generation " + plan.generation + ", the space is at " + generation);
        }
        generation++;
        List<Op<O>> ops = plan.ops();
        for (int i = 0, n = ops.size(); i < n; i++) {
            switch (ops.get(i)) {
                case Op.Map<O> m -> tree.insertAfter(plan.mapPred, m.va());
                case Op.Unmap<O> u -> tree.remove(u.va());
                case Op.Remap<O> r -> {
                    tree.remove(r.unmap().va());
                    if (r.prev() != null) {
                        tree.insert(r.prev());
                    }
                    if (r.next() != null) {
                        tree.insert(r.next());
                    }
                }
            }
        }
    }

    /** Checks the tree's invariants in O(n) (tests and debugging). */
    void checkInvariants() {
        tree.checkInvariants();
    }

    /** @return the tree's height (tests) */
    int height() {
        return tree.height();
    }

    @Override
    public String toString() {
        return "VaSpace[" + hex(start) + ", " + hex(start + size) + "), " + tree.size() + " mappings, generation "
                + generation;
    }
}
