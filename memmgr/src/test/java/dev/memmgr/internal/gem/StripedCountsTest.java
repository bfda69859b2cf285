package dev.memmgr.internal.gem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memmgr.BufferObject;
import dev.memmgr.Client;
import dev.memmgr.Fixture;
import dev.memmgr.MemmgrExtension;
import dev.memmgr.MemoryManager;
import dev.memmgr.Residency;
import dev.memmgr.Vmap;
import dev.memmgr.internal.Access;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Striped page uses and pins ({@link Stripes}): holds in cells count, a locked decrement folds
 * them back first so that the transitions and the refusal of an unbalanced drop stay exact, and
 * the shrinker never takes an object whose pins live in cells.
 */
@ExtendWith(MemmgrExtension.class)
class StripedCountsTest {
    private static final int PAGE = Fixture.PAGE;

    // ---- the cells alone -------------------------------------------------------------------

    @Test
    void cellsCountTakesAndDropsAndCloseHandsBackTheirHolds() {
        Stripes s = new Stripes();
        assertEquals(0, s.sum());
        assertFalse(s.drop(true), "nothing to drop from empty cells");
        assertTrue(s.take());
        assertTrue(s.take());
        assertEquals(2, s.sum());
        assertTrue(s.drop(false), "the thread's own cell");
        assertEquals(1, s.sum());
        assertEquals(1, s.close(), "close returns the holds left");
        assertTrue(s.isClosed());
        assertEquals(0, s.sum());
        assertFalse(s.take(), "a closed cell sends the caller to the base");
        assertFalse(s.drop(true));
        assertEquals(0, s.close(), "idempotent");
    }

    @Test
    void aHoldTakenInOneThreadIsDroppedFromAnotherThreadsCellsWhenItsOwnAreEmpty() throws Exception {
        Stripes s = new Stripes();
        Thread t = new Thread(() -> {
            for (int i = 0; i < 100; i++) {
                s.take();
            }
        });
        t.start();
        t.join(10_000);
        assertEquals(100, s.sum());
        int dropped = 0;
        while (s.drop(true)) {
            dropped++;
        }
        assertEquals(100, dropped);
        assertEquals(0, s.sum());
    }

    @Test
    void slotsArePowersOfTwoFromTwoToSixteen() {
        assertEquals(2, Stripes.slots(1));
        assertEquals(2, Stripes.slots(2));
        assertEquals(4, Stripes.slots(3));
        assertEquals(8, Stripes.slots(5));
        assertEquals(16, Stripes.slots(16));
        assertEquals(16, Stripes.slots(96));
        assertEquals(Integer.bitCount(Stripes.SLOTS), 1);
    }

    // ---- on an object ----------------------------------------------------------------------

    private static MemoryManager manager() {
        return MemoryManager.builder().capacity(1 << 20).backgroundReclaim(false).build();
    }

    /** Pins in cells make pinCount; the last unpin, wherever it lands, is the one transition. */
    @Test
    void pinsInCellsCountAndTheLastUnpinIsTheTransition() throws Exception {
        try (MemoryManager mm = manager(); Client c = mm.openClient("stripes")) {
            BufferObject bo = c.create(4 * PAGE);
            GemObject o = Access.gem(bo);
            bo.pin();
            o.stripe(GemObject.PIN, GemObject.PIN_STRIPES);
            assertTrue(o.isStriped(true));
            CountDownLatch pinned = new CountDownLatch(1);
            Thread other = new Thread(() -> {
                for (int i = 0; i < 5; i++) {
                    bo.pin(); // into the other thread's cell
                }
                pinned.countDown();
            });
            other.start();
            assertTrue(pinned.await(10, TimeUnit.SECONDS));
            other.join(10_000);
            assertEquals(6, bo.pinCount());
            assertEquals(4L * PAGE, mm.stats().pinned());
            assertTrue(o.isStriped(true), "no transition yet: the cells stay");
            for (int i = 0; i < 5; i++) {
                bo.unpin(); // this thread's cell is empty: the base stops at one, then other cells
            }
            assertEquals(1, bo.pinCount());
            assertEquals(4L * PAGE, mm.stats().pinned(), "still pinned");
            bo.unpin(); // the last: locked, cells folded, 1 -> 0
            assertEquals(0, bo.pinCount());
            assertFalse(o.isStriped(true), "a locked decrement folds the cells");
            assertEquals(0, mm.stats().pinned());
            assertEquals(0, bo.pagesUseCount(), "the pins' page use went with them");
            IllegalStateException e = assertThrows(IllegalStateException.class, bo::unpin);
            assertTrue(e.getMessage().contains("without a matching pin()"), e.getMessage());
            assertEquals(0, bo.pinCount(), "the refused unpin changed nothing");
            assertEquals(4L * PAGE, mm.reclaim(Long.MAX_VALUE), "unpinned: evictable again");
        }
    }

    @Test
    void pageUsesInCellsCountAndAnUnbalancedPutIsRefused() {
        try (MemoryManager mm = manager(); Client c = mm.openClient("stripes")) {
            BufferObject bo = c.create(2 * PAGE);
            GemObject o = Access.gem(bo);
            bo.getPages();
            o.stripe(GemObject.USE, GemObject.USE_STRIPES);
            assertTrue(o.isStriped(false));
            bo.getPages();
            bo.getPages();
            assertEquals(3, bo.pagesUseCount());
            bo.putPages();
            bo.putPages();
            bo.putPages();
            assertEquals(0, bo.pagesUseCount());
            assertFalse(o.isStriped(false));
            assertThrows(IllegalStateException.class, bo::putPages);
            assertEquals(0, bo.pagesUseCount());
        }
    }

    @Test
    void aStripeWithNothingHeldIsNotInstalled() {
        try (MemoryManager mm = manager(); Client c = mm.openClient("stripes")) {
            BufferObject bo = c.create(PAGE);
            GemObject o = Access.gem(bo);
            o.stripe(GemObject.PIN, GemObject.PIN_STRIPES);
            assertFalse(o.isStriped(true), "cells only over a held count: the field must stay above zero");
            bo.resv().lock();
            try {
                bo.pin(); // the holder of the reservation may stripe too
                o.stripe(GemObject.PIN, GemObject.PIN_STRIPES);
                assertTrue(o.isStriped(true));
                bo.unpin();
            } finally {
                bo.resv().unlock();
            }
            assertEquals(0, bo.pinCount());
        }
    }

    @Test
    void aVmapKeepsItsPinWhenUserPinsLiveInCells() {
        try (MemoryManager mm = manager(); Client c = mm.openClient("stripes")) {
            BufferObject bo = c.create(PAGE);
            GemObject o = Access.gem(bo);
            try (Vmap v = bo.vmap()) {
                bo.pin();
                o.stripe(GemObject.PIN, GemObject.PIN_STRIPES);
                bo.pin();
                assertEquals(3, bo.pinCount(), "the vmaps' pin and two of the user's");
                bo.unpin();
                bo.unpin();
                assertEquals(1, bo.pinCount());
                IllegalStateException e = assertThrows(IllegalStateException.class, bo::unpin);
                assertTrue(e.getMessage().contains("close the vmaps"), e.getMessage());
                assertEquals(1, bo.pinCount());
                assertTrue(v.segment().byteSize() > 0);
            }
            assertEquals(0, bo.pinCount());
        }
    }

    @Test
    void freeingWithPinsInCellsReportsThemAll(Fixture f) {
        MemoryManager mm = f.manager(1 << 20);
        Client c = f.client(mm, "stripes");
        BufferObject bo = c.create(PAGE);
        GemObject o = Access.gem(bo);
        bo.pin();
        o.stripe(GemObject.PIN, GemObject.PIN_STRIPES);
        bo.pin();
        bo.pin();
        assertEquals(3, bo.pinCount());
        c.closeHandle(bo.handle());
        f.expectLeakWarning(bo, 3, 0, 1);
        assertEquals(0, mm.stats().pinned(), "the leaked pins' frames are accounted back");
        assertThrows(IllegalStateException.class, bo::pin);
        assertThrows(IllegalStateException.class, bo::unpin);
    }

    /**
     * Two threads pin and unpin one object while a third evicts everything it can: a thread that
     * holds a pin always sees the object resident, and at the end the counts are back where they
     * started. The threads meet on the count's field, which stripes it (not asserted: whether a
     * race is lost depends on the machine); {@code stripedHoldersKeepTheObjectFromTheShrinker}
     * covers the cells deterministically.
     */
    @Test
    void concurrentPinsAgainstReclaimNeverSeeAnEvictedPinnedObject(Fixture f) throws Exception {
        MemoryManager mm = f.manager(1 << 20);
        Client c = f.client(mm, "stripes");
        BufferObject bo = c.create(8 * PAGE);
        bo.write(0, Fixture.filled(8 * PAGE, (byte) 7));
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger wrong = new AtomicInteger();
        CyclicBarrier start = new CyclicBarrier(3);
        CountDownLatch done = new CountDownLatch(2);
        var w = f.workers();
        for (int t = 0; t < 2; t++) {
            w.add("pinner-" + t, () -> {
                start.await(10, TimeUnit.SECONDS);
                try {
                    for (int i = 0; i < 20_000; i++) {
                        bo.pin();
                        if (bo.residency() != Residency.RESIDENT) {
                            wrong.incrementAndGet();
                        }
                        bo.pin();
                        bo.unpin();
                        bo.getPages();
                        bo.putPages();
                        bo.unpin();
                    }
                } finally {
                    done.countDown();
                }
            });
        }
        w.add("reclaimer", () -> {
            start.await(10, TimeUnit.SECONDS);
            while (!stop.get()) {
                mm.reclaim(Long.MAX_VALUE);
                Thread.onSpinWait();
            }
        });
        w.start();
        Fixture.await(done, "pinners finish");
        stop.set(true);
        w.join();
        assertEquals(0, wrong.get(), "a pinned object was not resident");
        assertEquals(0, bo.pinCount());
        assertEquals(0, bo.pagesUseCount());
        assertEquals(0, mm.stats().pinned());
        Fixture.assertAllBytes((byte) 7, Fixture.contentOf(bo), "content after the race");
    }

    /** Pins living only in cells keep the object pinned for the shrinker, and come back exactly. */
    @Test
    void stripedHoldersKeepTheObjectFromTheShrinker(Fixture f) throws Exception {
        MemoryManager mm = f.manager(1 << 20);
        Client c = f.client(mm, "stripes");
        BufferObject bo = c.create(4 * PAGE);
        GemObject o = Access.gem(bo);
        bo.pin();
        o.stripe(GemObject.PIN, GemObject.PIN_STRIPES);
        CountDownLatch held = new CountDownLatch(2);
        CountDownLatch release = new CountDownLatch(1);
        var w = f.workers();
        for (int t = 0; t < 2; t++) {
            w.add("holder-" + t, () -> {
                bo.pin();
                held.countDown();
                assertTrue(release.await(10, TimeUnit.SECONDS));
                bo.unpin();
            });
        }
        w.start();
        Fixture.await(held, "both threads pinned");
        bo.unpin(); // the base keeps one: a cell's hold is dropped in its place, or the base's
        assertEquals(2, bo.pinCount());
        assertEquals(0, mm.reclaim(Long.MAX_VALUE), "pins in cells keep the object from eviction");
        assertEquals(Residency.RESIDENT, bo.residency());
        release.countDown();
        w.join();
        assertEquals(0, bo.pinCount());
        assertEquals(0, mm.stats().pinned());
        assertEquals(4L * PAGE, mm.reclaim(Long.MAX_VALUE));
        assertEquals(Residency.EVICTED, bo.residency());
    }
}
