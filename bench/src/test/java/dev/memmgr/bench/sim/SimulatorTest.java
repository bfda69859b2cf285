package dev.memmgr.bench.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** memmgr's semantics in the simulator, and its invariant checks catching a broken policy. */
class SimulatorTest {
    private static List<Integer> log(Policy p, int capacity, Trace t, Simulator.Result[] out) {
        List<Integer> log = new ArrayList<>();
        out[0] = new Simulator(capacity).run(t, p, log::add);
        return log;
    }

    @Test
    void dontNeedObjectsArePurgedOldestFirstBeforeAnyEviction() {
        for (Policy.Factory f : Simulate.policies().values()) {
            Trace.Builder b = new Trace.Builder("purge");
            for (int i = 0; i < 5; i++) {
                b.object(1, true); // A B C D E
            }
            // memory full of A B C D; D then B marked DONTNEED; E needs a page: D (the older
            // madvise) is purged, nothing is evicted
            b.access(0).access(1).access(2).access(3).dontNeed(3).dontNeed(1).access(4);
            b.access(1); // B: WILLNEED again, retained: a hit
            b.access(3); // D: purged, so re-created (a first touch); room comes from an eviction
            Simulator.Result[] r = new Simulator.Result[1];
            List<Integer> log = log(f.create(4), 4, b.build(), r);
            String name = r[0].policy();
            assertEquals(1, r[0].purgePages(), name);
            assertEquals(1, r[0].hitPages(), name);
            assertEquals(6, r[0].populatePages(), name);
            assertEquals(0, r[0].swapInPages(), name);
            assertEquals(1, log.size(), name + " evicts only for the re-created D: " + log);
        }
    }

    @Test
    void purgeGoesOnlyAsFarAsNeededThenEvictionTakesOver() {
        for (Policy.Factory f : Simulate.policies().values()) {
            Trace.Builder b = new Trace.Builder("purge-then-evict");
            b.object(1, true);
            b.object(1, true);
            b.object(1, true);
            b.object(2, true);
            b.access(0).access(1).access(2).dontNeed(0).access(3); // 1 purged, 1 more needed: evicted
            b.access(0); // purged: re-created
            Simulator.Result[] r = new Simulator.Result[1];
            List<Integer> log = log(f.create(3), 3, b.build(), r);
            assertEquals(1, r[0].purgePages(), r[0].policy());
            assertTrue(log.size() >= 2 && !log.contains(0), r[0].policy() + " " + log);
        }
    }

    @Test
    void anEvictedDontNeedObjectIsPurgedFromSwapAndComesBackAsPopulation() {
        Trace.Builder b = new Trace.Builder("evicted-purge");
        b.object(2, false);
        b.object(2, false);
        b.object(2, false);
        // capacity 3. A evicted for B; A marked DONTNEED in swap; C misses one page: the purge
        // pass purges A (its slots, no frames) and B is evicted; A again is a first touch, not a
        // swap-in, and C is evicted for it
        b.access(0).access(1).dontNeed(0).access(2).access(0);
        Simulator.Result[] r = new Simulator.Result[1];
        List<Integer> log = log(new LruPolicy(), 3, b.build(), r);
        assertEquals(List.of(0, 1, 2), log);
        assertEquals(0, r[0].purgePages());
        assertEquals(0, r[0].swapInPages());
        assertEquals(8, r[0].populatePages());
    }

    @Test
    void pinnedObjectsAreNeverEvictedAndAUseFailsWhenAllIsPinned() {
        for (Policy.Factory f : Simulate.policies().values()) {
            Trace.Builder b = new Trace.Builder("pins");
            b.object(2, true);
            b.object(2, true);
            b.object(1, true);
            b.object(2, true);
            b.pin(0).pin(1).access(2); // everything pinned: C cannot be made resident
            b.unpin(1).access(2).access(3); // now B is the only evictable object
            b.unpin(0);
            Simulator.Result[] r = new Simulator.Result[1];
            List<Integer> log = log(f.create(4), 4, b.build(), r);
            assertEquals(1, r[0].failed(), r[0].policy());
            assertTrue(!log.contains(0), r[0].policy() + " evicted pinned A: " + log);
            assertEquals(1, log.get(0), r[0].policy());
        }
    }

    @Test
    void freeReturnsFramesAndAFreedObjectIsCreatedAnew() {
        Trace.Builder b = new Trace.Builder("free");
        b.object(2, true);
        b.object(2, true);
        b.access(0).free(0).access(1).access(0); // no eviction: A's frames came back
        Simulator.Result[] r = new Simulator.Result[1];
        List<Integer> log = log(new ArcPolicy(4), 4, b.build(), r);
        assertEquals(List.of(), log);
        assertEquals(6, r[0].populatePages());
    }

    @Test
    void badTracesAreRejected() {
        Trace.Builder pinned = new Trace.Builder("dontneed-pinned");
        pinned.object(1, true);
        pinned.pin(0).dontNeed(0);
        assertThrows(IllegalStateException.class, () -> new Simulator(4).run(pinned.build(), new LruPolicy()));
        Trace.Builder unpinned = new Trace.Builder("unpin");
        unpinned.object(1, true);
        unpinned.access(0).unpin(0);
        assertThrows(IllegalStateException.class, () -> new Simulator(4).run(unpinned.build(), new LruPolicy()));
        Trace.Builder freed = new Trace.Builder("free-twice");
        freed.object(1, true);
        freed.access(0).free(0).free(0);
        assertThrows(IllegalStateException.class, () -> new Simulator(4).run(freed.build(), new LruPolicy()));
        assertThrows(IllegalArgumentException.class, () -> new Trace.Builder("x").access(0));
        assertThrows(IllegalArgumentException.class, () -> new Trace.Builder("x").object(0, true));
        assertThrows(IllegalArgumentException.class, () -> new Simulator(0));
    }

    /** Keeps every object it was ever given and evicts the oldest, ignoring removals. */
    private static final class ForgetfulPolicy implements Policy {
        private final List<SimObject> all = new ArrayList<>();
        private long pages;

        @Override
        public String name() {
            return "forgetful";
        }

        @Override
        public void onHit(SimObject o) {
        }

        @Override
        public void evict(long need, SimObject incoming, Evictor evictor) {
            SimObject o = all.remove(0);
            pages -= o.pages;
            evictor.evict(o);
        }

        @Override
        public void onAdmit(SimObject o) {
            all.add(o);
            pages += o.pages;
        }

        @Override
        public void onRemove(SimObject o) {
            pages -= o.pages; // but keeps it in line for eviction
        }

        @Override
        public void onReturn(SimObject o) {
            pages += o.pages;
        }

        @Override
        public long listedPages() {
            return pages;
        }
    }

    @Test
    void aPolicyThatEvictsAPinnedObjectIsCaught() {
        Trace.Builder b = new Trace.Builder("evict-pinned");
        b.object(1, true);
        b.object(1, true);
        b.access(0).pin(0).access(1);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> new Simulator(1).run(b.build(), new ForgetfulPolicy()));
        assertTrue(e.getMessage().contains("pinned"), e.getMessage());
    }

    @Test
    void aPolicyThatEvictsAnObjectItWasToldToDropIsCaught() {
        Trace.Builder b = new Trace.Builder("evict-purged");
        b.object(1, true);
        b.object(1, true);
        b.object(2, true);
        // A DONTNEED; C needs 2 pages: A is purged (1 page), the policy must evict 1 more and
        // picks A, which it should have dropped when it went DONTNEED
        b.access(0).access(1).dontNeed(0).access(2);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> new Simulator(2).run(b.build(), new ForgetfulPolicy()));
        assertTrue(e.getMessage().contains("not resident"), e.getMessage());
    }

    @Test
    void aPolicyThatLosesTrackOfItsPagesIsCaught() {
        Policy leaky = new Policy() {
            @Override
            public String name() {
                return "leaky";
            }

            @Override
            public void onHit(SimObject o) {
            }

            @Override
            public void evict(long need, SimObject incoming, Evictor evictor) {
            }

            @Override
            public void onAdmit(SimObject o) {
            }

            @Override
            public void onRemove(SimObject o) {
            }

            @Override
            public void onReturn(SimObject o) {
            }

            @Override
            public long listedPages() {
                return 0; // never lists what it is given
            }
        };
        Trace.Builder b = new Trace.Builder("leak");
        b.object(1, true);
        b.access(0);
        assertThrows(IllegalStateException.class, () -> new Simulator(2).run(b.build(), leaky));
    }
}
