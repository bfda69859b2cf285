package dev.memmgr.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.memmgr.BufferObject;
import dev.memmgr.Client;
import dev.memmgr.Exec;
import dev.memmgr.GpuVa;
import dev.memmgr.GpuVm;
import dev.memmgr.MemoryManager;
import dev.memmgr.Reservation;
import dev.memmgr.VaOp;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The stress tool's VM model ({@link VmModel}): it follows a real {@link GpuVm} through random
 * maps and unmaps, and each of its checks catches a wrong answer (tampered ops, page table
 * entries, external objects, lock sets) that the stress tool would otherwise accept.
 */
class VmModelTest {
    private static final int P = 4096;
    private static final int VA_PAGES = 64;
    private static final long BASE = 1L << 32;

    private MemoryManager mm;
    private GpuVm vm;
    private VmModel model;
    private BufferObject a;
    private BufferObject b;

    @BeforeEach
    void setUp() {
        mm = MemoryManager.builder().capacity(1 << 20).noSwap().backgroundReclaim(false).build();
        Client client = mm.openClient("test");
        a = client.create(16 * P);
        b = client.create(16 * P);
        vm = client.createVm("test", BASE, (long) VA_PAGES * P);
        model = new VmModel(P, VA_PAGES);
        model.base = BASE;
        model.bound[0] = new VmModel.Bound(new ShadowObject(1, Workload.Kind.VM, a, P), false, false);
        model.bound[1] = new VmModel.Bound(new ShadowObject(2, Workload.Kind.VM, b, P), false, false);
    }

    @AfterEach
    void tearDown() {
        mm.close();
    }

    /** Maps through the VM and the model; the ops must pass the check. */
    private void map(int first, int n, int slot, int objFirst) {
        List<VaOp> ops = vm.map(BASE + (long) first * P, (long) n * P, model.bound[slot].s.bo, (long) objFirst * P);
        assertNull(model.checkOps(ops, first, n, model.bound[slot], objFirst));
        model.set(first, n, slot, objFirst);
        linkAll();
    }

    private void linkAll() {
        for (VmModel.Bound x : model.bound) {
            if (x != null) {
                x.linked = x.mapped > 0;
            }
        }
    }

    private static GpuVa va(long firstPage, long pages, BufferObject bo, long objFirst) {
        return new GpuVa(BASE + firstPage * P, pages * P, bo, objFirst * P);
    }

    @Test
    void followsRandomMapsAndUnmapsOfARealVm() {
        long seed = 20261122L;
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int step = 0; step < 400; step++) {
            int n = 1 + rnd.nextInt(12);
            int first = rnd.nextInt(VA_PAGES - n + 1);
            String where = "seed " + seed + ", step " + step;
            if (rnd.nextInt(3) == 0) {
                List<VaOp> ops = vm.unmap(BASE + (long) first * P, (long) n * P);
                assertNull(model.checkOps(ops, first, n, null, 0), where);
                model.set(first, n, -1, 0);
                linkAll();
            } else {
                int slot = rnd.nextInt(2);
                map(first, n, slot, rnd.nextInt(16 - n + 1));
            }
            assertNull(model.checkMappings(vm.mappings()), where);
            for (int p = 0; p < VA_PAGES; p++) {
                assertNull(model.checkFound(p, vm.find(BASE + (long) p * P).orElse(null)), where);
            }
            List<BufferObject> external = new ArrayList<>();
            vm.externalObjects().forEach(v -> external.add(v.bo()));
            assertNull(model.checkExternals(external), where);
        }
    }

    @Test
    void catchesWrongOpsOfAMap() {
        map(10, 4, 0, 4);   // a pages 4..7 at VA pages 10..13
        map(14, 4, 1, 0);   // b pages 0..3 at VA pages 14..17
        // b pages 8..11 at VA 12..15: REMAP(a, prev 10..11), REMAP(b, next 16..17 at b page 2), MAP
        List<VaOp> ops = vm.planMap(BASE + 12L * P, 4L * P, b, 8L * P);
        VmModel.Bound mapped = model.bound[1];
        assertNull(model.checkOps(ops, 12, 4, mapped, 8));
        assertEquals(3, ops.size());

        assertNotNull(model.checkOps(ops.subList(0, 2), 12, 4, mapped, 8), "no MAP");
        assertNotNull(model.checkOps(ops.subList(1, 3), 12, 4, mapped, 8), "a cut mapping missing");
        assertNotNull(model.checkOps(List.of(ops.get(1), ops.get(0), ops.get(2)), 12, 4, mapped, 8), "out of order");
        VaOp.Remap cutB = (VaOp.Remap) ops.get(1);
        VaOp wrongNext = new VaOp.Remap(cutB.unmap(), null, va(16, 2, b, 1));
        assertNotNull(model.checkOps(List.of(ops.get(0), wrongNext, ops.get(2)), 12, 4, mapped, 8), "next offset");
        VaOp.Remap cutA = (VaOp.Remap) ops.get(0);
        VaOp wrongKeep = new VaOp.Remap(new VaOp.Unmap(cutA.unmap().va(), true), cutA.prev(), null);
        assertNotNull(model.checkOps(List.of(wrongKeep, ops.get(1), ops.get(2)), 12, 4, mapped, 8), "keep");
        VaOp wrongMap = new VaOp.Map(va(12, 4, b, 9));
        assertNotNull(model.checkOps(List.of(ops.get(0), ops.get(1), wrongMap), 12, 4, mapped, 8), "MAP not as requested");
        VaOp.Unmap foreign = new VaOp.Unmap(va(14, 4, a, 0), false);
        assertNotNull(model.checkOps(List.of(ops.get(0), new VaOp.Remap(foreign, null, va(16, 2, a, 2)), ops.get(2)),
                12, 4, mapped, 8), "a removed mapping the model does not have");
    }

    @Test
    void catchesWrongOpsOfAnIdenticalMapAndOfAnUnmap() {
        map(10, 4, 0, 4);
        List<VaOp> same = vm.planMap(BASE + 10L * P, 4L * P, a, 4L * P);
        assertNull(model.checkOps(same, 10, 4, model.bound[0], 4));
        assertEquals(new VaOp.Unmap(va(10, 4, a, 4), true), same.getFirst());
        assertNotNull(model.checkOps(List.of(new VaOp.Unmap(va(10, 4, a, 4), false), same.get(1)), 10, 4,
                model.bound[0], 4), "keep must be true for the same pages");

        List<VaOp> unmap = vm.planUnmap(BASE + 11L * P, 2L * P); // REMAP with prev and next
        assertNull(model.checkOps(unmap, 11, 2, null, 0));
        List<VaOp> withMap = new ArrayList<>(unmap);
        withMap.add(new VaOp.Map(va(11, 2, a, 5)));
        assertNotNull(model.checkOps(withMap, 11, 2, null, 0), "MAP in an unmap");
        assertNotNull(model.checkOps(List.of(), 11, 2, null, 0), "nothing removed where the model has pages");
        assertNull(model.checkOps(List.of(), 30, 2, null, 0), "nothing removed from a hole");
    }

    @Test
    void catchesWrongPageTables() {
        map(10, 4, 0, 4);
        GpuVa right = va(10, 4, a, 4);
        assertNull(model.checkFound(11, right));
        assertNotNull(model.checkFound(11, va(10, 4, a, 5)), "wrong object page");
        assertNotNull(model.checkFound(11, va(10, 4, b, 4)), "wrong object");
        assertNotNull(model.checkFound(11, null), "missing");
        assertNotNull(model.checkFound(20, va(20, 1, a, 0)), "mapped where the model has a hole");

        assertNull(model.checkMappings(List.of(right)));
        assertNotNull(model.checkMappings(List.of()), "a mapping missing");
        assertNotNull(model.checkMappings(List.of(right, va(20, 1, a, 0))), "an extra mapping");
        assertNotNull(model.checkMappings(List.of(va(12, 2, a, 6), va(10, 2, a, 4))), "out of order");
    }

    @Test
    void catchesWrongExternalObjectsAndLocks() {
        BufferObject local = vm.createLocal(4 * P);
        model.bound[2] = new VmModel.Bound(new ShadowObject(3, Workload.Kind.VM, local, P), true, false);
        map(0, 2, 0, 0);
        map(2, 2, 2, 0);
        assertNull(model.checkExternals(List.of(a)));
        assertNotNull(model.checkExternals(List.of()), "a missing");
        assertNotNull(model.checkExternals(List.of(a, local)), "a local object listed");
        assertNotNull(model.checkExternals(List.of(a, b)), "an unmapped object listed");

        BufferObject[] extras = {b};
        try (Exec e = vm.lockAll(extras)) {
            List<Reservation> locked = e.locked();
            assertNull(model.checkLocks(locked, vm.resv(), extras));
            assertNotNull(model.checkLocks(locked.reversed(), vm.resv(), extras), "the VM's not first");
            assertNotNull(model.checkLocks(locked.subList(0, 2), vm.resv(), extras), "the extra missing");
            assertNotNull(model.checkLocks(locked, vm.resv(), new BufferObject[0]), "an unasked lock");
        }
    }
}
