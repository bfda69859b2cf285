package dev.memmgr;

import static dev.memmgr.Fixture.assertContent;
import static dev.memmgr.Fixture.contentOf;
import static dev.memmgr.Fixture.writePattern;
import static dev.memmgr.GpuVmTestSupport.pg;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * References as seed 001 settles them (DESIGN.md 4.3): a VmBo holds its object (one reference
 * however many mappings) and exists exactly while the object has a mapping in the VM; a mapped
 * object outlives its closed handle and the last unmap frees it; VM close, client close and
 * manager close unmap everything and drop every VmBo; VmBo values.
 */
@ExtendWith(MemmgrExtension.class)
class GpuVmReferenceTest {
    private MemoryManager mm;
    private Client client;
    private GpuVm vm;

    @BeforeEach
    void setUp(Fixture f) {
        mm = f.manager();
        client = f.client(mm, "refs");
        vm = client.createVm("refs", 0, pg(1024));
    }

    @Test
    void oneReferenceHoweverManyMappings() {
        BufferObject a = client.create(pg(8));
        assertEquals(1, a.refCount());
        vm.map(0, pg(2), a, 0);
        assertEquals(2, a.refCount(), "the link holds one reference");
        vm.map(pg(10), pg(2), a, pg(2));
        vm.map(pg(20), pg(8), a, 0);
        assertEquals(3, vm.vmBo(a).orElseThrow().mappings().size());
        assertEquals(2, a.refCount(), "still one: one link, however many mappings");
        vm.unmap(pg(1), pg(1)); // cuts the first mapping to its first page
        assertEquals(3, vm.vmBo(a).orElseThrow().mappings().size());
        assertEquals(2, a.refCount());
        vm.unmap(0, pg(20));
        assertEquals(2, a.refCount(), "a mapping left");
        assertTrue(vm.vmBo(a).isPresent());
        vm.unmap(pg(20), pg(8));
        assertEquals(1, a.refCount(), "the last unmap drops the link's reference");
        assertEquals(Optional.empty(), vm.vmBo(a));
    }

    @Test
    void twoVmsTwoReferences() {
        GpuVm other = client.createVm("other", pg(1 << 20), pg(64));
        BufferObject a = client.create(pg(4));
        vm.map(0, pg(4), a, 0);
        other.map(pg(1 << 20), pg(4), a, 0);
        assertEquals(3, a.refCount(), "one per VM");
        VmBo here = vm.vmBo(a).orElseThrow();
        VmBo there = other.vmBo(a).orElseThrow();
        assertNotEquals(here, there, "one link per (VM, object)");
        assertSame(vm, here.vm());
        assertSame(other, there.vm());
        other.close();
        assertEquals(2, a.refCount());
        assertTrue(vm.vmBo(a).isPresent());
    }

    @Test
    void planningTakesNoReference() {
        BufferObject a = client.create(pg(4));
        vm.planMap(0, pg(4), a, 0);
        assertEquals(1, a.refCount());
        assertEquals(Optional.empty(), vm.vmBo(a));
        assertEquals(List.of(), vm.externalObjects());
    }

    @Test
    void vmBoPresentExactlyWhileMappedAndItsValues() {
        BufferObject a = client.create(pg(8));
        BufferObject b = client.create(pg(8));
        assertEquals(Optional.empty(), vm.vmBo(a));
        vm.map(pg(4), pg(2), a, pg(6));
        vm.map(pg(6), pg(2), b, 0);
        vm.map(0, pg(1), a, 0);
        VmBo la = vm.vmBo(a).orElseThrow();
        assertSame(a, la.bo());
        assertSame(vm, la.vm());
        assertTrue(la.external(), "an object of the client: its own reservation");
        assertFalse(la.evicted(), "unpopulated when mapped: nothing lost");
        assertEquals(List.of(new GpuVa(0, pg(1), a, 0), new GpuVa(pg(4), pg(2), a, pg(6))), la.mappings(),
                "its mappings, in address order");
        assertEquals(la, vm.vmBo(a).orElseThrow(), "two values of one link are equal");
        assertEquals(la.hashCode(), vm.vmBo(a).orElseThrow().hashCode());
        assertEquals(List.of(la, vm.vmBo(b).orElseThrow()), vm.externalObjects());
        assertNotEquals(la, vm.vmBo(b).orElseThrow());

        vm.unmap(0, pg(6));
        assertEquals(Optional.empty(), vm.vmBo(a), "gone with the last mapping");
        assertEquals(List.of(), la.mappings(), "an old value: no mappings once its link is gone");
        assertEquals(List.of(vm.vmBo(b).orElseThrow()), vm.externalObjects());
        vm.map(0, pg(1), a, 0);
        VmBo again = vm.vmBo(a).orElseThrow();
        assertNotEquals(la, again, "a new link, not the old one");
        assertEquals(List.of(new GpuVa(0, pg(1), a, 0)), again.mappings());
    }

    @Test
    void aMappedObjectOutlivesItsHandleAndTheLastUnmapFreesIt() {
        long free = mm.stats().free();
        BufferObject a = client.create(pg(4));
        int handle = a.handle();
        byte[] content = writePattern(a, 1);
        vm.map(pg(8), pg(4), a, 0);
        a.close();
        assertEquals(1, a.refCount(), "the link's reference keeps it");
        assertThrows(NoSuchHandleException.class, () -> client.lookup(handle), "the handle is gone");
        assertEquals(List.of(new GpuVa(pg(8), pg(4), a, 0)), vm.mappings(), "closing the handle does not unmap");
        assertContent(content, a, "the object stays usable");
        byte[] through = new byte[(int) pg(4)];
        vm.read(pg(8), MemorySegment.ofArray(through));
        Fixture.assertBytes(content, through, "read through the VM");

        vm.unmap(pg(8), pg(2));
        assertEquals(1, a.refCount(), "a mapping left");
        assertEquals(Residency.RESIDENT, a.residency());
        vm.unmap(pg(10), pg(2));
        assertEquals(0, a.refCount(), "the last unmap freed it");
        assertEquals(free, mm.stats().free(), "its frames are back");
        assertThrows(IllegalStateException.class, () -> contentOf(a));
        assertThrows(IllegalStateException.class, () -> vm.map(0, pg(1), a, 0), "a freed object cannot be mapped");
        assertEquals(List.of(), vm.mappings());
    }

    @Test
    void vmCloseUnmapsEverythingAndDropsEveryVmBo() {
        long free = mm.stats().free();
        BufferObject kept = client.create(pg(4));
        BufferObject closed = client.create(pg(4));
        BufferObject local = vm.createLocal(pg(4));
        writePattern(kept, 2);
        writePattern(closed, 3);
        byte[] lc = writePattern(local, 4);
        vm.map(0, pg(4), kept, 0);
        vm.map(pg(4), pg(2), kept, pg(2));
        vm.map(pg(8), pg(4), closed, 0);
        vm.map(pg(12), pg(4), local, 0);
        VmBo link = vm.vmBo(kept).orElseThrow();
        closed.close();
        assertEquals(List.of(2, 1, 2), List.of(kept.refCount(), closed.refCount(), local.refCount()));

        vm.close();
        assertEquals(List.of(1, 0, 1), List.of(kept.refCount(), closed.refCount(), local.refCount()),
                "each link's reference dropped once; the object with a closed handle freed");
        assertEquals(List.of(), link.mappings(), "an old link value after close");
        assertContent(lc, local, "a local object stays usable");
        vm.close(); // idempotent: no second drop
        assertEquals(List.of(1, 0, 1), List.of(kept.refCount(), closed.refCount(), local.refCount()));
        kept.close();
        local.close();
        assertEquals(free, mm.stats().free(), "every frame back");
    }

    @Test
    void clientCloseClosesItsVmsAndDropsTheirReferences(Fixture f) {
        Client other = f.client(mm, "other");
        BufferObject foreign = other.create(pg(4));
        BufferObject own = client.create(pg(4));
        vm.map(0, pg(4), foreign, 0);
        vm.map(pg(4), pg(4), own, 0);
        assertEquals(2, foreign.refCount());
        client.close();
        assertThrows(IllegalStateException.class, vm::mappings, "the client's VM is closed");
        assertEquals(1, foreign.refCount(), "the other client's object lost the link's reference only");
        assertEquals(0, own.refCount(), "the client's own object: handle and link gone");
        assertEquals("refs", vm.name(), "name() still answers");
        assertThrows(IllegalStateException.class, () -> client.createVm("late", 0, pg(1)));
    }

    @Test
    void managerCloseClosesTheVms() {
        BufferObject a = client.create(pg(4));
        vm.map(0, pg(4), a, 0);
        mm.close();
        assertThrows(IllegalStateException.class, vm::mappings);
        assertThrows(IllegalStateException.class, () -> vm.unmap(0, pg(4)));
        vm.close(); // idempotent, no error
        assertEquals(0, a.refCount());
    }

    @Test
    void aVmOfAnotherClientKeepsTheObjectWhenItsClientCloses(Fixture f) {
        Client other = f.client(mm, "other");
        BufferObject a = other.create(pg(4));
        byte[] content = writePattern(a, 9);
        vm.map(0, pg(4), a, 0);
        other.close();
        assertEquals(1, a.refCount(), "the handle went with its client; the link keeps the object");
        byte[] through = new byte[(int) pg(4)];
        vm.read(0, MemorySegment.ofArray(through));
        Fixture.assertBytes(content, through, "readable through the VM");
        vm.unmap(0, pg(4));
        assertEquals(0, a.refCount());
    }

    @Test
    void retainedReferencesAreIndependentOfTheLink() {
        BufferObject a = client.create(pg(4));
        a.retain();
        vm.map(0, pg(4), a, 0);
        assertEquals(3, a.refCount());
        a.close();
        a.release();
        assertEquals(1, a.refCount());
        assertEquals(Residency.UNPOPULATED, a.residency());
        vm.close();
        assertEquals(0, a.refCount());
    }
}
