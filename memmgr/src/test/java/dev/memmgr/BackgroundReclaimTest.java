package dev.memmgr;

import static dev.memmgr.Fixture.DEADLINE;
import static dev.memmgr.Fixture.KiB;
import static dev.memmgr.Fixture.MiB;
import static dev.memmgr.Fixture.PAGE;
import static dev.memmgr.Fixture.RECLAIM_THREAD;
import static dev.memmgr.Fixture.assertBytes;
import static dev.memmgr.Fixture.assertContent;
import static dev.memmgr.Fixture.awaitCondition;
import static dev.memmgr.Fixture.bytesOf;
import static dev.memmgr.Fixture.filled;
import static dev.memmgr.Fixture.liveThreadsNamed;
import static dev.memmgr.Fixture.states;
import static dev.memmgr.Fixture.writePattern;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The background reclaim thread (kswapd): woken when an allocation leaves free frames below the
 * low watermark, it reclaims until the high watermark, never touching pinned or busy objects, and
 * it stops when the manager closes. Waits are bounded polls on the manager's figures and on
 * {@code backgroundPasses()}; no outcome depends on timing.
 */
@ExtendWith(MemmgrExtension.class)
class BackgroundReclaimTest {
    /** 8 MiB: 2048 frames; low watermark 25 % (512 frames, 2 MiB), high 50 % (1024 frames, 4 MiB). */
    private static final long CAP = 8 * MiB;
    private static final long LOW = CAP / 4;
    private static final long HIGH = CAP / 2;
    private static final long OBJ = 256 * KiB;

    private Fixture fx;
    private MemoryManager mm;

    @BeforeEach
    void setUp(Fixture fx) {
        this.fx = fx;
    }

    /** A manager of {@link #CAP} with background reclaim at watermarks 25 % and 50 %. */
    private MemoryManager newManager() {
        return fx.build(fx.builder(CAP, 32 * MiB).watermarks(0.25, 0.5).backgroundReclaim(true));
    }

    /**
     * Writes objects of {@link #OBJ} until free memory is below the low watermark, then makes one
     * more allocation. While filling, the test holds each new object's reservation: the background
     * thread only try-locks, so it cannot evict them yet and free memory falls deterministically
     * (objects written earlier may still be evicted meanwhile: the loop goes on until free is
     * below the low watermark). Once they are unlocked, a last one-page allocation (closed at
     * once) wakes the thread with everything evictable.
     */
    private void fillBelowLowWatermark(Client c, Map<BufferObject, byte[]> expected, long seed) {
        List<Reservation> held = new ArrayList<>();
        try {
            for (int i = 0; mm.stats().free() >= LOW; i++) {
                assertTrue(i < 4 * CAP / OBJ, "memory never went below the low watermark: " + mm.stats());
                BufferObject bo = c.create(OBJ);
                Reservation r = bo.resv();
                r.lock();
                held.add(r);
                expected.put(bo, writePattern(bo, seed + i));
            }
        } finally {
            for (Reservation r : held) {
                r.unlock();
            }
        }
        trigger(c);
    }

    /** An allocation of one page, given back at once: wakes the thread if free is below the low watermark. */
    private static void trigger(Client c) {
        BufferObject t = c.create(PAGE);
        t.write(0, filled(PAGE, (byte) 1));
        t.close();
    }

    private void awaitFreeAtLeastHigh(long passesBefore) {
        awaitCondition(() -> mm.device().backgroundPasses() > passesBefore && mm.stats().free() >= HIGH,
                () -> "background reclaim up to the high watermark (" + HIGH + " bytes free): passes "
                        + mm.device().backgroundPasses() + ", " + mm.stats());
    }

    @Test
    void fillingBelowTheLowWatermarkMakesTheBackgroundThreadRestoreTheHighWatermark() {
        mm = newManager();
        Client c = mm.openClient("bg");
        long passes0 = mm.device().backgroundPasses();
        assertTrue(passes0 >= 0, "background reclaim is on");
        Map<BufferObject, byte[]> expected = new HashMap<>();

        fillBelowLowWatermark(c, expected, 0);
        awaitFreeAtLeastHigh(passes0);

        MemoryStats s = mm.stats();
        assertTrue(s.evictions() > 0, "the thread evicted: " + s);
        assertEquals(s.evicted(), s.swapUsed());
        assertEquals(CAP, s.resident() + s.free());
        // the last eviction of the pass may still be finishing (frames go before the state changes): poll
        awaitCondition(() -> expected.keySet().stream().filter(b -> b.residency() == Residency.RESIDENT).count() * OBJ
                == mm.stats().resident() && mm.stats().evicted() == expected.keySet().stream()
                        .filter(b -> b.residency() == Residency.EVICTED).count() * OBJ,
                () -> "resident and evicted bytes are those of the resident and evicted objects: " + mm.stats());
        for (Map.Entry<BufferObject, byte[]> e : expected.entrySet()) {
            assertContent(e.getValue(), e.getKey(), "object " + e.getKey().handle());
        }
    }

    @Test
    void secondFillWakesItAgain() {
        mm = newManager();
        Client c = mm.openClient("bg");
        Map<BufferObject, byte[]> expected = new HashMap<>();
        long passes0 = mm.device().backgroundPasses();
        fillBelowLowWatermark(c, expected, 0);
        awaitFreeAtLeastHigh(passes0);
        long passes1 = mm.device().backgroundPasses();
        long evictions1 = mm.stats().evictions();

        fillBelowLowWatermark(c, expected, 1000);
        awaitFreeAtLeastHigh(passes1);
        assertTrue(mm.stats().evictions() > evictions1, "evicted again: " + mm.stats());
        for (Map.Entry<BufferObject, byte[]> e : expected.entrySet()) {
            assertContent(e.getValue(), e.getKey(), "object " + e.getKey().handle());
        }
    }

    @Test
    void backgroundReclaimLeavesPinnedAndBusyObjectsAlone() {
        mm = newManager();
        Client c = mm.openClient("bg");
        Map<BufferObject, byte[]> kept = new HashMap<>();
        List<BufferObject> untouchable = new ArrayList<>();
        BufferObject pinned = c.create(MiB);
        kept.put(pinned, writePattern(pinned, 1));
        pinned.pin();
        BufferObject vmapped = c.create(MiB);
        kept.put(vmapped, writePattern(vmapped, 2));
        Vmap view = vmapped.vmap();
        Fence[] fences = new Fence[3];
        for (int i = 0; i < 3; i++) {
            BufferObject busy = c.create(OBJ);
            kept.put(busy, writePattern(busy, 3 + i));
            if (i == 2) {
                busy.madvise(Madvise.DONTNEED); // busy and purgeable: still not purged
            }
            fences[i] = new Fence();
            busy.resv().addFence(fences[i], FenceUsage.values()[i]);
            untouchable.add(busy);
        }
        untouchable.add(pinned);
        untouchable.add(vmapped);
        List<Fixture.State> before = states(untouchable);
        long passes0 = mm.device().backgroundPasses();

        Map<BufferObject, byte[]> idle = new HashMap<>();
        fillBelowLowWatermark(c, idle, 100);
        awaitFreeAtLeastHigh(passes0);

        assertEquals(before, states(untouchable), "pinned, vmapped and busy objects: counts and residency unchanged");
        assertEquals(0, mm.stats().purges(), "the busy DONTNEED object is not purged");
        assertTrue(idle.keySet().stream().anyMatch(b -> b.residency() == Residency.EVICTED));
        for (Map.Entry<BufferObject, byte[]> e : kept.entrySet()) {
            assertContent(e.getValue(), e.getKey(), "untouchable object " + e.getKey().handle());
        }
        assertBytes(kept.get(vmapped), bytesOf(view.segment()), "through the open vmap");
        for (Fence f : fences) {
            f.signal();
        }
        view.close();
        pinned.unpin();
    }

    @Test
    void whenTheHighWatermarkIsOutOfReachItStillLeavesPinnedAndBusyObjectsAlone() {
        mm = newManager();
        Client c = mm.openClient("bg");
        Map<BufferObject, byte[]> kept = new HashMap<>();
        List<BufferObject> untouchable = new ArrayList<>();
        for (int i = 0; i < 5; i++) { // 5 MiB pinned
            BufferObject bo = c.create(MiB);
            kept.put(bo, writePattern(bo, i));
            bo.pin();
            untouchable.add(bo);
        }
        Fence fence = new Fence();
        BufferObject busy = c.create(MiB); // 1 MiB busy
        kept.put(busy, writePattern(busy, 10));
        busy.resv().addFence(fence, FenceUsage.WRITE);
        untouchable.add(busy);
        List<Fixture.State> before = states(untouchable);
        long passes0 = mm.device().backgroundPasses();

        BufferObject idle = c.create(512 * KiB); // free: 1.5 MiB < low: wakes the thread
        byte[] idleContent = writePattern(idle, 20);
        assertTrue(mm.stats().free() < LOW);
        trigger(c); // idle is unlocked now (see the test below for the wake-up under its own lock)

        // it can free the idle object only: 2 MiB free, short of the 4 MiB high watermark
        awaitCondition(() -> idle.residency() == Residency.EVICTED && mm.device().backgroundPasses() > passes0,
                () -> "background eviction of the idle object: passes " + passes0 + " -> "
                        + mm.device().backgroundPasses() + ", " + mm.stats() + ", thread " + reclaimThreadState());
        assertEquals(2 * MiB, mm.stats().free(), "nothing else was reclaimable");
        assertEquals(before, states(untouchable));
        for (Map.Entry<BufferObject, byte[]> e : kept.entrySet()) {
            assertContent(e.getValue(), e.getKey(), "untouchable object " + e.getKey().handle());
        }
        fence.signal();
        for (BufferObject bo : untouchable.subList(0, 5)) {
            bo.unpin();
        }
        assertContent(idleContent, idle, "the idle object after swap-in");
    }

    /**
     * The pass woken by an allocation may run while the only reclaimable object is locked (here:
     * by the test; in practice by the very thread whose allocation woke it, which holds the
     * reservation of the object it populates). Once the lock is released, free memory is still
     * below the low watermark with an idle object to evict: DESIGN.md section 2 has background
     * reclaim keep free memory between the watermarks, and ReclaimThread says that after a pass
     * that freed nothing it "backs off briefly", i.e. tries again, without needing another
     * allocation to come along.
     */
    @Test
    void aPassThatMetOnlyLockedObjectsIsRetriedWithoutAnotherAllocation() {
        mm = newManager();
        Client c = mm.openClient("bg");
        List<BufferObject> pinned = new ArrayList<>();
        for (int i = 0; i < 6; i++) { // 6 MiB pinned: free 2 MiB, exactly the low watermark
            BufferObject bo = c.create(MiB);
            writePattern(bo, i);
            bo.pin();
            pinned.add(bo);
        }
        long passes0 = mm.device().backgroundPasses();
        BufferObject idle = c.create(512 * KiB);
        Reservation r = idle.resv();
        r.lock();
        byte[] idleContent;
        try {
            idleContent = writePattern(idle, 20); // free: 1.5 MiB < low: wakes the thread
            awaitCondition(() -> mm.device().backgroundPasses() > passes0, "the pass woken by the allocation");
            assertEquals(Residency.RESIDENT, idle.residency(), "locked: the pass could not evict it");
        } finally {
            r.unlock();
        }
        awaitCondition(() -> idle.residency() == Residency.EVICTED,
                () -> "the idle object evicted by background reclaim once unlocked (free stays below the low "
                        + "watermark otherwise): passes " + passes0 + " -> " + mm.device().backgroundPasses() + ", "
                        + mm.stats() + ", thread " + reclaimThreadState());
        assertEquals(2 * MiB, mm.stats().free());
        assertContent(idleContent, idle, "after swap-in");
        for (BufferObject bo : pinned) {
            assertEquals(Residency.RESIDENT, bo.residency());
            bo.unpin();
        }
    }

    private static String reclaimThreadState() {
        StringBuilder sb = new StringBuilder();
        for (Thread t : liveThreadsNamed(RECLAIM_THREAD)) {
            sb.append(t.getState());
            for (StackTraceElement e : t.getStackTrace()) {
                sb.append("\n    at ").append(e);
            }
        }
        return sb.toString();
    }

    @Test
    void theThreadStopsWhenTheManagerCloses() throws InterruptedException {
        Set<Thread> before = liveThreadsNamed(RECLAIM_THREAD);
        mm = newManager();
        Set<Thread> mine = new HashSet<>(liveThreadsNamed(RECLAIM_THREAD));
        mine.removeAll(before);
        assertEquals(1, mine.size(), "one background thread per manager: " + mine);
        Thread thread = mine.iterator().next();

        Client c = mm.openClient("bg");
        long passes0 = mm.device().backgroundPasses();
        Map<BufferObject, byte[]> expected = new HashMap<>();
        fillBelowLowWatermark(c, expected, 0);
        awaitFreeAtLeastHigh(passes0);

        mm.close();
        thread.join(DEADLINE.toMillis());
        assertFalse(thread.isAlive(), "the reclaim thread of a closed manager is gone: " + thread.getState());
        Set<Thread> left = liveThreadsNamed(RECLAIM_THREAD);
        left.removeAll(before);
        assertEquals(Set.of(), left, "no reclaim thread of this manager remains");
        assertEquals(CAP, mm.stats().free(), "stats still answer after close");
        assertThrows(IllegalStateException.class, () -> mm.reclaim(1));
    }
}
