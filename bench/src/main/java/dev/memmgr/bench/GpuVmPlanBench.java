package dev.memmgr.bench;

import dev.memmgr.internal.vm.Plan;
import dev.memmgr.internal.vm.VaSpace;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The split/merge core of GPU address spaces ({@code dev.memmgr.internal.vm.VaSpace}) with
 * {@code mappings} mappings in the space: 100 (fits in L1) against 100,000 (a sparse-texture
 * engine). Layout: mapping i covers pages {@code [3i, 3i + 2)}, page {@code 3i + 2} is a hole.
 * <ul>
 *   <li>{@link #mapUnmapOnePage}: plan + apply a one-page map into the hole in the middle of the
 *       space, then plan + apply its unmap (one MAP, one UNMAP): the cost of the tree's
 *       O(log n) paths. DESIGN.md section 5: the 100,000 score must be at most 2 x the 100
 *       score.</li>
 *   <li>{@link #mapUnmapScattered}: the same, visiting 4,096 holes spread over the whole space
 *       in a scattered order, so that with 100,000 mappings (6.4 MB of nodes) the lower levels
 *       of each descent are cache misses: the memory-bound case.</li>
 *   <li>{@link #planSplitPerOp}: plan only (never applied: the space does not change) a map
 *       that starts inside one mapping in the middle of the space and ends inside the 15th after
 *       it: REMAP(prev), 14 UNMAPs, REMAP(next), MAP. The score is per op of the plan.</li>
 * </ul>
 * Heap per mapping: {@code java -cp bench/target/benchmarks.jar dev.memmgr.bench.GpuVmPlanBench}
 * builds 100,000 mappings and prints the growth of the used heap per mapping.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Thread)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx1g", "-Xms1g"})
public class GpuVmPlanBench { // not final: JMH subclasses benchmark and @State classes
    private static final long PAGE = 4096;
    /** Mappings a split plan covers: ops = SPAN + 2. */
    private static final int SPAN = 15;
    private static final int SPLIT_OPS = SPAN + 2;
    /** Holes visited by {@link #mapUnmapScattered}, a power of two. */
    private static final int VISITS = 4096;

    @Param({"100", "100000"})
    public int mappings;

    private VaSpace<Object> space;
    private final Object texture = new Object();
    private final Object other = new Object();
    private long middleHole;
    private long middleSplit;
    private long[] holes;
    private int nextHole;

    @Setup(Level.Trial)
    public void setUp() {
        space = build(mappings, texture);
        middleHole = (3L * (mappings / 2) + 2) * PAGE;
        middleSplit = (3L * (mappings / 2 - SPAN / 2) + 1) * PAGE;   // the second page of a mapping
        holes = new long[VISITS];
        for (int j = 0; j < VISITS; j++) {
            holes[j] = (3 * ((j * 7919L) % mappings) + 2) * PAGE;   // a scattered walk over all holes
        }
        if (planSplitPerOp().ops().size() != SPLIT_OPS || mapUnmapOnePage().ops().size() != 1) {
            throw new IllegalStateException("the benchmark's layout does not give the ops it counts");
        }
    }

    /** A space with {@code n} two-page mappings of {@code obj}, a one-page hole after each. */
    static VaSpace<Object> build(int n, Object obj) {
        VaSpace<Object> s = new VaSpace<>(0, 3L * n * PAGE, PAGE);
        for (int i = 0; i < n; i++) {
            s.apply(s.planMap(3L * i * PAGE, 2 * PAGE, obj, 0, 2 * PAGE));
        }
        return s;
    }

    @Benchmark
    public Plan<Object> mapUnmapOnePage() {
        return mapUnmap(middleHole);
    }

    @Benchmark
    public Plan<Object> mapUnmapScattered() {
        return mapUnmap(holes[nextHole++ & (VISITS - 1)]);
    }

    private Plan<Object> mapUnmap(long va) {
        space.apply(space.planMap(va, PAGE, other, 0, PAGE));
        Plan<Object> unmap = space.planUnmap(va, PAGE);
        space.apply(unmap);
        return unmap;
    }

    @Benchmark
    @OperationsPerInvocation(SPLIT_OPS)
    public Plan<Object> planSplitPerOp() {
        long range = 3L * SPAN * PAGE;
        return space.planMap(middleSplit, range, other, 0, range);
    }

    /** Prints the heap per mapping: used heap after full GCs, before and after 100,000 maps. */
    public static void main(String[] args) {
        int n = 100_000;
        Object obj = new Object();
        long before = usedHeapAfterGc();
        VaSpace<Object> s = build(n, obj);
        long after = usedHeapAfterGc();
        if (s.count() != n) {
            throw new IllegalStateException("built " + s.count());
        }
        System.out.printf(Locale.ROOT, "%d mappings: %d bytes of heap, %.1f bytes per mapping%n", n, after - before,
                (double) (after - before) / n);
    }

    private static long usedHeapAfterGc() {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 10; i++) {
            System.gc();
            long now = memory.getHeapMemoryUsage().getUsed();
            if (now >= used - 1024) {
                return Math.min(used, now);
            }
            used = now;
        }
        return used;
    }
}
