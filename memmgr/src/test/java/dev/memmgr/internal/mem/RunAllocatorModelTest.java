package dev.memmgr.internal.mem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memmgr.MemmgrExtension;
import dev.memmgr.ModelRunner;
import dev.memmgr.ModelRunner.Step;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Random allocate/free sequences against a boolean[] model of the units: an allocation succeeds
 * exactly when enough units are free, hands out each unit once, in sorted disjoint runs, in one
 * run when a long enough run is free and otherwise in the fewest runs (longest first); frees give
 * the units back; the free count matches the model after every step. Capacities of 1 to 700
 * units, up to 60 steps; {@link ModelRunner} says how to rerun a failing seed.
 */
@ExtendWith(MemmgrExtension.class)
class RunAllocatorModelTest {
    static final int TRIES = 200;
    static final int MAX_CAPACITY = 700;
    static final int MAX_STEPS = 60;
    static final int MAX_ALLOCATION = 90;

    /** The allocator and its model. */
    private static final class State {
        final RunAllocator allocator;
        final boolean[] used;
        final List<ExtentList> live = new ArrayList<>();

        State(int capacity) {
            allocator = new RunAllocator(capacity, true);
            used = new boolean[capacity];
        }

        void allocate(int n) {
            int free = countFree(used);
            int longest = longestRun(used);
            int runsNeeded = runsNeeded(used, n);
            ExtentList out = new ExtentList();
            ExtentList dirty = new ExtentList();
            boolean ok = allocator.allocate(n, out, dirty);
            assertEquals(n <= free, ok, "allocate(" + n + ") with " + free + " free");
            if (!ok) {
                assertTrue(out.isEmpty());
                return;
            }
            assertEquals(n, out.units());
            if (n <= longest) {
                assertEquals(1, out.size(), "a run of " + n + " existed");
            } else {
                assertEquals(runsNeeded, out.size(), "longest runs first gives the fewest runs");
            }
            int previousEnd = -1;
            for (int i = 0; i < out.size(); i++) {
                assertTrue(out.start(i) > previousEnd, "sorted and disjoint");
                previousEnd = out.start(i) + out.length(i) - 1;
                for (int u = out.start(i); u < out.start(i) + out.length(i); u++) {
                    assertFalse(used[u], "unit " + u + " handed out twice");
                    used[u] = true;
                }
            }
            live.add(out);
        }

        /** Frees the live allocation {@code k} modulo their number (nothing if none). */
        void free(int k) {
            if (live.isEmpty()) {
                return;
            }
            ExtentList victim = live.remove(Math.floorMod(k, live.size()));
            allocator.free(victim);
            for (int i = 0; i < victim.size(); i++) {
                for (int u = victim.start(i); u < victim.start(i) + victim.length(i); u++) {
                    used[u] = false;
                }
            }
        }

        void check() {
            assertEquals(countFree(used), allocator.freeCount(), "free count");
        }
    }

    @Test
    void behavesLikeTheModel(TestInfo info) {
        new ModelRunner<State>(info, rnd -> new State(1 + rnd.nextInt(MAX_CAPACITY)))
                .tries(TRIES)
                .steps(0, MAX_STEPS)
                .action(MAX_ALLOCATION, rnd -> {
                    int n = 1 + rnd.nextInt(MAX_ALLOCATION);
                    return new Step<>("allocate(" + n + ")", s -> s.allocate(n));
                })
                .action(41, rnd -> {
                    int k = rnd.nextInt(41);
                    return new Step<>("free(live #" + k + ")", s -> s.free(k));
                })
                .invariant(State::check)
                .run();
    }

    private static int countFree(boolean[] used) {
        int n = 0;
        for (boolean u : used) {
            n += u ? 0 : 1;
        }
        return n;
    }

    private static int longestRun(boolean[] used) {
        int best = 0;
        int run = 0;
        for (boolean u : used) {
            run = u ? 0 : run + 1;
            best = Math.max(best, run);
        }
        return best;
    }

    private static int runsNeeded(boolean[] used, int n) {
        List<Integer> runs = new ArrayList<>();
        int run = 0;
        for (boolean u : used) {
            if (u) {
                if (run > 0) {
                    runs.add(run);
                }
                run = 0;
            } else {
                run++;
            }
        }
        if (run > 0) {
            runs.add(run);
        }
        runs.sort((x, y) -> y - x);
        int count = 0;
        for (int r : runs) {
            if (n <= 0) {
                break;
            }
            n -= r;
            count++;
        }
        return count;
    }
}
