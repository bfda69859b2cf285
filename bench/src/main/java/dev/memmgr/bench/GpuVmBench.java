package dev.memmgr.bench;

import dev.memmgr.BufferObject;
import dev.memmgr.Client;
import dev.memmgr.GpuVa;
import dev.memmgr.GpuVm;
import dev.memmgr.MemoryManager;
import dev.memmgr.VaOp;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * GPU virtual address spaces through the public API ({@link GpuVm}), with {@code mappings}
 * mappings in the VM: 100 against 100,000 (a sparse-texture engine). DESIGN.md section 5:
 * {@link #mapUnmapOnePage} with 100,000 mappings at most 2 x the same with 100.
 *
 * <p><b>Layout.</b> {@value #OBJECTS} objects of {@value #OBJECT_PAGES} pages (never populated:
 * mapping does not touch content). Mapping i of the one-page part maps a page of object
 * {@code i % OBJECTS} at VA page {@code 2i}; VA page {@code 2i + 1} is a hole. In the middle of
 * the space, {@value #SPLIT_MAPPINGS} of the mappings are two pages long, each followed by a
 * one-page hole, as in {@link GpuVmPlanBench}, for {@link #planSplitPerOp}. The VM holds exactly
 * {@code mappings} mappings.
 * <ul>
 *   <li>{@link #mapUnmapOnePage}: {@code map} of one page of object 0 (already linked to the
 *       VM) into the hole in the middle of the space, then {@code unmap} of it: one MAP, one
 *       UNMAP, each with the object's reservation or the VM lock and the conversion of the ops to
 *       {@link VaOp} records. The score is the pair.</li>
 *   <li>{@link #mapUnmapScattered}: the same, visiting {@value #VISITS} holes spread over the
 *       whole space in a scattered order: with 100,000 mappings the lower levels of each descent
 *       are cache misses (the memory-bound case).</li>
 *   <li>{@link #planSplitPerOp}: {@code planMap} (nothing applied) of a request that starts in
 *       the second page of a two-page mapping and ends in the first page of the 15th after it:
 *       REMAP(prev), 14 UNMAPs, REMAP(next), MAP. The score is per op; compare with
 *       {@code GpuVmPlanBench.planSplitPerOp}, the internal planner on the same shape.</li>
 * </ul>
 * {@code -prof gc} gives the bytes allocated per operation ({@code gc.alloc.rate.norm}).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx1g", "-Xms1g"})
public class GpuVmBench { // not final: JMH subclasses @State classes
    static final long PAGE = 4096;
    static final int OBJECTS = 4;
    static final int OBJECT_PAGES = 64;
    /** Mappings the split request touches: the first and the last are cut, the rest go. */
    static final int SPLIT_MAPPINGS = 16;
    /** Ops of the split plan: REMAP, 14 UNMAPs, REMAP, MAP. */
    static final int SPLIT_OPS = SPLIT_MAPPINGS + 1;
    /** Holes visited by {@link #mapUnmapScattered}, a power of two. */
    static final int VISITS = 4096;
    /** The VM's first address: not 0, as a driver's would not be. */
    static final long BASE = 1L << 32;

    @Param({"100", "100000"})
    public int mappings;

    MemoryManager mm;
    GpuVm vm;
    BufferObject[] objects;
    long middleHole;
    long splitVa;
    long[] holes;
    int nextHole;

    @Setup(Level.Trial)
    public void setUp() {
        if (mappings < 2 * SPLIT_MAPPINGS) {
            throw new IllegalArgumentException("mappings must be at least " + 2 * SPLIT_MAPPINGS);
        }
        mm = MemoryManager.builder().capacity(16L << 20).backgroundReclaim(false).build();
        Client client = mm.openClient("bench");
        objects = new BufferObject[OBJECTS];
        for (int i = 0; i < OBJECTS; i++) {
            objects[i] = client.create(OBJECT_PAGES * PAGE);
        }
        int ones = mappings - SPLIT_MAPPINGS;
        int left = ones / 2;
        int right = ones - left;
        long splitBase = 2L * left;                       // in pages from BASE
        long rightBase = splitBase + 3L * SPLIT_MAPPINGS;
        long vaPages = rightBase + 2L * right;
        vm = client.createVm("bench", BASE, vaPages * PAGE);
        long[] allHoles = new long[ones];
        for (int i = 0; i < ones; i++) {
            long page = i < left ? 2L * i : rightBase + 2L * (i - left);
            vm.map(BASE + page * PAGE, PAGE, objects[i % OBJECTS], (i % OBJECT_PAGES) * PAGE);
            allHoles[i] = BASE + (page + 1) * PAGE;
        }
        for (int j = 0; j < SPLIT_MAPPINGS; j++) {
            vm.map(BASE + (splitBase + 3L * j) * PAGE, 2 * PAGE, objects[j % OBJECTS], 2L * j * PAGE);
        }
        middleHole = allHoles[left - 1];                  // the hole just below the split part
        splitVa = BASE + (splitBase + 1) * PAGE;          // the second page of the first split mapping
        holes = new long[VISITS];
        for (int j = 0; j < VISITS; j++) {
            holes[j] = allHoles[(int) ((j * 7919L) % ones)]; // a scattered walk over all holes
        }
        check();
    }

    /** The layout gives the mappings and ops the scores are divided by. */
    private void check() {
        if (vm.mappings().size() != mappings) {
            throw new IllegalStateException("built " + vm.mappings().size() + " mappings, not " + mappings);
        }
        List<VaOp> split = planSplit();
        if (split.size() != SPLIT_OPS || !(split.getFirst() instanceof VaOp.Remap first) || first.prev() == null
                || !(split.get(SPLIT_OPS - 2) instanceof VaOp.Remap last) || last.next() == null
                || !(split.getLast() instanceof VaOp.Map)) {
            throw new IllegalStateException("the split request plans " + split);
        }
        List<VaOp> map = vm.map(middleHole, PAGE, objects[0], 0);
        List<VaOp> unmap = vm.unmap(middleHole, PAGE);
        if (!map.equals(List.of(new VaOp.Map(new GpuVa(middleHole, PAGE, objects[0], 0))))
                || unmap.size() != 1 || !(unmap.getFirst() instanceof VaOp.Unmap)) {
            throw new IllegalStateException("map + unmap of a hole gives " + map + ", " + unmap);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        mm.close();
    }

    @Benchmark
    public List<VaOp> mapUnmapOnePage() {
        return mapUnmap(middleHole);
    }

    @Benchmark
    public List<VaOp> mapUnmapScattered() {
        return mapUnmap(holes[nextHole++ & (VISITS - 1)]);
    }

    private List<VaOp> mapUnmap(long va) {
        vm.map(va, PAGE, objects[0], 0);
        return vm.unmap(va, PAGE);
    }

    @Benchmark
    @OperationsPerInvocation(SPLIT_OPS)
    public List<VaOp> planSplitPerOp() {
        return planSplit();
    }

    private List<VaOp> planSplit() {
        long range = 3L * (SPLIT_MAPPINGS - 1) * PAGE;
        return vm.planMap(splitVa, range, objects[1], 0);
    }
}
