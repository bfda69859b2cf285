package dev.memmgr;

import static dev.memmgr.GpuVmTestSupport.PAGE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memmgr.ModelRunner.Action;
import dev.memmgr.ModelRunner.Step;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.function.Executable;

/**
 * A model test of GPU VMs (DESIGN.md 4.3) on seeded generators ({@link ModelRunner}: the seed is
 * printed on failure, {@code -Dmemmgr.seed=N} reruns a try): random sequences of map, unmap,
 * handle close, object creation, CPU access, reclaim and validate on a few objects (of the
 * client, VM-local, of another client) in a small VM, against a per-page model of the address
 * space. After each step: {@code mappings()} equals the model; every object's refCount, link,
 * link mappings, external and evicted flags match it; the external and evicted lists hold exactly
 * the objects the model says. Each map and unmap is planned first (the plan equals the applied
 * ops and changes nothing), and its ops are checked against the split rules computed from the
 * model: overlapping mappings in address order, REMAP with exactly the parts outside the request
 * (the next piece's offset moved by the cut), UNMAP for those inside, keep exactly when the same
 * object keeps the same offset-address distance (map only), one MAP last for map, none for
 * unmap. Content read through the VM equals the model byte for byte; accesses over unmapped
 * pages fault at the first unmapped byte and change nothing. At the end of each try the VM is
 * closed (every reference dropped) and the clients too: every frame is back.
 */
@ExtendWith(MemmgrExtension.class)
class GpuVmModelTest {
    /** The VM: {@link #VM_PAGES} pages from page {@link #VM_BASE_PAGE}. */
    private static final int VM_BASE_PAGE = 8;
    private static final int VM_PAGES = 32;
    private static final long VM_BASE = (long) VM_BASE_PAGE * PAGE;
    /** The longest request, in pages. */
    private static final int MAX_RANGE = 12;

    /** Where an object of a slot comes from. */
    enum Kind { CLIENT, LOCAL, OTHER_CLIENT }

    /** The object slots: sizes in pages, kinds, and the address-offset distance of "coherent" maps. */
    private static final int[] SLOT_PAGES = {3, 5, 8, 12};
    private static final Kind[] SLOT_KIND = {Kind.CLIENT, Kind.LOCAL, Kind.CLIENT, Kind.OTHER_CLIENT};
    private static final int[] SLOT_DISTANCE = {0, 2, 5, 9};

    /** One object of a try and what the model knows of it. */
    static final class Obj {
        final int slot;
        final int serial;
        final BufferObject bo;
        final byte[] content;
        boolean handleOpen = true;
        boolean freed;

        Obj(int slot, int serial, BufferObject bo) {
            this.slot = slot;
            this.serial = serial;
            this.bo = bo;
            this.content = new byte[SLOT_PAGES[slot] * PAGE];
        }

        Kind kind() {
            return SLOT_KIND[slot];
        }

        int pages() {
            return SLOT_PAGES[slot];
        }

        @Override
        public String toString() {
            return "o" + slot + "." + serial;
        }
    }

    /** What the model knows of one VM page: the mapping it belongs to (an id), the object and its page. */
    record Cell(int id, Obj obj, int objPage) {
    }

    /** A mapping of the model, in bytes. */
    record ModelMapping(long va, long range, Obj obj, long offset) {
        long end() {
            return va + range;
        }

        GpuVa gpuVa() {
            return new GpuVa(va, range, obj.bo, offset);
        }
    }

    /** The state of one try: the VM, its objects, and the model. */
    static final class World {
        final MemoryManager mm;
        final Client client;
        final Client other;
        final GpuVm vm;
        final Obj[] slots = new Obj[SLOT_PAGES.length];
        final List<Obj> objects = new ArrayList<>();
        final Cell[] cells = new Cell[VM_PAGES];
        /** Linked objects in the order they were linked. */
        final LinkedHashSet<Obj> linked = new LinkedHashSet<>();
        final Set<Obj> evicted = new HashSet<>();
        final Set<String> events = new TreeSet<>();
        int nextId = 1;

        World(MemoryManager mm) {
            this.mm = mm;
            this.client = mm.openClient("model");
            this.other = mm.openClient("model-other");
            this.vm = client.createVm("model", VM_BASE, (long) VM_PAGES * PAGE);
        }

        // ---- the model -------------------------------------------------------------------

        List<ModelMapping> modelMappings() {
            List<ModelMapping> out = new ArrayList<>();
            for (int p = 0; p < VM_PAGES; ) {
                Cell c = cells[p];
                if (c == null) {
                    p++;
                    continue;
                }
                int q = p;
                while (q < VM_PAGES && cells[q] != null && cells[q].id() == c.id()) {
                    assertEquals(c.obj(), cells[q].obj(), "model: one object per mapping");
                    assertEquals(c.objPage() + (q - p), cells[q].objPage(), "model: contiguous object pages");
                    q++;
                }
                out.add(new ModelMapping(VM_BASE + (long) p * PAGE, (long) (q - p) * PAGE, c.obj(), (long) c.objPage() * PAGE));
                p = q;
            }
            return out;
        }

        List<GpuVa> expectedMappings() {
            return modelMappings().stream().map(ModelMapping::gpuVa).toList();
        }

        /** The ops of the split rules for a map (obj non-null) or unmap request, from the model. */
        List<VaOp> expectedOps(long va, long range, Obj obj, long offset) {
            long end = va + range;
            List<VaOp> ops = new ArrayList<>();
            for (ModelMapping m : modelMappings()) {
                if (m.end() <= va || m.va() >= end) {
                    continue;
                }
                GpuVa prev = m.va() < va ? new GpuVa(m.va(), va - m.va(), m.obj().bo, m.offset()) : null;
                GpuVa next = m.end() > end ? new GpuVa(end, m.end() - end, m.obj().bo, m.offset() + (end - m.va())) : null;
                boolean keep = obj != null && m.obj() == obj && m.offset() - m.va() == offset - va;
                VaOp.Unmap u = new VaOp.Unmap(m.gpuVa(), keep);
                ops.add(prev == null && next == null ? u : new VaOp.Remap(u, prev, next));
                events.add(keep ? "keep" : "no keep");
                if (prev != null && next != null) {
                    events.add("remap with both pieces");
                } else if (prev != null || next != null) {
                    events.add("remap with one piece");
                } else {
                    events.add("unmap inside");
                }
            }
            if (obj != null) {
                ops.add(new VaOp.Map(new GpuVa(va, range, obj.bo, offset)));
            }
            return ops;
        }

        /** Applies a request to the model: cut pieces become new mappings; the request's pages become one. */
        void applyModel(int vaPage, int rangePages, Obj obj, int offPage) {
            int end = vaPage + rangePages;
            Set<Integer> cut = new HashSet<>();
            for (int p = vaPage; p < end; p++) {
                if (cells[p] != null) {
                    cut.add(cells[p].id());
                }
            }
            // the pieces outside the request of a cut mapping: below it one id, above it another
            for (int id : cut) {
                int below = nextId++;
                int above = nextId++;
                for (int p = 0; p < VM_PAGES; p++) {
                    Cell c = cells[p];
                    if (c != null && c.id() == id && (p < vaPage || p >= end)) {
                        cells[p] = new Cell(p < vaPage ? below : above, c.obj(), c.objPage());
                    }
                }
            }
            int id = nextId++;
            for (int p = vaPage; p < end; p++) {
                cells[p] = obj == null ? null : new Cell(id, obj, offPage + (p - vaPage));
            }
        }

        boolean mapped(Obj o) {
            for (Cell c : cells) {
                if (c != null && c.obj() == o) {
                    return true;
                }
            }
            return false;
        }

        /** After a change of the mappings: links of objects without mappings go (and may free them). */
        void unlinkUnmapped() {
            for (Obj o : new ArrayList<>(linked)) {
                if (!mapped(o)) {
                    linked.remove(o);
                    evicted.remove(o);
                    events.add("unlinked");
                    if (!o.handleOpen) {
                        o.freed = true;
                        events.add("freed by unmap");
                    }
                }
            }
        }

        int refCount(Obj o) {
            return o.freed ? 0 : (o.handleOpen ? 1 : 0) + (linked.contains(o) ? 1 : 0);
        }

        // ---- the steps -------------------------------------------------------------------

        void create(int slot) {
            Obj cur = slots[slot];
            if (cur != null && !cur.freed) {
                return;
            }
            long size = (long) SLOT_PAGES[slot] * PAGE;
            BufferObject bo = switch (SLOT_KIND[slot]) {
                case CLIENT -> client.create(size);
                case LOCAL -> vm.createLocal(size);
                case OTHER_CLIENT -> other.create(size);
            };
            Obj o = new Obj(slot, objects.size(), bo);
            slots[slot] = o;
            objects.add(o);
        }

        void map(int slot, int vaPage, int rangePages, int offPage) {
            Obj o = slots[slot];
            if (o == null) {
                return;
            }
            long va = VM_BASE + (long) vaPage * PAGE;
            long range = (long) rangePages * PAGE;
            long offset = (long) offPage * PAGE;
            if (offPage + rangePages > o.pages()) {
                unchanged(IndexOutOfBoundsException.class, () -> vm.planMap(va, range, o.bo, offset), "planMap past " + o);
                unchanged(IndexOutOfBoundsException.class, () -> vm.map(va, range, o.bo, offset), "map past " + o);
                events.add("object range refused");
                return;
            }
            if (o.freed) {
                unchanged(IllegalStateException.class, () -> vm.planMap(va, range, o.bo, offset), "planMap of freed " + o);
                unchanged(IllegalStateException.class, () -> vm.map(va, range, o.bo, offset), "map of freed " + o);
                events.add("freed object refused");
                return;
            }
            List<VaOp> expected = expectedOps(va, range, o, offset);
            List<GpuVa> before = vm.mappings();
            assertEquals(expected, vm.planMap(va, range, o.bo, offset), "planMap");
            assertEquals(before, vm.mappings(), "planMap changes nothing");
            boolean newLink = !linked.contains(o);
            Residency r = o.bo.residency();
            assertEquals(expected, vm.map(va, range, o.bo, offset), "map");
            if (newLink) {
                linked.add(o);
                if (r == Residency.EVICTED || r == Residency.PURGED) {
                    evicted.add(o);
                    events.add("mapped while evicted");
                }
            }
            applyModel(vaPage, rangePages, o, offPage);
            unlinkUnmapped();
        }

        void unmap(int vaPage, int rangePages) {
            long va = VM_BASE + (long) vaPage * PAGE;
            long range = (long) rangePages * PAGE;
            List<VaOp> expected = expectedOps(va, range, null, 0);
            List<GpuVa> before = vm.mappings();
            assertEquals(expected, vm.planUnmap(va, range), "planUnmap");
            assertEquals(before, vm.mappings(), "planUnmap changes nothing");
            assertEquals(expected, vm.unmap(va, range), "unmap");
            if (expected.isEmpty()) {
                events.add("unmap of nothing");
            }
            applyModel(vaPage, rangePages, null, 0);
            unlinkUnmapped();
        }

        void closeHandle(int slot) {
            Obj o = slots[slot];
            if (o == null || o.freed) {
                return;
            }
            o.bo.close();
            o.handleOpen = false;
            if (!linked.contains(o)) {
                o.freed = true;
            } else {
                events.add("handle closed while mapped");
            }
        }

        /** The first byte of [va, va + length) that the model maps nothing at, or -1. */
        long firstUnmapped(long va, long length) {
            for (long p = Math.floorDiv(va - VM_BASE, PAGE); p * PAGE + VM_BASE < va + length; p++) {
                if (p < 0 || p >= VM_PAGES || cells[(int) p] == null) {
                    return Math.max(va, VM_BASE + p * PAGE);
                }
            }
            return -1;
        }

        void write(long va, int length, byte b) {
            long fault = firstUnmapped(va, length);
            byte[] src = new byte[length];
            Arrays.fill(src, b);
            if (fault >= 0) {
                List<GpuVa> before = vm.mappings();
                GpuPageFaultException e = assertThrows(GpuPageFaultException.class,
                        () -> vm.write(va, MemorySegment.ofArray(src)), "write over an unmapped page");
                assertEquals(fault, e.address(), "the first unmapped byte");
                assertEquals(before, vm.mappings());
                events.add("fault");
                return;
            }
            vm.write(va, MemorySegment.ofArray(src));
            for (long a = va; a < va + length; a++) {
                Cell c = cells[(int) ((a - VM_BASE) / PAGE)];
                c.obj().content[(int) ((long) c.objPage() * PAGE + (a - VM_BASE) % PAGE)] = b;
            }
        }

        void read(long va, int length) {
            long fault = firstUnmapped(va, length);
            byte[] dst = new byte[length];
            Arrays.fill(dst, (byte) 0x5A);
            if (fault >= 0) {
                GpuPageFaultException e = assertThrows(GpuPageFaultException.class,
                        () -> vm.read(va, MemorySegment.ofArray(dst)), "read over an unmapped page");
                assertEquals(fault, e.address(), "the first unmapped byte");
                byte[] untouched = new byte[length];
                Arrays.fill(untouched, (byte) 0x5A);
                assertArrayEquals(untouched, dst, "nothing copied on a fault");
                events.add("fault");
                return;
            }
            vm.read(va, MemorySegment.ofArray(dst));
            byte[] expected = new byte[length];
            for (int i = 0; i < length; i++) {
                long a = va + i;
                Cell c = cells[(int) ((a - VM_BASE) / PAGE)];
                expected[i] = c.obj().content[(int) ((long) c.objPage() * PAGE + (a - VM_BASE) % PAGE)];
            }
            Fixture.assertBytes(expected, dst, "read through the VM at " + va);
        }

        void reclaim() {
            mm.reclaim(mm.capacity());
            for (Obj o : linked) {
                if (o.bo.residency() == Residency.EVICTED) {
                    if (evicted.add(o)) {
                        events.add("evicted while mapped");
                    }
                }
            }
        }

        void validate() {
            try (Exec exec = vm.lockAll()) {
                List<Reservation> expected = new ArrayList<>();
                expected.add(vm.resv());
                for (VmBo l : vm.externalObjects()) {
                    expected.add(l.bo().resv());
                }
                assertEquals(expected, exec.locked(), "lockAll: the VM, then every external object");
                if (!evicted.isEmpty()) {
                    events.add("validate of evicted");
                }
                vm.validate();
            }
            evicted.clear();
            for (Obj o : linked) {
                assertTrue(o.bo.residency() != Residency.EVICTED, o + " swapped in by validate");
            }
        }

        private void unchanged(Class<? extends Throwable> type, Executable call, String what) {
            List<GpuVa> before = vm.mappings();
            List<Integer> refs = objects.stream().map(o -> o.bo.refCount()).toList();
            assertThrows(type, call, what);
            assertEquals(before, vm.mappings(), what + ": nothing changes");
            assertEquals(refs, objects.stream().map(o -> o.bo.refCount()).toList(), what + ": references unchanged");
        }

        // ---- the invariant ---------------------------------------------------------------

        void check() {
            List<ModelMapping> model = modelMappings();
            assertEquals(expectedMappings(), vm.mappings(), "mappings()");
            Set<BufferObject> external = new HashSet<>();
            Set<BufferObject> evictedBos = new HashSet<>();
            for (Obj o : objects) {
                assertEquals(refCount(o), o.bo.refCount(), "refCount of " + o);
                boolean isLinked = linked.contains(o);
                var link = vm.vmBo(o.bo);
                assertEquals(isLinked, link.isPresent(), "a link exactly while mapped: " + o);
                if (isLinked) {
                    VmBo l = link.get();
                    assertEquals(model.stream().filter(m -> m.obj() == o).map(ModelMapping::gpuVa).toList(), l.mappings(),
                            "link mappings of " + o);
                    assertEquals(o.kind() != Kind.LOCAL, l.external(), "external: " + o);
                    assertEquals(evicted.contains(o), l.evicted(), "evicted mark of " + o);
                    if (o.kind() != Kind.LOCAL) {
                        external.add(o.bo);
                    }
                    if (evicted.contains(o)) {
                        evictedBos.add(o.bo);
                    }
                    if (o.bo.residency() == Residency.EVICTED) {
                        assertTrue(evicted.contains(o), "a mapped object that lost its frames is listed: " + o);
                    }
                }
                if (o.freed) {
                    assertEquals(0, o.bo.refCount(), o + " freed");
                }
            }
            assertEquals(external, Set.copyOf(vm.externalObjects().stream().map(VmBo::bo).toList()), "externalObjects()");
            assertEquals(external.size(), vm.externalObjects().size(), "externalObjects(): each once");
            assertEquals(evictedBos, Set.copyOf(vm.evicted().stream().map(VmBo::bo).toList()), "evicted()");
            assertEquals(evictedBos.size(), vm.evicted().size(), "evicted(): each once");
        }

        /** Closes the VM (every link's reference dropped) and the clients (every frame back). */
        void finish() {
            try {
                vm.close();
                for (Obj o : objects) {
                    assertEquals(o.handleOpen && !o.freed ? 1 : 0, o.bo.refCount(), "after VM close: " + o);
                }
            } finally {
                client.close();
                other.close();
            }
            assertEquals(mm.capacity(), mm.stats().free(), "every frame back after the try");
        }
    }

    // ---- drawing ------------------------------------------------------------------------------

    private static Step<World> step(String description, Consumer<World> op) {
        return new Step<>(description, op::accept);
    }

    private static Action<World> map() {
        return rnd -> {
            int slot = rnd.nextInt(SLOT_PAGES.length);
            int va = rnd.nextInt(VM_PAGES);
            int range = 1 + rnd.nextInt(Math.min(MAX_RANGE, VM_PAGES - va));
            int pages = SLOT_PAGES[slot];
            // mostly inside the object; 1 in 8 (and whenever the range is longer than it) past its end
            int off = rnd.nextInt(8) == 0 || range > pages ? pages - range + 1 + rnd.nextInt(2)
                    : rnd.nextInt(pages - range + 1);
            int offset = Math.max(0, off);
            return step("map(va " + va + ", " + range + "p, o" + slot + " @" + offset + ")",
                    w -> w.map(slot, va, range, offset));
        };
    }

    /** A map at the slot's fixed offset-address distance: overlaps of these keep. */
    private static Action<World> mapCoherent() {
        return rnd -> {
            int slot = rnd.nextInt(SLOT_PAGES.length);
            int d = SLOT_DISTANCE[slot];
            int pages = SLOT_PAGES[slot];
            int va = d + rnd.nextInt(Math.min(pages, VM_PAGES - d));
            int range = 1 + rnd.nextInt(Math.min(pages - (va - d), VM_PAGES - va));
            return step("map(va " + va + ", " + range + "p, o" + slot + " @" + (va - d) + ") coherent",
                    w -> w.map(slot, va, range, va - d));
        };
    }

    private static Action<World> unmap() {
        return rnd -> {
            int va = rnd.nextInt(VM_PAGES);
            int range = 1 + rnd.nextInt(Math.min(MAX_RANGE, VM_PAGES - va));
            return step("unmap(va " + va + ", " + range + "p)", w -> w.unmap(va, range));
        };
    }

    /** An access of a few pages, starting and ending anywhere in a page, now and then outside the VM. */
    private static Action<World> access(boolean write) {
        return rnd -> {
            int page = rnd.nextInt(VM_PAGES + 2) - 1;
            int pages = 1 + rnd.nextInt(4);
            int head = rnd.nextInt(PAGE);
            int tail = rnd.nextInt(PAGE);
            long va = VM_BASE + (long) page * PAGE + head;
            int length = Math.max(1, pages * PAGE - head - tail);
            byte b = (byte) (1 + rnd.nextInt(255));
            return write ? step("write(" + va + ", " + length + ", " + b + ")", w -> w.write(va, length, b))
                    : step("read(" + va + ", " + length + ")", w -> w.read(va, length));
        };
    }

    private static Action<World> perSlot(String name, BiConsumer<World, Integer> op) {
        return rnd -> {
            int slot = rnd.nextInt(SLOT_PAGES.length);
            return step(name + "(o" + slot + ")", w -> op.accept(w, slot));
        };
    }

    @Test
    void randomMapUnmapSequencesAgainstAPerPageModel(Fixture f, TestInfo info) {
        MemoryManager mm = f.manager();
        ModelRunner.Report report = new ModelRunner<World>(info, rnd -> {
            World w = new World(mm);
            for (int s = 0; s < SLOT_PAGES.length; s++) {
                w.create(s);
            }
            return w;
        })
                .action(10, map())
                .action(6, mapCoherent())
                .action(6, unmap())
                .action(2, perSlot("closeHandle", World::closeHandle))
                .action(2, perSlot("create", World::create))
                .action(3, access(true))
                .action(3, access(false))
                .action(2, "reclaim", World::reclaim)
                .action(2, "validate", World::validate)
                .invariant(World::check)
                .tearDown(World::finish)
                .events(w -> w.events)
                .tries(120)
                .steps(10, 50)
                .run();
        report.assertCovered("keep", "no keep", "remap with both pieces", "remap with one piece", "unmap inside",
                "unmap of nothing", "unlinked", "freed by unmap", "handle closed while mapped", "mapped while evicted",
                "evicted while mapped", "validate of evicted", "fault", "freed object refused", "object range refused");
    }
}
