package dev.memmgr.bench.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Every policy on seeded random traces with pins, DONTNEED, frees and mixed sizes. The simulator
 * checks memmgr's invariants on every event and throws on a breach: never over capacity after an
 * eviction round, pinned objects never evicted, nothing evicted while a resident DONTNEED object
 * is left (they are purged first), the policy's lists holding exactly the evictable objects.
 * The seed is in every failure message; rerun it by putting it first in {@link #SEEDS}.
 */
class PolicyInvariantsTest {
    private static final long[] SEEDS = {1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233};
    private static final int CAPACITY = 128;

    /** Random events over 40 objects of 1 to 32 pages; pins stay under 64 pages in total. */
    static Trace randomTrace(long seed, int events) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Trace.Builder b = new Trace.Builder("random-" + seed);
        int n = 40;
        for (int i = 0; i < n; i++) {
            b.object(1 + rnd.nextInt(32), rnd.nextBoolean());
        }
        int[] pins = new int[n];
        boolean[] exists = new boolean[n];
        int pinnedPages = 0;
        for (int e = 0; e < events; e++) {
            int id = rnd.nextInt(n);
            double u = rnd.nextDouble();
            if (u < 0.70) {
                b.access(id);
                exists[id] = true;
            } else if (u < 0.76) {
                if (pins[id] == 0 && pinnedPages + b.pages(id) > 64) {
                    continue;
                }
                pinnedPages += pins[id] == 0 ? b.pages(id) : 0;
                pins[id]++;
                b.pin(id);
                exists[id] = true;
            } else if (u < 0.84) {
                if (pins[id] > 0) {
                    b.unpin(id);
                    pinnedPages -= --pins[id] == 0 ? b.pages(id) : 0;
                }
            } else if (u < 0.95) {
                if (exists[id] && pins[id] == 0) {
                    b.dontNeed(id);
                }
            } else if (exists[id] && pins[id] == 0) {
                b.free(id);
                exists[id] = false;
            }
        }
        return b.build();
    }

    @Test
    void everyPolicyKeepsMemmgrsInvariantsOnRandomTraces() {
        for (long seed : SEEDS) {
            Trace t = randomTrace(seed, 20_000);
            for (Map.Entry<String, Policy.Factory> e : Simulate.policies().entrySet()) {
                Simulator.Result r;
                try {
                    r = new Simulator(CAPACITY).run(t, e.getValue().create(CAPACITY));
                } catch (IllegalStateException broken) {
                    fail(e.getKey() + " on seed " + seed + ": " + broken.getMessage(), broken);
                    return;
                }
                String where = e.getKey() + " on seed " + seed;
                assertEquals(0, r.failed(), where); // pins stay small enough for any object to fit
                assertEquals(r.usePages(), r.hitPages() + r.swapInPages() + r.populatePages(), where);
                assertTrue(r.evictions() > 0 && r.purgePages() > 0, where + ": the trace exercises reclaim");
            }
        }
    }

    @Test
    void everyPolicyKeepsTheInvariantsOnTheReportTraces() {
        int c = 1024;
        for (String name : Traces.NAMES) {
            Trace t = Traces.byName(name, 7, c, 40_000);
            for (Map.Entry<String, Policy.Factory> e : Simulate.policies().entrySet()) {
                Simulator.Result r = new Simulator(c).run(t, e.getValue().create(c));
                assertEquals(0, r.failed(), e.getKey() + " on " + name);
                assertEquals(r.usePages(), r.hitPages() + r.swapInPages() + r.populatePages(), e.getKey());
            }
        }
    }
}
