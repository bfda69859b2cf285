package dev.memmgr;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(MemmgrExtension.class)
class GpuVmSmokeTest {
    private static final int P = 4096;

    @Test
    void mapReadEvictValidate(Fixture f) {
        MemoryManager mm = f.manager(1 << 20);
        Client c = f.client(mm, "vm");
        GpuVm vm = c.createVm("scene", 0, 1L << 30);
        BufferObject a = c.create(8 * P);
        a.write(0, Fixture.filled(8 * P, (byte) 7));
        List<VaOp> ops = vm.map(16 * P, 4 * P, a, 2 * P);
        assertEquals(1, ops.size());
        assertEquals(2, a.refCount());
        byte[] b = new byte[2 * P];
        vm.read(17 * P, MemorySegment.ofArray(b));
        assertEquals(7, b[0]);
        GpuPageFaultException e = assertThrows(GpuPageFaultException.class, () -> vm.read(19 * P, MemorySegment.ofArray(b)));
        assertEquals(20L * P, e.address());
        mm.reclaim(mm.capacity());
        assertEquals(Residency.EVICTED, a.residency());
        assertEquals(1, vm.evicted().size());
        assertThrows(IllegalStateException.class, vm::validate);
        try (Exec x = vm.lockAll()) {
            vm.validate();
            assertEquals(List.of(a.resv(), vm.resv()).size(), x.locked().size());
        }
        assertEquals(Residency.RESIDENT, a.residency());
        assertTrue(vm.evicted().isEmpty());
        a.close();
        assertEquals(1, a.refCount(), "the mapping keeps it alive");
        vm.unmap(0, 1L << 30);
        assertEquals(0, a.refCount());
        vm.close();
        assertThrows(IllegalStateException.class, vm::mappings);
    }
}
