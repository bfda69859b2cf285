package dev.memmgr.internal.reclaim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The shrinker over plain nodes: each object visited once per round, skipped objects put back
 * in their order (drm_gem_lru_scan), second chances, and a second round when the first falls
 * short after giving second chances.
 */
class ShrinkerTest {
    /** A node that records its visits; locked ones decline, the others free their frames. */
    private static final class Node extends LruNode {
        final String name;
        final int frames;
        boolean locked;
        boolean reclaimed;
        final List<String> visits;

        Node(String name, int frames, List<String> visits) {
            this.name = name;
            this.frames = frames;
            this.visits = visits;
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
            visits.add(name);
            return !locked;
        }

        @Override
        protected void reclaimUnlock() {
        }

        @Override
        protected int reclaimLocked(int mode) {
            reclaimed = true;
            return frames;
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

    private final List<String> visits = new ArrayList<>();
    private final Lru lru = new Lru();

    private Node add(String name, int frames) {
        Node n = new Node(name, frames, visits);
        lru.update(n, Lru.INACTIVE, frames);
        return n;
    }

    private List<String> order() {
        List<String> out = new ArrayList<>();
        for (LruNode n : lru.snapshot(Lru.INACTIVE)) {
            out.add(n.toString());
        }
        return out;
    }

    /** Mirrors the reclaimed nodes leaving the list, as a real object's transition does. */
    private void dropReclaimed(Node... nodes) {
        for (Node n : nodes) {
            if (n.reclaimed && n.list != null) {
                lru.remove(n);
            }
        }
    }

    @Test
    void skippedObjectsKeepTheirOrderAndEachIsVisitedOnce() {
        Node a = add("a", 1);
        Node b = add("b", 1);
        Node c = add("c", 1);
        Node d = add("d", 1);
        a.locked = true;
        c.locked = true;
        Shrinker s = new Shrinker(lru, () -> true, () -> false);
        assertEquals(2, s.scan(10), "b and d are reclaimed; a and c are skipped, once each");
        assertEquals(List.of("a", "b", "c", "d"), visits);
        dropReclaimed(a, b, c, d);
        assertEquals(List.of("a", "c"), order(), "a stays older than c");
    }

    @Test
    void theScanStopsAtTheTargetAndLeavesTheRestInPlace() {
        Node a = add("a", 2);
        add("b", 2);
        add("c", 2);
        a.locked = true;
        Shrinker s = new Shrinker(lru, () -> true, () -> false);
        assertEquals(2, s.scan(2));
        assertEquals(List.of("a", "b"), visits);
        lru.remove(lru.snapshot(Lru.INACTIVE).stream().filter(n -> ((Node) n).reclaimed).findFirst().orElseThrow());
        assertEquals(List.of("c", "a"), order(), "the unvisited stay ahead of the visited (put back at the tail)");
    }

    @Test
    void recentlyUsedObjectsGetASecondChanceThenGoInASecondRoundIfNeeded() {
        Node a = add("a", 1);
        Node b = add("b", 1);
        a.markAccessed();
        Shrinker s = new Shrinker(lru, () -> true, () -> false);
        assertEquals(1, s.scan(1), "b goes; a gets its second chance");
        assertEquals(List.of("b"), visits);
        dropReclaimed(a, b);
        visits.clear();
        a.markAccessed();
        add("c", 1).markAccessed();
        assertEquals(2, s.scan(2), "all recently used: the second round takes them");
        Set<String> seen = new HashSet<>(visits);
        assertEquals(Set.of("a", "c"), seen);
        assertEquals(2, visits.size(), "each once");
    }

    @Test
    void aClosingManagerStopsTheScan() {
        add("a", 1);
        Shrinker s = new Shrinker(lru, () -> true, () -> true);
        assertEquals(0, s.scan(1));
        assertEquals(List.of(), visits);
    }
}
