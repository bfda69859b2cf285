package dev.memmgr.internal.gem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memmgr.MemmgrExtension;
import dev.memmgr.BufferObject;
import dev.memmgr.Client;
import dev.memmgr.Madvise;
import dev.memmgr.MemoryManager;
import dev.memmgr.ReclaimPolicy;
import dev.memmgr.Residency;
import dev.memmgr.Vmap;
import dev.memmgr.internal.Access;
import dev.memmgr.internal.reclaim.Lru;
import java.lang.foreign.MemorySegment;
import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The object state machine: the table of legal transitions (DESIGN.md section 2), the one
 * transition method that enforces it, and LRU membership updated once per operation.
 */
@ExtendWith(MemmgrExtension.class)
class StateMachineTest {
    private static final int PAGE = 4096;

    @Test
    void theTableAllowsExactlyTheTransitionsOfTheDesign() {
        assertAllowed(BoState.UNPOPULATED, EnumSet.of(BoState.RESIDENT, BoState.FREED));
        assertAllowed(BoState.RESIDENT, EnumSet.of(BoState.RESIDENT, BoState.EVICTED, BoState.PURGED, BoState.FREED));
        assertAllowed(BoState.EVICTED, EnumSet.of(BoState.RESIDENT, BoState.PURGED, BoState.FREED));
        assertAllowed(BoState.PURGED, EnumSet.of(BoState.FREED));
        assertAllowed(BoState.FREED, EnumSet.noneOf(BoState.class));
    }

    private static void assertAllowed(BoState from, Set<BoState> to) {
        for (BoState t : BoState.values()) {
            assertEquals(to.contains(t), from.canBecome(t), from + " -> " + t);
        }
    }

    @Test
    void anIllegalTransitionIsRefusedAndChangesNothing() {
        try (MemoryManager mm = MemoryManager.builder().capacity(1 << 20).backgroundReclaim(false).build();
             Client c = mm.openClient("sm")) {
            BufferObject bo = c.create(2 * PAGE);
            GemObject o = Access.gem(bo);
            bo.resv().lock();
            try {
                assertThrows(IllegalStateException.class, () -> o.transition(BoState.EVICTED, PageTable.contiguous(2, 0)),
                        "UNPOPULATED cannot become EVICTED");
                assertThrows(IllegalStateException.class, () -> o.transition(BoState.RESIDENT, null),
                        "RESIDENT needs a page table");
                assertThrows(IllegalStateException.class, () -> o.transition(BoState.RESIDENT, PageTable.contiguous(3, 0)),
                        "a page table of another size");
            } finally {
                bo.resv().unlock();
            }
            assertEquals(Residency.UNPOPULATED, bo.residency());
            assertEquals(0, o.backedPages());
            bo.write(0, MemorySegment.ofArray(new byte[PAGE]));
            assertEquals(Residency.RESIDENT, bo.residency());
        }
    }

    @Test
    void aFirstPinMovesTheObjectOnTheLruOnce() {
        try (MemoryManager mm = MemoryManager.builder().capacity(1 << 20).backgroundReclaim(false).build();
             Client c = mm.openClient("sm")) {
            BufferObject bo = c.create(4 * PAGE);
            Lru lru = Access.gem(bo).dev().lru();
            long before = lru.moves();
            bo.pin(); // population, first use, first pin: one move
            assertEquals(before + 1, lru.moves());
            assertEquals(1, lru.count(Lru.UNEVICTABLE));
            bo.pin(); // a second pin is lock-free: no move
            assertEquals(before + 1, lru.moves());
            bo.unpin();
            bo.unpin(); // last unpin, last use: one move
            assertEquals(before + 2, lru.moves());
            assertEquals(1, lru.count(Lru.INACTIVE));
            try (Vmap v = bo.vmap()) { // pin + map: one move
                assertTrue(v.segment().byteSize() > 0);
            }
            assertEquals(before + 4, lru.moves(), "vmap and its close: one move each");
            bo.madvise(Madvise.DONTNEED);
            assertEquals(1, lru.count(Lru.PURGEABLE));
            bo.madvise(Madvise.DONTNEED);
            assertEquals(before + 5, lru.moves(), "advice that changes nothing moves nothing");
        }
    }

    /**
     * ARC's lists do not tell used objects from unused ones: a page use and its drop move nothing
     * (a move would also count as a second reference and promote the object to T2). LRU's do.
     */
    @Test
    void pageUsesMoveAnObjectUnderLruOnly() {
        for (ReclaimPolicy policy : ReclaimPolicy.values()) {
            try (MemoryManager mm = MemoryManager.builder().capacity(1 << 20).backgroundReclaim(false).reclaimPolicy(policy)
                    .build(); Client c = mm.openClient("sm")) {
                BufferObject bo = c.create(2 * PAGE);
                bo.write(0, MemorySegment.ofArray(new byte[2 * PAGE])); // every page: getPages populates nothing
                Lru lru = Access.gem(bo).dev().lru();
                assertEquals(1, lru.count(Lru.INACTIVE), policy + ": populated, unused: T1 / inactive");
                long before = lru.moves();
                bo.getPages();
                assertEquals(policy == ReclaimPolicy.ARC ? 0 : 1, lru.moves() - before, policy + ": first page use");
                assertEquals(policy == ReclaimPolicy.ARC ? 1 : 0, lru.count(Lru.INACTIVE), policy.toString());
                bo.putPages();
                assertEquals(policy == ReclaimPolicy.ARC ? 0 : 2, lru.moves() - before, policy + ": last page use dropped");
                assertEquals(1, lru.count(Lru.INACTIVE), policy + ": unused again");
            }
        }
    }

    @Test
    void freeingTakesTheObjectOffTheListsAndMarksItFreed() {
        try (MemoryManager mm = MemoryManager.builder().capacity(1 << 20).backgroundReclaim(false).build();
             Client c = mm.openClient("sm")) {
            BufferObject bo = c.create(4 * PAGE);
            bo.write(0, MemorySegment.ofArray(new byte[PAGE]));
            GemObject o = Access.gem(bo);
            Lru lru = o.dev().lru();
            assertEquals(1, lru.size());
            bo.close();
            assertTrue(o.isFreed());
            assertEquals(0, lru.size());
            assertFalse(o.isResident());
            assertEquals(mm.capacity(), mm.stats().free());
        }
    }
}
