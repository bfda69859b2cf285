package dev.memmgr.bench;

import dev.memmgr.BufferObject;
import dev.memmgr.Client;
import dev.memmgr.MemoryManager;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Where {@link AllocBench#createPopulateFree}'s time goes beyond zeroing, in two steps: an
 * object's life without pages ({@code createClose}: object, handle, reservation, reclaim lists,
 * free), and the same with one page populated and freed ({@code createPopulateFreeOnePage}: adds
 * the locked getPages and putPages, the frame allocator both ways, the page table and one page of
 * zeroing). Zeroing 64 KiB costs about what {@code Arena.allocate} does ({@link FrameBench}), so
 * these two are what {@code createPopulateFree} at 64 KiB pays over the arena.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx1g"})
public class AllocBreakdownBench {
    MemoryManager mm;
    Client client;

    @Setup(Level.Trial)
    public void setUp() {
        mm = MemoryManager.builder().capacity(256L << 20).noSwap().backgroundReclaim(false).build();
        client = mm.openClient("bench");
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        mm.close();
    }

    @Benchmark
    public void createClose(Blackhole bh) {
        BufferObject bo = client.create(64 << 10);
        bh.consume(bo.handle());
        bo.close();
    }

    @Benchmark
    public void createPopulateFreeOnePage(Blackhole bh) {
        BufferObject bo = client.create(4096);
        bo.getPages();
        bo.putPages();
        bh.consume(bo.handle());
        bo.close();
    }
}
