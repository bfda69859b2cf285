package dev.memmgr.internal.reclaim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * ARC on the reclaim lists with plain nodes that evict themselves the way a buffer object does
 * (placed as EVICTED after the eviction, RESIDENT again on swap-in): T1 before T2, ghosts by the
 * list of origin, the target adapting on ghost hits, ghosts trimmed to ARC's bounds, and hits
 * recorded through the buffer.
 */
class ArcTest {
    private final Lru lru = new Lru(true, 100);
    private final Shrinker shrinker = new Shrinker(lru, () -> true, () -> false);
    private final List<String> evicted = new ArrayList<>();

    private final class Node extends LruNode {
        final String name;
        final int pages;
        boolean resident = true;

        Node(String name, int pages) {
            this.name = name;
            this.pages = pages;
        }

        void admit() {
            resident = true;
            lru.place(this, Lru.RESIDENT, false, pages, 0);
        }

        void use() {
            if (markAccessed()) {
                lru.offer(this);
            }
        }

        @Override
        protected boolean reclaimGet() {
            return true;
        }

        @Override
        protected void reclaimPut() {
        }

        @Override
        protected boolean reclaimTryLock() {
            return true;
        }

        @Override
        protected void reclaimUnlock() {
        }

        @Override
        protected int reclaimLocked(int mode) {
            resident = false;
            evicted.add(name);
            lru.place(this, Lru.EVICTED, false, 0, pages);
            return pages;
        }

        @Override
        protected boolean reclaimAwaitIdle(long nanos) {
            return true;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    private Node admit(String name, int pages) {
        Node n = new Node(name, pages);
        n.admit();
        return n;
    }

    @Test
    void objectsSeenOnceGoBeforeObjectsSeenAgain() {
        Node a = admit("a", 10);
        Node b = admit("b", 10);
        Node c = admit("c", 10);
        a.use(); // a hit, recorded in the buffer: a moves to T2 when the shrinker drains it
        assertEquals(20, shrinker.scan(20));
        assertEquals(List.of("b", "c"), evicted);
        assertTrue(a.resident);
        assertEquals(2, lru.count(Lru.GHOST1), "evicted from T1: ghosts on B1");
    }

    @Test
    void aSwapInFromB1GrowsT1sTargetAndGoesToT2() {
        Node a = admit("a", 10);
        Node b = admit("b", 10);
        shrinker.scan(10); // a goes to B1
        assertEquals(0.0, lru.target());
        a.admit(); // swapped in: a ghost hit on B1
        assertEquals(10.0, lru.target(), "p grows by the object's pages (B2 is empty: ratio 1)");
        assertEquals(1, lru.count(Lru.ACTIVE), "a ghost hit goes to T2");
        assertEquals(List.of(b), lru.snapshot(Lru.INACTIVE));
        evicted.clear();
        shrinker.scan(10);
        assertEquals(List.of("a"), evicted, "T1 holds no more than p: T2's head goes");
        a.admit(); // a ghost hit on B2 shrinks p
        assertEquals(0.0, lru.target());
    }

    @Test
    void ghostsAreTrimmedToArcsBounds() {
        List<Node> nodes = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            nodes.add(admit("n" + i, 10)); // 300 pages through a capacity of 100
            if (lru.frames(Lru.INACTIVE) + lru.frames(Lru.ACTIVE) > 100) {
                shrinker.scan(10);
            }
        }
        assertTrue(lru.frames(Lru.INACTIVE) + lru.frames(Lru.GHOST1) <= 100, "T1 + B1 within the capacity");
        assertTrue(lru.frames(Lru.INACTIVE) + lru.frames(Lru.ACTIVE) + lru.frames(Lru.GHOST1)
                + lru.frames(Lru.GHOST2) <= 200, "all four within twice the capacity");
        assertTrue(lru.count(Lru.UNEVICTABLE) > 0, "forgotten ghosts are plain unevictable objects");
    }

    @Test
    void aDroppedHitStillCountsWhenTheScanFindsTheFlag() {
        Node a = admit("a", 10);
        Node b = admit("b", 10);
        assertTrue(a.markAccessed(), "flagged, but never offered (as if the buffer were full)");
        shrinker.scan(10);
        assertEquals(List.of("b"), evicted, "the flagged head is a hit: to T2, b goes");
        assertEquals(List.of(a), lru.snapshot(Lru.ACTIVE));
    }

    @Test
    void pinnedOrDontNeedObjectsComeBackToTheListTheyLeft() {
        Node a = admit("a", 10);
        a.use();
        shrinker.scan(0);
        lru.place(a, Lru.RESIDENT, true, 10, 0); // seen again: T2
        assertEquals(List.of(a), lru.snapshot(Lru.ACTIVE));
        lru.place(a, Lru.UNEVICTABLE, true, 10, 0); // pinned
        lru.place(a, Lru.RESIDENT, true, 10, 0); // unpinned: back to T2
        assertEquals(List.of(a), lru.snapshot(Lru.ACTIVE));
        Node b = admit("b", 10);
        lru.place(b, Lru.PURGEABLE, false, 10, 0);
        lru.place(b, Lru.RESIDENT, false, 10, 0); // WILLNEED again: back to T1
        assertEquals(List.of(b), lru.snapshot(Lru.INACTIVE));
    }
}
