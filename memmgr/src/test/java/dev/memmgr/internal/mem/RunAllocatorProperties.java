package dev.memmgr.internal.mem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/** Random allocate/free sequences against a boolean[] model of the units. */
class RunAllocatorProperties {
    @Property(tries = 200)
    void behavesLikeTheModel(@ForAll @IntRange(min = 1, max = 700) int capacity,
                             @ForAll @Size(max = 60) List<@IntRange(min = -40, max = 90) Integer> ops) {
        RunAllocator a = new RunAllocator(capacity, true);
        boolean[] used = new boolean[capacity];
        List<ExtentList> live = new ArrayList<>();
        for (int op : ops) {
            if (op <= 0 && !live.isEmpty()) {
                ExtentList victim = live.remove(Math.floorMod(op, live.size()));
                a.free(victim);
                for (int i = 0; i < victim.size(); i++) {
                    for (int u = victim.start(i); u < victim.start(i) + victim.length(i); u++) {
                        used[u] = false;
                    }
                }
            } else if (op > 0) {
                int free = countFree(used);
                int longest = longestRun(used);
                int runsNeeded = runsNeeded(used, op);
                ExtentList out = new ExtentList();
                ExtentList dirty = new ExtentList();
                boolean ok = a.allocate(op, out, dirty);
                assertEquals(op <= free, ok);
                if (!ok) {
                    assertTrue(out.isEmpty());
                    continue;
                }
                assertEquals(op, out.units());
                if (op <= longest) {
                    assertEquals(1, out.size(), "a run of " + op + " existed");
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
            assertEquals(countFree(used), a.freeCount());
        }
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
