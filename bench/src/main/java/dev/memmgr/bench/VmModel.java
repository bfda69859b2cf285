package dev.memmgr.bench;

import dev.memmgr.BufferObject;
import dev.memmgr.GpuVa;
import dev.memmgr.Reservation;
import dev.memmgr.VaOp;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The stress tool's model of one GPU VM ({@link StressVm}): per VA page the object it shows and
 * the page of that object, or a hole; and the objects bound, each with its content model
 * ({@link ShadowObject}). Mapping boundaries are not modelled: a VM never merges mappings, so
 * only the page table matters for content, and the ops a map or unmap returns are checked page by
 * page against the model before it changes ({@link #checkOps}).
 *
 * <p>Pure bookkeeping: it calls no VM method. The checks return a description of the first
 * mismatch, or null. Used by one worker thread.
 */
final class VmModel {
    /** Objects of the worker at most. */
    static final int MAX_OBJECTS = 6;
    /** The slot of a table object bound for the length of one operation. */
    static final int BORROWED = MAX_OBJECTS;

    /** An object bound in the VM: one of the worker's, or a table object borrowed for one operation. */
    static final class Bound {
        final ShadowObject s;
        /** Made by createLocal: shares the VM's reservation. */
        final boolean local;
        /** A table object (its slot claimed shared): only read, never closed here. */
        final boolean borrowed;
        boolean handleOpen = true;
        /** VA pages that show it. */
        int mapped;
        /** Whether it had mapped pages at the last settle: the VM holds its link. */
        boolean linked;

        Bound(ShadowObject s, boolean local, boolean borrowed) {
            this.s = s;
            this.local = local;
            this.borrowed = borrowed;
        }
    }

    final int pageSize;
    final int vaPages;
    /** Per VA page: 0 for a hole, else the slot of the object plus one. */
    private final int[] vaSlot;
    /** Per mapped VA page: the object page it shows. */
    private final int[] vaPage;
    /** The objects bound, by slot; {@link #BORROWED} last. */
    final Bound[] bound = new Bound[MAX_OBJECTS + 1];
    /** The VM's first address. */
    long base;

    VmModel(int pageSize, int vaPages) {
        this.pageSize = pageSize;
        this.vaPages = vaPages;
        this.vaSlot = new int[vaPages];
        this.vaPage = new int[vaPages];
    }

    long addr(int page) {
        return base + (long) page * pageSize;
    }

    /** @return the slot of the object VA page p shows, or -1 for a hole */
    int slotAt(int p) {
        return vaSlot[p] - 1;
    }

    /** @return the object VA page p shows, or null for a hole */
    Bound at(int p) {
        return vaSlot[p] == 0 ? null : bound[vaSlot[p] - 1];
    }

    /** @return the object page VA page p shows (p mapped) */
    int pageAt(int p) {
        return vaPage[p];
    }

    /** VA pages [first, first + n) now show the object in {@code slot} from page objFirst on; slot -1: holes. */
    void set(int first, int n, int slot, int objFirst) {
        for (int p = first; p < first + n; p++) {
            if (vaSlot[p] != 0) {
                bound[vaSlot[p] - 1].mapped--;
            }
            if (slot < 0) {
                vaSlot[p] = 0;
            } else {
                vaSlot[p] = slot + 1;
                vaPage[p] = objFirst + (p - first);
                bound[slot].mapped++;
            }
        }
    }

    /** Forgets every mapping and object (a new VM). */
    void clear() {
        Arrays.fill(vaSlot, 0);
        Arrays.fill(bound, null);
    }

    /** @return the mapped pages among VA pages [first, first + n) */
    int mappedIn(int first, int n) {
        int c = 0;
        for (int p = first; p < first + n; p++) {
            c += vaSlot[p] != 0 ? 1 : 0;
        }
        return c;
    }

    /** @return the end of the run of mapped pages from p, at most max pages long */
    int mappedRun(int p, int max) {
        int end = p;
        while (end < vaPages && end - p < max && vaSlot[end] != 0) {
            end++;
        }
        return end;
    }

    /** @return a random mapped VA page, or -1 if a few probes find none */
    int randomMapped(SplittableRandom rnd) {
        for (int k = 0; k < 16; k++) {
            int p = rnd.nextInt(vaPages);
            if (vaSlot[p] != 0) {
                return p;
            }
        }
        return -1;
    }

    /**
     * A random object of the worker's (not the borrowed one), each qualifying one equally likely.
     *
     * @param linked only mapped ones
     * @param writable only ones with an open handle and not DONTNEED
     * @return the object, or null if none qualifies
     */
    Bound pick(SplittableRandom rnd, boolean linked, boolean writable) {
        int n = 0;
        Bound chosen = null;
        for (int i = 0; i < MAX_OBJECTS; i++) {
            Bound b = bound[i];
            if (b != null && (!linked || b.linked) && (!writable || (b.handleOpen && !b.s.dontNeed))
                    && rnd.nextInt(++n) == 0) {
                chosen = b;
            }
        }
        return chosen;
    }

    /** @return the worker's objects (the borrowed one aside) */
    int count() {
        int c = 0;
        for (int i = 0; i < MAX_OBJECTS; i++) {
            c += bound[i] != null ? 1 : 0;
        }
        return c;
    }

    /** @return the first empty slot of the worker's objects, or -1 */
    int freeSlot() {
        for (int i = 0; i < MAX_OBJECTS; i++) {
            if (bound[i] == null) {
                return i;
            }
        }
        return -1;
    }

    int slotOf(Bound b) {
        for (int i = 0; i < bound.length; i++) {
            if (bound[i] == b) {
                return i;
            }
        }
        return -1;
    }

    int slotOf(BufferObject bo) {
        for (int i = 0; i < bound.length; i++) {
            if (bound[i] != null && bound[i].s.bo == bo) {
                return i;
            }
        }
        return -1;
    }

    // ---- checks -----------------------------------------------------------------------------

    /**
     * Checks the ops of a map ({@code b} not null: of its pages from objFirst) or an unmap of VA
     * pages [first, first + n), before the model changes: in address order, each removed mapping
     * shows page by page what the model has; a REMAP keeps exactly the parts outside the request,
     * {@code next} at the offset it had; an UNMAP lies inside the request; {@code keep} is set
     * exactly when the old mapping shows the same object pages the request maps there; a map ends
     * with one MAP of exactly the request, an unmap has none; the removed mappings cover every
     * mapped page of the request.
     *
     * @return the first mismatch, or null
     */
    String checkOps(List<VaOp> ops, int first, int n, Bound b, int objFirst) {
        long start = addr(first);
        long end = addr(first + n);
        long removed = 0;
        long lastEnd = Long.MIN_VALUE;
        for (int k = 0; k < ops.size(); k++) {
            GpuVa old;
            boolean keep;
            switch (ops.get(k)) {
                case VaOp.Map m -> {
                    if (b == null || k != ops.size() - 1
                            || !m.va().equals(new GpuVa(start, end - start, b.s.bo, (long) objFirst * pageSize))) {
                        return "MAP " + m.va() + " is not the last op of the map request, as requested";
                    }
                    continue;
                }
                case VaOp.Unmap u -> {
                    old = u.va();
                    keep = u.keep();
                    if (old.va() < start || old.va() + old.range() > end) {
                        return "UNMAP of " + old + ", not inside the request";
                    }
                }
                case VaOp.Remap r -> {
                    old = r.unmap().va();
                    keep = r.unmap().keep();
                    long oldEnd = old.va() + old.range();
                    GpuVa prev = old.va() < start ? new GpuVa(old.va(), start - old.va(), old.bo(), old.offset()) : null;
                    GpuVa next = oldEnd > end
                            ? new GpuVa(end, oldEnd - end, old.bo(), old.offset() + (end - old.va())) : null;
                    if ((prev == null && next == null) || !Objects.equals(prev, r.prev())
                            || !Objects.equals(next, r.next())) {
                        return "REMAP of " + old + " keeps " + r.prev() + " and " + r.next();
                    }
                }
            }
            if (old.va() < lastEnd) {
                return "ops out of address order at " + old;
            }
            lastEnd = old.va() + old.range();
            boolean sameView = b != null && old.bo() == b.s.bo
                    && old.offset() - old.va() == (long) objFirst * pageSize - start;
            if (keep != sameView) {
                return "keep " + keep + " for " + old;
            }
            String wrong = matches(old);
            if (wrong != null) {
                return "the removed mapping " + old + " " + wrong;
            }
            removed += Math.min(end, lastEnd) - Math.max(start, old.va());
        }
        if (b != null && (ops.isEmpty() || !(ops.getLast() instanceof VaOp.Map))) {
            return "no MAP at the end";
        }
        if (removed != (long) mappedIn(first, n) * pageSize) {
            return "the ops remove " + removed / pageSize + " pages of the request, the model has "
                    + mappedIn(first, n) + " mapped";
        }
        return null;
    }

    /** @return null if mapping m shows, page by page, what the model has; else where it differs */
    private String matches(GpuVa m) {
        for (long a = m.va(); a < m.va() + m.range(); a += pageSize) {
            int p = (int) ((a - base) / pageSize);
            int slot = a < base || p >= vaPages ? -1 : vaSlot[p] - 1;
            if (slot < 0 || !shows(m, p, slot)) {
                return "does not match the model at 0x" + Long.toHexString(a)
                        + (slot < 0 ? " (a hole)" : " (" + bound[slot].s + " page " + vaPage[p] + ")");
            }
        }
        return null;
    }

    /** Whether mapping m shows at VA page p what the model has: the object in slot, page vaPage[p]. */
    private boolean shows(GpuVa m, int p, int slot) {
        long a = addr(p);
        return m.bo() == bound[slot].s.bo && a >= m.va() && a < m.va() + m.range()
                && m.offset() + (a - m.va()) == (long) vaPage[p] * pageSize;
    }

    /**
     * Checks what {@code find} answered for VA page p.
     *
     * @param m the mapping found, or null
     * @return the mismatch, or null
     */
    String checkFound(int p, GpuVa m) {
        int slot = vaSlot[p] - 1;
        if (slot < 0 ? m == null : m != null && shows(m, p, slot)) {
            return null;
        }
        return "find(0x" + Long.toHexString(addr(p)) + ") gives " + m + ", the model "
                + (slot < 0 ? "a hole" : bound[slot].s + " page " + vaPage[p]);
    }

    /**
     * Checks {@code mappings()}: in address order, not overlapping, each as the model has it, and
     * covering every mapped page.
     *
     * @return the mismatch, or null
     */
    String checkMappings(List<GpuVa> all) {
        long pages = 0;
        long lastEnd = Long.MIN_VALUE;
        for (GpuVa m : all) {
            if (m.va() < lastEnd) {
                return "mappings() out of order or overlapping at " + m;
            }
            String wrong = matches(m);
            if (wrong != null) {
                return "mappings() holds " + m + ", which " + wrong;
            }
            lastEnd = m.va() + m.range();
            pages += m.range() / pageSize;
        }
        int mapped = mappedIn(0, vaPages);
        return pages == mapped ? null : "mappings() cover " + pages + " pages, the model " + mapped;
    }

    /**
     * Checks the objects of {@code externalObjects()}: exactly the mapped ones that are not local.
     *
     * @return the mismatch, or null
     */
    String checkExternals(Collection<BufferObject> external) {
        int want = 0;
        for (Bound b : bound) {
            if (b == null || !b.linked || b.local) {
                continue;
            }
            want++;
            if (external.stream().noneMatch(x -> x == b.s.bo)) {
                return "externalObjects() misses " + b.s;
            }
        }
        return external.size() == want ? null
                : "externalObjects() lists " + external.size() + " objects, the model has " + want + " mapped external ones";
    }

    /**
     * Checks the locks of {@code lockAll(extras)}: the VM's reservation first, then exactly those
     * of the mapped external objects and of the extras, each once.
     *
     * @return the mismatch, or null
     */
    String checkLocks(List<Reservation> locked, Reservation vmResv, BufferObject[] extras) {
        Set<Reservation> want = new HashSet<>();
        want.add(vmResv);
        for (Bound b : bound) {
            if (b != null && b.linked && !b.local) {
                want.add(b.s.bo.resv());
            }
        }
        for (BufferObject x : extras) {
            want.add(x.resv());
        }
        if (!locked.isEmpty() && locked.getFirst().equals(vmResv) && locked.size() == want.size()
                && want.containsAll(locked)) {
            return null;
        }
        return "lockAll locked " + locked + ", expected the VM's " + vmResv + " first, then " + want.size() + " in all";
    }
}
