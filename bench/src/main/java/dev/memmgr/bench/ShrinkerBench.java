package dev.memmgr.bench;

import dev.memmgr.BufferObject;
import dev.memmgr.Client;
import dev.memmgr.Fence;
import dev.memmgr.FenceUsage;
import dev.memmgr.MemoryManager;
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
 * What the shrinker pays per candidate it cannot reclaim, with {@code objects} resident
 * one-page objects in the way and nothing reclaimable, so that {@code reclaim} walks them all
 * (each twice: second chance) and frees nothing. Scores are per object in the way.
 * <ul>
 * <li>{@code scanPastBusy}: every object has an unsignaled fence: reference, try-lock, busy
 *     check, unlock, back to the tail.</li>
 * <li>{@code scanPastPinned}: every object is pinned: pinned objects are off the LRU lists, so
 *     the scan does not see them at all (the score is the fixed cost of a call, divided).</li>
 * </ul>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx1g"})
public class ShrinkerBench {
    @Param({"10000"})
    public int objects;

    MemoryManager busyManager;
    MemoryManager pinnedManager;

    @Setup(Level.Trial)
    public void setUp() {
        busyManager = manager();
        Client busy = busyManager.openClient("busy");
        Fence never = new Fence();
        for (int i = 0; i < objects; i++) {
            BufferObject bo = busy.create(busyManager.pageSize());
            bo.getPages();
            bo.putPages();
            bo.resv().addFence(never, FenceUsage.READ);
        }
        pinnedManager = manager();
        Client pinned = pinnedManager.openClient("pinned");
        for (int i = 0; i < objects; i++) {
            pinned.create(pinnedManager.pageSize()).pin();
        }
    }

    private MemoryManager manager() {
        return MemoryManager.builder().capacity(2L * objects * 4096).backgroundReclaim(false).build();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        busyManager.close();
        pinnedManager.close();
    }

    @Benchmark
    @OperationsPerInvocation(10000)
    public long scanPastBusy() {
        return busyManager.reclaim(busyManager.pageSize());
    }

    @Benchmark
    @OperationsPerInvocation(10000)
    public long scanPastPinned() {
        return pinnedManager.reclaim(pinnedManager.pageSize());
    }
}
