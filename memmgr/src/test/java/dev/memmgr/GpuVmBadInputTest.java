package dev.memmgr;

import static dev.memmgr.Fixture.writePattern;
import static dev.memmgr.GpuVmTestSupport.assertFailsUnchanged;
import static dev.memmgr.GpuVmTestSupport.pg;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Bad input (DESIGN.md 3 and 4.3): misaligned, empty, outside the VM or overflowing requests,
 * objects of another manager, object ranges out of bounds, nulls, in the documented order (null,
 * then alignment and VM bounds, then manager, then object range), each leaving the mappings,
 * links, lists, references and residency as they were; createVm's argument rules; a freed object;
 * every method of a closed VM.
 */
@ExtendWith(MemmgrExtension.class)
class GpuVmBadInputTest {
    private static final long BASE = pg(32);
    private static final long SIZE = pg(64);
    /** The largest page multiple. */
    private static final long TOP = Long.MAX_VALUE & -Fixture.PAGE;

    private MemoryManager mm;
    private Client client;
    private GpuVm vm;
    /** Mapped already (8 pages). */
    private BufferObject mapped;
    /** Not mapped (8 pages). */
    private BufferObject fresh;
    /** Of another manager (8 pages). */
    private BufferObject foreign;

    @BeforeEach
    void setUp(Fixture f) {
        mm = f.manager();
        client = f.client(mm, "bad");
        vm = client.createVm("bad", BASE, SIZE);
        mapped = client.create(pg(8));
        fresh = client.create(pg(8));
        foreign = f.client(f.manager(), "foreign").create(pg(8));
        writePattern(mapped, 1);
        writePattern(fresh, 2);
        vm.map(BASE, pg(4), mapped, 0);
        vm.map(BASE + pg(8), pg(4), mapped, pg(4));
    }

    private List<BufferObject> objects() {
        return List.of(mapped, fresh, foreign);
    }

    /** Which object a case maps. */
    enum Obj { FRESH, MAPPED, NULL, FOREIGN }

    /**
     * A bad map request and what it must throw; {@code aboutManager}: whether the message is about
     * the object's manager (telling apart which of two IllegalArgumentException checks ran first).
     */
    record Case(String name, long va, long range, Obj obj, long offset, Class<? extends Throwable> expected,
            boolean aboutManager) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static Case iae(String name, long va, long range, Obj obj, long offset) {
        return new Case(name, va, range, obj, offset, IllegalArgumentException.class, false);
    }

    static Stream<Case> mapCases() {
        return Stream.of(
                new Case("null object", BASE, pg(1), Obj.NULL, 0, NullPointerException.class, false),
                iae("va not a page multiple", BASE + 1, pg(1), Obj.FRESH, 0),
                iae("va one below a page", BASE + pg(1) - 1, pg(1), Obj.MAPPED, 0),
                iae("range not a page multiple", BASE, pg(1) + 1, Obj.FRESH, 0),
                iae("range under a page", BASE, 1, Obj.FRESH, 0),
                iae("offset not a page multiple", BASE, pg(1), Obj.FRESH, 1),
                iae("range zero", BASE, 0, Obj.FRESH, 0),
                iae("range negative", BASE, -pg(1), Obj.FRESH, 0),
                iae("range Long.MIN_VALUE", BASE, Long.MIN_VALUE, Obj.FRESH, 0),
                iae("below the VM", BASE - pg(1), pg(2), Obj.FRESH, 0),
                iae("negative va", -pg(1), pg(1), Obj.FRESH, 0),
                iae("va Long.MIN_VALUE", Long.MIN_VALUE, pg(1), Obj.FRESH, 0),
                iae("past the VM's end", BASE + SIZE - pg(1), pg(2), Obj.FRESH, 0),
                iae("at the VM's end", BASE + SIZE, pg(1), Obj.FRESH, 0),
                iae("far above the VM", TOP - pg(1), pg(1), Obj.FRESH, 0),
                iae("va + range overflows", TOP - pg(1), pg(4), Obj.FRESH, 0),
                iae("range larger than the VM", BASE, SIZE + pg(1), Obj.FRESH, 0),
                iae("huge range from inside", BASE + pg(1), TOP, Obj.FRESH, 0),
                new Case("object of another manager", BASE, pg(1), Obj.FOREIGN, 0, IllegalArgumentException.class, true),
                new Case("offset negative", BASE, pg(1), Obj.FRESH, -pg(1), IndexOutOfBoundsException.class, false),
                new Case("offset + range past the end", BASE, pg(4), Obj.FRESH, pg(5), IndexOutOfBoundsException.class, false),
                new Case("offset at the end", BASE, pg(1), Obj.MAPPED, pg(8), IndexOutOfBoundsException.class, false),
                new Case("range larger than the object", BASE, pg(9), Obj.FRESH, 0, IndexOutOfBoundsException.class, false),
                new Case("offset + range overflows", BASE, pg(2), Obj.FRESH, TOP, IndexOutOfBoundsException.class, false),
                new Case("offset Long.MIN_VALUE", BASE, pg(1), Obj.FRESH, Long.MIN_VALUE, IndexOutOfBoundsException.class,
                        false),
                // the order: null, then alignment and VM bounds, then manager, then object range
                new Case("null before misaligned va", BASE + 1, 0, Obj.NULL, -1, NullPointerException.class, false),
                iae("misaligned va before another manager", BASE + 1, pg(1), Obj.FOREIGN, 0),
                iae("outside the VM before another manager", BASE + SIZE, pg(1), Obj.FOREIGN, 0),
                iae("range zero before another manager", BASE, 0, Obj.FOREIGN, 0),
                iae("misaligned offset before another manager", BASE, pg(1), Obj.FOREIGN, 7),
                iae("misaligned offset before the object range", BASE, pg(1), Obj.FRESH, pg(100) + 7),
                iae("outside the VM before the object range", BASE + SIZE, pg(1), Obj.FRESH, -pg(1)),
                iae("range zero before the object range", BASE, 0, Obj.FRESH, pg(100)),
                new Case("another manager before the object range", BASE, pg(1), Obj.FOREIGN, pg(100),
                        IllegalArgumentException.class, true));
    }

    private BufferObject resolve(Obj o) {
        return switch (o) {
            case FRESH -> fresh;
            case MAPPED -> mapped;
            case NULL -> null;
            case FOREIGN -> foreign;
        };
    }

    @ParameterizedTest
    @MethodSource("mapCases")
    void mapRejects(Case c) {
        BufferObject bo = resolve(c.obj());
        Throwable e = assertFailsUnchanged(c.expected(), vm, objects(), () -> vm.map(c.va(), c.range(), bo, c.offset()),
                "map: " + c);
        Throwable p = assertFailsUnchanged(c.expected(), vm, objects(), () -> vm.planMap(c.va(), c.range(), bo, c.offset()),
                "planMap: " + c);
        if (c.expected() == IllegalArgumentException.class) {
            String msg = String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT);
            assertEquals(c.aboutManager(), msg.contains("manager"), "which check ran first: " + e.getMessage());
            assertEquals(e.getMessage(), p.getMessage(), "planMap checks as map does");
        }
        assertEquals(Optional.empty(), vm.vmBo(fresh));
        assertEquals(1, fresh.refCount());
    }

    static Stream<Case> unmapCases() {
        return mapCases().filter(c -> c.obj() == Obj.FRESH && c.offset() == 0 && c.expected() == IllegalArgumentException.class);
    }

    @ParameterizedTest
    @MethodSource("unmapCases")
    void unmapRejects(Case c) {
        assertFailsUnchanged(IllegalArgumentException.class, vm, objects(), () -> vm.unmap(c.va(), c.range()), "unmap: " + c);
        assertFailsUnchanged(IllegalArgumentException.class, vm, objects(), () -> vm.planUnmap(c.va(), c.range()),
                "planUnmap: " + c);
    }

    @Test
    void theEdgesOfTheVmAndOfTheObjectAreAccepted() {
        vm.map(BASE + SIZE - pg(8), pg(8), fresh, 0);
        vm.map(BASE + pg(20), pg(1), fresh, pg(7));
        assertEquals(2, vm.vmBo(fresh).orElseThrow().mappings().size());
        vm.unmap(BASE, SIZE);
        assertEquals(List.of(), vm.mappings());
        assertEquals(List.of(1, 1), List.of(fresh.refCount(), mapped.refCount()));
    }

    @Test
    void aFreedObjectCannotBeMapped() {
        BufferObject gone = client.create(pg(2));
        gone.close();
        assertEquals(0, gone.refCount());
        assertFailsUnchanged(IllegalStateException.class, vm, List.of(mapped, gone),
                () -> vm.map(BASE + pg(20), pg(2), gone, 0), "map of a freed object");
        assertEquals(Optional.empty(), vm.vmBo(gone));
        assertFailsUnchanged(IllegalStateException.class, vm, List.of(mapped, gone),
                () -> vm.planMap(BASE + pg(20), pg(2), gone, 0), "planMap of a freed object: map would throw");
    }

    @Test
    void nullsThrowNullPointerException() {
        assertThrows(NullPointerException.class, () -> vm.vmBo(null));
        assertThrows(NullPointerException.class, () -> vm.read(BASE, null));
        assertThrows(NullPointerException.class, () -> vm.write(BASE, null));
        assertThrows(NullPointerException.class, () -> vm.lockAll((BufferObject[]) null));
        assertThrows(NullPointerException.class, () -> vm.lockAll(fresh, null));
        assertFalse(vm.resv().isHeldByCurrentThread(), "nothing locked");
        assertTrue(Fixture.inOtherThread(() -> {
            boolean got = fresh.resv().tryLock();
            if (got) {
                fresh.resv().unlock();
            }
            return got;
        }), "nothing locked");
        assertThrows(NullPointerException.class, () -> client.createVm(null, 0, pg(1)));
    }

    @Test
    void vmBoOfAnotherManagersObjectIsEmpty() {
        assertEquals(Optional.empty(), vm.vmBo(foreign));
    }

    @Test
    void createVmArgumentRules(Fixture f) {
        long[][] bad = {
            {1, pg(1)}, {0, pg(1) + 1}, {pg(1), 100}, {-pg(1), pg(2)}, {Long.MIN_VALUE, pg(1)}, {0, 0}, {0, -pg(1)},
            {0, Long.MIN_VALUE}, {TOP, pg(1)}, {TOP - pg(1), pg(2)}, {pg(1), TOP},
        };
        for (long[] b : bad) {
            assertThrows(IllegalArgumentException.class, () -> client.createVm("x", b[0], b[1]),
                    "createVm(" + b[0] + ", " + b[1] + ")");
        }
        // the highest VM there can be: its end is the last page multiple
        GpuVm top = client.createVm("top", TOP - pg(1), pg(1));
        assertEquals(TOP - pg(1), top.start());
        assertEquals(pg(1), top.size());
        top.map(TOP - pg(1), pg(1), fresh, 0);
        top.write(TOP - 1, MemorySegment.ofArray(new byte[] {3}));
        assertEquals(3, Fixture.contentOf(fresh)[(int) pg(1) - 1]);
        GpuPageFaultException e = assertThrows(GpuPageFaultException.class,
                () -> top.read(TOP - 1, MemorySegment.ofArray(new byte[2])));
        assertEquals(TOP, e.address(), "the byte after the VM");
        GpuVm whole = client.createVm("whole", 0, TOP);
        assertEquals(TOP, whole.size());

        Client closed = f.client(mm, "closed");
        closed.close();
        assertThrows(IllegalStateException.class, () -> closed.createVm("x", 0, pg(1)));
        MemoryManager other = f.manager();
        Client c = f.client(other, "c");
        other.close();
        assertThrows(IllegalStateException.class, () -> c.createVm("x", 0, pg(1)));
    }

    @Test
    void aClosedVmAnswersOnlyItsIdentity() {
        Reservation r = vm.resv();
        BufferObject local = vm.createLocal(pg(1));
        VmBo link = vm.vmBo(mapped).orElseThrow();
        vm.close();
        assertEquals("bad", vm.name());
        assertEquals(BASE, vm.start());
        assertEquals(SIZE, vm.size());
        assertSame(client, vm.owner());
        assertEquals(r, vm.resv());
        assertEquals(local.resv(), vm.resv());
        MemorySegment one = MemorySegment.ofArray(new byte[1]);
        List<Executable> calls = List.of(
                () -> vm.createLocal(pg(1)),
                () -> vm.planMap(BASE, pg(1), fresh, 0),
                () -> vm.planUnmap(BASE, pg(1)),
                () -> vm.map(BASE, pg(1), fresh, 0),
                () -> vm.unmap(BASE, pg(1)),
                vm::mappings,
                () -> vm.mappings(BASE, pg(1)),
                () -> vm.find(BASE),
                () -> vm.vmBo(mapped),
                vm::externalObjects,
                vm::evicted,
                () -> vm.lockAll(),
                () -> vm.lockAll(fresh),
                vm::validate,
                () -> vm.read(BASE, one),
                () -> vm.write(BASE, one));
        for (int i = 0; i < calls.size(); i++) {
            assertThrows(IllegalStateException.class, calls.get(i), "call " + i + " on a closed VM");
        }
        assertFalse(vm.resv().isHeldByCurrentThread(), "a failed lockAll holds nothing");
        assertFalse(fresh.resv().isHeldByCurrentThread());
        vm.close();
        assertSame(mapped, link.bo(), "an old link still names its object");
        assertEquals(List.of(), link.mappings());
        assertEquals(List.of(1, 1, 1), List.of(mapped.refCount(), fresh.refCount(), local.refCount()));
    }
}
