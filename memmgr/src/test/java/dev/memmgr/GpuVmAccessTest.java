package dev.memmgr;

import static dev.memmgr.Fixture.assertAllBytes;
import static dev.memmgr.Fixture.assertBytes;
import static dev.memmgr.Fixture.assertContent;
import static dev.memmgr.Fixture.contentOf;
import static dev.memmgr.Fixture.pattern;
import static dev.memmgr.Fixture.writePattern;
import static dev.memmgr.GpuVmTestSupport.pg;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * CPU access through a VM (DESIGN.md 4.3): reads and writes at virtual addresses across several
 * mappings and objects, holes of an object read as zero, page faults at the first unmapped byte
 * with nothing copied, addresses outside the VM, swap-in of evicted objects, purged objects,
 * zero-length accesses.
 *
 * <p>The layout of most tests (VM at {@link #BASE}, in pages): [0, 2) object a from its page 1,
 * [2, 3) object b from page 0, [3, 5) object a from page 0 (a second mapping of the same object),
 * a hole [5, 6), [6, 7) object b from page 3.
 */
@ExtendWith(MemmgrExtension.class)
class GpuVmAccessTest {
    private static final long BASE = pg(64);
    private static final long SIZE = pg(16);

    private MemoryManager mm;
    private Client client;
    private GpuVm vm;
    private BufferObject a;
    private BufferObject b;
    private byte[] ca;
    private byte[] cb;

    @BeforeEach
    void setUp(Fixture f) {
        mm = f.manager();
        client = f.client(mm, "access");
        vm = client.createVm("access", BASE, SIZE);
        a = client.create(pg(4));
        b = client.create(pg(4));
        ca = writePattern(a, 1);
        cb = writePattern(b, 2);
        vm.map(BASE, pg(2), a, pg(1));
        vm.map(BASE + pg(2), pg(1), b, 0);
        vm.map(BASE + pg(3), pg(2), a, 0);
        vm.map(BASE + pg(6), pg(1), b, pg(3));
    }

    /** @return what the VM shows in [BASE, BASE + 7 pages), the hole as zeros */
    private byte[] view() {
        byte[] v = new byte[(int) pg(7)];
        System.arraycopy(ca, (int) pg(1), v, 0, (int) pg(2));
        System.arraycopy(cb, 0, v, (int) pg(2), (int) pg(1));
        System.arraycopy(ca, 0, v, (int) pg(3), (int) pg(2));
        System.arraycopy(cb, (int) pg(3), v, (int) pg(6), (int) pg(1));
        return v;
    }

    private byte[] read(long va, int n) {
        byte[] out = new byte[n];
        vm.read(va, MemorySegment.ofArray(out));
        return out;
    }

    @Test
    void readsSpanSeveralMappingsAndObjects() {
        byte[] v = view();
        assertBytes(Arrays.copyOfRange(v, 0, (int) pg(5)), read(BASE, (int) pg(5)), "the first five pages");
        int from = (int) pg(1) + 100;
        int to = (int) pg(4) + 7;
        assertBytes(Arrays.copyOfRange(v, from, to), read(BASE + from, to - from), "unaligned, across three mappings");
        assertBytes(Arrays.copyOfRange(v, (int) pg(6) + 5, (int) pg(6) + 6), read(BASE + pg(6) + 5, 1), "one byte");
    }

    @Test
    void writesSpanSeveralMappingsAndObjects() {
        int from = (int) pg(1) + 123;
        int to = (int) pg(5) - 9;
        byte[] src = pattern(77, to - from);
        vm.write(BASE + from, MemorySegment.ofArray(src));
        // VM [1p+123, 2p) -> a [2p+123, 3p); [2p, 3p) -> b [0, 1p); [3p, 5p-9) -> a [0, 2p-9)
        byte[] ea = ca.clone();
        byte[] eb = cb.clone();
        int k = 0;
        for (int i = (int) pg(2) + 123; i < pg(3); i++) {
            ea[i] = src[k++];
        }
        for (int i = 0; i < pg(1); i++) {
            eb[i] = src[k++];
        }
        for (int i = 0; i < pg(2) - 9; i++) {
            ea[i] = src[k++];
        }
        assertEquals(src.length, k);
        assertContent(ea, a, "object a after the write");
        assertContent(eb, b, "object b after the write");
        assertBytes(src, read(BASE + from, src.length), "read back through the VM");
    }

    @Test
    void holesInsideAnObjectReadAsZeroAndStayUnpopulated() {
        BufferObject sparse = client.create(pg(4));
        sparse.write(pg(2), Fixture.filled(pg(1), (byte) 9));
        vm.map(BASE + pg(8), pg(4), sparse, 0);
        byte[] got = read(BASE + pg(8), (int) pg(4));
        byte[] expected = new byte[(int) pg(4)];
        Arrays.fill(expected, (int) pg(2), (int) pg(3), (byte) 9);
        assertBytes(expected, got, "holes read as zero");

        BufferObject empty = client.create(pg(2));
        vm.map(BASE + pg(12), pg(2), empty, 0);
        long free = mm.stats().free();
        assertAllBytes((byte) 0, read(BASE + pg(12), (int) pg(2)), "an unpopulated object");
        assertEquals(Residency.UNPOPULATED, empty.residency(), "reading allocates nothing");
        assertEquals(free, mm.stats().free());

        vm.write(BASE + pg(13) + 10, MemorySegment.ofArray(new byte[] {5}));
        assertEquals(Residency.RESIDENT, empty.residency(), "a write populates");
        assertEquals(5, contentOf(empty)[(int) pg(1) + 10]);
    }

    @Test
    void aFaultNamesTheFirstUnmappedByteAndCopiesNothing() {
        byte[] dst = new byte[(int) pg(3)];
        Arrays.fill(dst, (byte) 0x5A);
        // from inside [3, 5) over the hole at 5
        GpuPageFaultException e = assertThrows(GpuPageFaultException.class,
                () -> vm.read(BASE + pg(4) + 1, MemorySegment.ofArray(dst)));
        assertEquals(BASE + pg(5), e.address());
        assertAllBytes((byte) 0x5A, dst, "destination untouched");

        // a write over the hole into b beyond it: nothing written anywhere
        byte[] src = pattern(5, (int) pg(3));
        e = assertThrows(GpuPageFaultException.class, () -> vm.write(BASE + pg(4), MemorySegment.ofArray(src)));
        assertEquals(BASE + pg(5), e.address());
        assertContent(ca, a, "object a unchanged");
        assertContent(cb, b, "object b unchanged");

        // starting in the hole, unaligned: the first byte itself
        e = assertThrows(GpuPageFaultException.class, () -> vm.read(BASE + pg(5) + 17, MemorySegment.ofArray(dst)));
        assertEquals(BASE + pg(5) + 17, e.address());
        // past the last mapping (7) inside the VM
        e = assertThrows(GpuPageFaultException.class, () -> vm.read(BASE + pg(6) + 1, MemorySegment.ofArray(dst)));
        assertEquals(BASE + pg(7), e.address());
        assertAllBytes((byte) 0x5A, dst, "destination untouched");
    }

    @Test
    void addressesOutsideTheVmFault() {
        BufferObject top = client.create(pg(1));
        vm.map(BASE + SIZE - pg(1), pg(1), top, 0);
        byte[] dst = new byte[16];
        long[] outside = {BASE - 1, BASE - pg(1), 0, -1, Long.MIN_VALUE, BASE + SIZE, Long.MAX_VALUE, Long.MAX_VALUE - 3};
        for (long va : outside) {
            GpuPageFaultException e = assertThrows(GpuPageFaultException.class, () -> vm.read(va, MemorySegment.ofArray(dst)),
                    "read at " + va);
            assertEquals(va, e.address(), "read at " + va);
            e = assertThrows(GpuPageFaultException.class, () -> vm.write(va, MemorySegment.ofArray(dst)), "write at " + va);
            assertEquals(va, e.address(), "write at " + va);
        }
        // from below the VM into its first mapping: faults at the first byte
        GpuPageFaultException e = assertThrows(GpuPageFaultException.class,
                () -> vm.read(BASE - 8, MemorySegment.ofArray(dst)));
        assertEquals(BASE - 8, e.address());
        // from the VM's last mapping past its end
        e = assertThrows(GpuPageFaultException.class, () -> vm.write(BASE + SIZE - 8, MemorySegment.ofArray(dst)));
        assertEquals(BASE + SIZE, e.address());
        assertAllBytes((byte) 0, contentOf(top), "nothing written");
    }

    @Test
    void evictedObjectsAreSwappedInAndPurgedOnesThrow() {
        mm.reclaim(mm.capacity());
        assertEquals(Residency.EVICTED, a.residency());
        assertBytes(Arrays.copyOfRange(view(), 0, (int) pg(2)), read(BASE, (int) pg(2)), "read swaps in");
        assertEquals(Residency.RESIDENT, a.residency());
        assertEquals(Residency.EVICTED, b.residency(), "only what the access touched");
        vm.write(BASE + pg(2), MemorySegment.ofArray(new byte[] {42}));
        assertEquals(Residency.RESIDENT, b.residency(), "a write swaps in");
        cb[0] = 42;
        assertContent(cb, b, "b after the write");

        BufferObject c = client.create(pg(2));
        writePattern(c, 3);
        vm.map(BASE + pg(8), pg(2), c, 0);
        assertEquals(true, c.madvise(Madvise.DONTNEED));
        mm.reclaim(mm.capacity());
        assertEquals(Residency.PURGED, c.residency());
        assertThrows(PurgedException.class, () -> read(BASE + pg(8), 1));
        assertThrows(PurgedException.class, () -> vm.write(BASE + pg(9), MemorySegment.ofArray(new byte[1])));
        assertEquals(Residency.PURGED, c.residency());
    }

    @Test
    void anAccessSpanningAPurgedObjectChangesNothing() {
        BufferObject c = client.create(pg(2));
        writePattern(c, 3);
        vm.map(BASE + pg(5), pg(1), c, 0); // fills the hole: [3, 5) a, [5, 6) c, [6, 7) b
        assertEquals(true, c.madvise(Madvise.DONTNEED));
        mm.reclaim(mm.capacity());
        assertEquals(Residency.PURGED, c.residency());
        MemoryStats before = mm.stats();

        byte[] src = pattern(8, (int) pg(3));
        assertThrows(PurgedException.class, () -> vm.write(BASE + pg(4), MemorySegment.ofArray(src)));
        assertEquals(Residency.EVICTED, a.residency(), "a write that fails changes nothing");
        assertEquals(Residency.EVICTED, b.residency());
        assertEquals(before.swapIns(), mm.stats().swapIns());
        assertContent(ca, a, "object a unchanged");
        assertContent(cb, b, "object b unchanged");

        byte[] dst = new byte[(int) pg(3)];
        Arrays.fill(dst, (byte) 0x33);
        assertThrows(PurgedException.class, () -> vm.read(BASE + pg(4), MemorySegment.ofArray(dst)));
        assertAllBytes((byte) 0x33, dst, "nothing copied");
    }

    @Test
    void zeroLengthAccessesDoNothing() {
        MemorySegment empty = MemorySegment.ofArray(new byte[0]);
        long[] anywhere = {BASE, BASE + pg(5), BASE - 1, -1, Long.MAX_VALUE, BASE + SIZE};
        mm.reclaim(mm.capacity());
        MemoryStats before = mm.stats();
        for (long va : anywhere) {
            vm.read(va, empty);
            vm.write(va, empty);
        }
        assertEquals(before, mm.stats(), "no swap-in, no population");
        assertEquals(Residency.EVICTED, a.residency());
        vm.close();
        assertThrows(IllegalStateException.class, () -> vm.read(BASE, empty), "but not on a closed VM");
        assertThrows(IllegalStateException.class, () -> vm.write(BASE, empty));
    }

    @Test
    void segmentsOfEveryKind() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment off = arena.allocate(pg(2) + 3);
            vm.read(BASE + pg(2) - 1, off);
            assertBytes(Arrays.copyOfRange(view(), (int) pg(2) - 1, (int) pg(4) + 2), off.toArray(ValueLayout.JAVA_BYTE), "into an off-heap segment");
            off.fill((byte) 4);
            vm.write(BASE + pg(2) - 1, off);
            assertAllBytes((byte) 4, read(BASE + pg(2) - 1, (int) (pg(2) + 3)), "from an off-heap segment");
        }
        MemorySegment readOnly = MemorySegment.ofArray(new byte[8]).asReadOnly();
        assertThrows(IllegalArgumentException.class, () -> vm.read(BASE, readOnly), "a read-only destination");
        vm.write(BASE, readOnly); // a read-only source is fine
        assertAllBytes((byte) 0, read(BASE, 8));
    }

    @Test
    void accessTakesNoLastingReference() {
        read(BASE, (int) pg(5));
        assertEquals(List.of(2, 2), List.of(a.refCount(), b.refCount()));
        a.close();
        b.close();
        assertBytes(Arrays.copyOfRange(view(), 0, (int) pg(5)), read(BASE, (int) pg(5)), "through the links");
        vm.close();
        assertEquals(List.of(0, 0), List.of(a.refCount(), b.refCount()));
    }
}
