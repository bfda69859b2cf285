package dev.memmgr;

import static dev.memmgr.Fixture.KiB;
import static dev.memmgr.Fixture.MiB;
import static dev.memmgr.Fixture.PAGE;
import static dev.memmgr.Fixture.assertBytes;
import static dev.memmgr.Fixture.assertContent;
import static dev.memmgr.Fixture.bytesOf;
import static dev.memmgr.Fixture.count;
import static dev.memmgr.Fixture.filled;
import static dev.memmgr.Fixture.pages;
import static dev.memmgr.Fixture.states;
import static dev.memmgr.Fixture.writePattern;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memmgr.internal.swap.SwapFaults;
import dev.memmgr.internal.sys.Errno;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Swap faults injected into a live manager's swap space ({@link SwapFaults}): failed and full
 * writes during eviction, failed and short reads and corrupted slots on swap-in, and a swap file
 * of a few pages. Nothing may be lost or silently replaced by wrong bytes.
 */
@ExtendWith(MemmgrExtension.class)
class SwapFaultTest {
    private static final long CAP = 8 * MiB;
    private static final long SWAP = 32 * MiB;

    private Fixture fx;
    private MemoryManager mm;
    private Client client;
    private SwapFaults faults;

    @BeforeEach
    void setUp(Fixture fx) {
        this.fx = fx;
        mm = fx.manager(CAP, SWAP);
        client = mm.openClient("faults");
        faults = SwapFaults.install(mm.device().swapSpace());
    }

    @AfterEach
    void tearDown() {
        faults.restore();
    }

    // ---- eviction writes -----------------------------------------------------------------------

    @Test
    void failedEvictionWriteLeavesTheObjectResidentAndIntact() {
        BufferObject bo = client.create(256 * KiB);
        byte[] p = writePattern(bo, 1);
        MemoryStats before = mm.stats();
        faults.failWrites(1000);

        long freed = mm.reclaim(Long.MAX_VALUE); // no exception: reclaim just frees less
        assertEquals(0, freed);
        assertTrue(faults.writeCalls() >= 1, "the eviction was attempted and failed");
        fx.expectEvictionFailureWarnings(bo);
        assertEquals(Residency.RESIDENT, bo.residency());
        assertEquals(before, mm.stats(), "no eviction counted, no slot kept, no frame freed");
        assertEquals(0, client.stats().evicted());
        assertContent(p, bo, "after the failed eviction");

        faults.restore();
        assertEquals(256 * KiB, mm.reclaim(Long.MAX_VALUE), "the next eviction works");
        assertEquals(Residency.EVICTED, bo.residency());
        assertEquals(1, mm.stats().evictions());
        assertContent(p, bo, "after eviction and swap-in");
    }

    @Test
    void aFenceAddedWithoutTheLockDuringAnEvictionKeepsTheObjectResident() throws Exception {
        BufferObject bo = client.create(256 * KiB);
        byte[] p = writePattern(bo, 2);
        MemoryStats before = mm.stats();
        Fence gpu = new Fence();
        faults.beforeNextWrite(() -> { // another thread submits work on the object mid-eviction
            Thread submitter = new Thread(() -> bo.resv().addFence(gpu, FenceUsage.WRITE), "submitter");
            submitter.start();
            try {
                submitter.join(Fixture.DEADLINE.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });

        assertEquals(0, mm.reclaim(Long.MAX_VALUE), "busy by the time the eviction would commit");
        assertTrue(faults.writeCalls() >= 1, "the eviction had started writing");
        assertFalse(bo.resv().isIdle(FenceUsage.BOOKKEEP));
        assertEquals(Residency.RESIDENT, bo.residency());
        MemoryStats after = mm.stats();
        assertEquals(List.of(before.resident(), 0L, 0L, before.free(), 256 * KiB),
                List.of(after.resident(), after.evictions(), after.swapUsed(), after.free(), after.busy()),
                "[resident, evictions, swapUsed, free, busy]: no eviction counted, no slot kept, no frame freed");
        assertContent(p, bo, "the busy object's content");

        gpu.signal();
        assertEquals(256 * KiB, mm.reclaim(Long.MAX_VALUE), "idle again: evicted");
        assertContent(p, bo, "after eviction and swap-in");
    }

    @Test
    void oneFailedWriteSparesTheOtherEvictions() {
        Map<BufferObject, byte[]> expected = new HashMap<>();
        List<BufferObject> bos = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            BufferObject bo = client.create(64 * KiB);
            expected.put(bo, writePattern(bo, i));
            bos.add(bo);
        }
        faults.failWrites(1);
        long freed = mm.reclaim(Long.MAX_VALUE);
        int evicted = count(bos, Residency.EVICTED);
        assertTrue(evicted >= 3, "only one write failed: " + evicted + " evicted");
        LogRecord failure = fx.logs().expectWarning("eviction of buffer object", "failed"); // one write failed: one report
        assertInstanceOf(SwapException.class, failure.getThrown());
        for (BufferObject bo : bos) {
            if (bo.residency() == Residency.RESIDENT) { // unless a second pass evicted it after all
                assertTrue(LogCapture.text(failure).contains("buffer object " + bo.handle() + " "),
                        "the report names the object left resident: " + LogCapture.text(failure));
            }
        }
        assertEquals(evicted * 64 * KiB, freed, "reclaim returns what it freed");
        MemoryStats s = mm.stats();
        assertEquals(evicted, s.evictions());
        assertEquals(evicted * 64 * KiB, s.swapUsed(), "the failed write's slots were given back");
        assertEquals(CAP - (4 - evicted) * 64 * KiB, s.free());
        for (Map.Entry<BufferObject, byte[]> e : expected.entrySet()) {
            assertContent(e.getValue(), e.getKey(), "object " + e.getKey().handle());
        }
    }

    @Test
    void failedWritesUnderDirectReclaimFailTheAllocationWithOutOfMemoryNotSwapException() {
        Map<BufferObject, byte[]> expected = new HashMap<>();
        List<BufferObject> bos = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            BufferObject bo = client.create(MiB);
            expected.put(bo, writePattern(bo, i));
            bos.add(bo);
        }
        List<Fixture.State> before = states(bos);
        MemoryStats statsBefore = mm.stats();
        faults.failWrites(Integer.MAX_VALUE);
        BufferObject extra = client.create(MiB);

        assertThrows(GpuOutOfMemoryException.class, () -> extra.write(0, filled(MiB, (byte) 1)),
                "the eviction failures are not the allocating caller's: it just finds no frames");
        assertTrue(faults.writeCalls() >= 1);
        for (LogRecord r : fx.logs().expectWarnings("eviction of buffer object", "failed")) {
            assertInstanceOf(SwapException.class, r.getThrown(), "each failed eviction is reported with its cause");
        }
        assertEquals(Residency.UNPOPULATED, extra.residency());
        assertEquals(before, states(bos));
        assertEquals(statsBefore, mm.stats());

        faults.restore();
        extra.write(0, filled(MiB, (byte) 1));
        assertEquals(1, mm.stats().evictions());
        for (Map.Entry<BufferObject, byte[]> e : expected.entrySet()) {
            assertContent(e.getValue(), e.getKey(), "object " + e.getKey().handle());
        }
    }

    @Test
    void diskFullDuringEvictionLeavesTheObjectResident() {
        BufferObject bo = client.create(128 * KiB);
        byte[] p = writePattern(bo, 3);
        faults.failWrites(1000, Errno.ENOSPC);
        assertEquals(0, mm.reclaim(Long.MAX_VALUE));
        assertTrue(faults.writeCalls() >= 1);
        for (LogRecord failure : fx.expectEvictionFailureWarnings(bo)) {
            assertTrue(failure.getThrown().getMessage().contains("ENOSPC"), failure.getThrown().getMessage());
        }
        assertEquals(Residency.RESIDENT, bo.residency());
        MemoryStats s = mm.stats();
        assertEquals(0, s.evictions());
        assertEquals(0, s.swapUsed());
        assertEquals(CAP - 128 * KiB, s.free());
        assertContent(p, bo, "after ENOSPC");
        try (Vmap v = bo.vmap()) { // eviction tore down the cached mapping before writing: a new one works
            assertBytes(p, bytesOf(v.segment()), "through a vmap");
        }
    }

    // ---- swap-in reads -------------------------------------------------------------------------

    /** The operations that swap an evicted object in. */
    enum SwapIn {
        GET_PAGES(BufferObject::getPages),
        PIN(BufferObject::pin),
        VMAP(bo -> bo.vmap()),
        READ(bo -> bo.read(0, MemorySegment.ofArray(new byte[PAGE]))),
        WRITE(bo -> bo.write(PAGE, MemorySegment.ofArray(new byte[8])));

        final Consumer<BufferObject> op;

        SwapIn(Consumer<BufferObject> op) {
            this.op = op;
        }
    }

    private BufferObject evicted(long size, long seed, Map<BufferObject, byte[]> expected) {
        BufferObject bo = client.create(size);
        expected.put(bo, writePattern(bo, seed));
        return bo;
    }

    @ParameterizedTest
    @EnumSource(SwapIn.class)
    void failedSwapInReadThrowsSwapExceptionAndTheObjectStaysEvicted(SwapIn op) {
        Map<BufferObject, byte[]> expected = new HashMap<>();
        BufferObject bo = evicted(64L * PAGE, 4, expected);
        assertEquals(64L * PAGE, mm.reclaim(Long.MAX_VALUE));
        MemoryStats before = mm.stats();
        Fixture.State state = Fixture.State.of(bo);

        faults.failReads(1);
        assertThrows(SwapException.class, () -> op.op.accept(bo));
        assertEquals(1, faults.readCalls());
        assertEquals(state, Fixture.State.of(bo), "still EVICTED, counts unchanged");
        assertEquals(Residency.EVICTED, bo.residency());
        assertEquals(before, mm.stats(), "slots kept, frames given back, no swap-in counted");

        faults.shortReads(1);
        assertThrows(SwapException.class, () -> op.op.accept(bo), "a short read fails the same way");
        assertEquals(state, Fixture.State.of(bo));
        assertEquals(before, mm.stats());

        faults.restore();
        assertContent(expected.get(bo), bo, "the retry swaps the right bytes in");
        assertEquals(1, mm.stats().swapIns());
        assertEquals(0, mm.stats().swapUsed());
    }

    @Test
    void corruptedSlotFailsSwapInAndNeverHandsOutWrongBytes() {
        Map<BufferObject, byte[]> expected = new HashMap<>();
        BufferObject victim = evicted(8L * PAGE, 5, expected);
        BufferObject other = evicted(8L * PAGE, 6, expected);
        other.pin(); // evict the victim alone: it gets every slot in use
        assertEquals(8L * PAGE, mm.reclaim(Long.MAX_VALUE));
        assertEquals(Residency.EVICTED, victim.residency());
        int used = (int) (mm.stats().swapUsed() / PAGE);
        assertEquals(8, used);
        for (int slot = 0; slot < used; slot++) { // the allocator hands out low slots first
            faults.corruptSlot(slot);
        }
        other.unpin();
        assertEquals(8L * PAGE, mm.reclaim(Long.MAX_VALUE), "the other object is evicted to fresh slots");
        assertEquals(Residency.EVICTED, other.residency());
        MemoryStats before = mm.stats();

        byte[] sentinel = new byte[8 * PAGE];
        java.util.Arrays.fill(sentinel, (byte) 0x5A);
        byte[] dst = sentinel.clone();
        assertThrows(SwapException.class, () -> victim.read(0, MemorySegment.ofArray(dst)));
        Fixture.assertAllBytes((byte) 0x5A, dst, "the destination of a failed read receives nothing");
        for (SwapIn op : SwapIn.values()) {
            assertThrows(SwapException.class, () -> op.op.accept(victim), op.name());
        }
        assertEquals(Residency.EVICTED, victim.residency(), "keeps its slots");
        assertEquals(new Fixture.State(Residency.EVICTED, 1, 0, 0, 0), Fixture.State.of(victim));
        assertEquals(before, mm.stats());

        assertContent(expected.get(other), other, "other objects are unaffected");
        assertEquals(1, mm.stats().swapIns());
        assertThrows(SwapException.class, () -> victim.read(0, MemorySegment.ofArray(dst)), "still bad");
        Fixture.assertAllBytes((byte) 0x5A, dst, "still nothing");

        // the content is gone for good, but the object can still be dropped cleanly
        victim.close();
        assertEquals(0, mm.stats().swapUsed(), "freeing it frees its slots");
        assertEquals(CAP - 8L * PAGE, mm.stats().free());
    }

    // ---- a swap file of a few pages ------------------------------------------------------------

    @Test
    void tinySwapEvictsNoMoreThanItHoldsThenOutOfMemoryAndNothingIsDamaged() {
        MemoryManager tiny = fx.manager(64L * PAGE, 3L * PAGE);
        Client c = tiny.openClient("tiny");
        assertEquals(3L * PAGE, tiny.stats().swapCapacity());
        Map<BufferObject, byte[]> expected = new HashMap<>();
        List<BufferObject> bos = new ArrayList<>();
        for (int i = 0; i < 32; i++) { // 32 x 2 pages: memory full
            BufferObject bo = c.create(2L * PAGE);
            expected.put(bo, writePattern(bo, i));
            bos.add(bo);
        }
        BufferObject one = c.create(2L * PAGE);
        expected.put(one, writePattern(one, 40)); // evicts one object: 2 of 3 slots
        bos.add(one);
        assertEquals(1, tiny.stats().evictions());
        assertEquals(2L * PAGE, tiny.stats().swapUsed());

        BufferObject tooMuch = c.create(2L * PAGE);
        List<Fixture.State> before = states(bos);
        MemoryStats statsBefore = tiny.stats();
        assertThrows(GpuOutOfMemoryException.class, () -> tooMuch.write(0, filled(2L * PAGE, (byte) 1)),
                "one free slot cannot take an object of two pages");
        assertEquals(Residency.UNPOPULATED, tooMuch.residency());
        assertEquals(0, tiny.reclaim(Long.MAX_VALUE));
        assertEquals(before, states(bos));
        assertEquals(statsBefore, tiny.stats());
        assertEquals(1, count(bos, Residency.EVICTED), "no eviction beyond what the swap holds");
        assertEquals(2L * PAGE, tiny.stats().swapUsed());

        for (BufferObject bo : bos) {
            if (bo.residency() == Residency.RESIDENT) {
                assertContent(expected.get(bo), bo, "resident object " + bo.handle());
            }
        }
        // make room for the evicted object (its swap-in cannot evict: one free slot), then it comes back intact
        BufferObject gone = bos.stream().filter(b -> b.residency() == Residency.RESIDENT).findFirst().orElseThrow();
        gone.close();
        expected.remove(gone);
        for (Map.Entry<BufferObject, byte[]> e : expected.entrySet()) {
            assertContent(e.getValue(), e.getKey(), "object " + e.getKey().handle());
        }
    }
}
