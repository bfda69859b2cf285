package dev.memmgr.bench;

import dev.memmgr.BufferObject;
import dev.memmgr.Client;
import dev.memmgr.MemoryManager;
import dev.memmgr.Vmap;
import dev.memmgr.internal.Access;
import dev.memmgr.internal.gem.GemObject;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The cost of {@link BufferObject#vmap()}.
 * <ul>
 * <li>{@code vmapCached}: a vmap of an object that is already vmapped (another view is open),
 *     then close: the lock-free path, no system call. Target: at most 100 ns, 0 bytes allocated
 *     per operation ({@code -prof gc}).</li>
 * <li>{@code vmapColdContiguous} / {@code vmapColdScattered}, {@code pages} 1, 16, 256: the first
 *     vmap of a pinned-free object whose frames form one extent (one {@code mmap}) or are all
 *     apart (one reservation plus one {@code mmap} per page), then close, then the cached mapping
 *     is dropped so that every operation maps again. Includes the unmap (a shared arena close).</li>
 * </ul>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx1g"})
public class VmapBench {
    @Param({"1", "16", "256"})
    public int pages;

    MemoryManager mm;
    BufferObject cached;
    Vmap held;
    BufferObject contiguous;
    GemObject contiguousGem;
    BufferObject scattered;
    GemObject scatteredGem;

    @Setup(Level.Trial)
    public void setUp() {
        mm = MemoryManager.builder().capacity(64L << 20).noSwap().backgroundReclaim(false).build();
        Client client = mm.openClient("bench");
        int page = mm.pageSize();
        cached = client.create((long) pages * page);
        held = cached.vmap();
        contiguous = client.create((long) pages * page);
        contiguous.getPages();
        contiguousGem = Access.gem(contiguous);
        // scatter: one-page objects side by side, every other one freed, then the object fills the holes
        List<BufferObject> spacers = new ArrayList<>();
        for (int i = 0; i < 2 * pages; i++) {
            BufferObject s = client.create(page);
            s.getPages();
            spacers.add(s);
        }
        BufferObject filler = client.create(mm.stats().free()); // no free run left but the holes below
        filler.getPages();
        for (int i = 0; i < spacers.size(); i += 2) {
            spacers.get(i).putPages();
            spacers.get(i).close();
        }
        scattered = client.create((long) pages * page);
        scattered.getPages();
        scatteredGem = Access.gem(scattered);
        filler.putPages();
        filler.close();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        held.close();
        mm.close();
    }

    @Benchmark
    public long vmapCached() {
        try (Vmap v = cached.vmap()) {
            return v.segment().byteSize();
        }
    }

    @Benchmark
    public long vmapColdContiguous() {
        long size;
        try (Vmap v = contiguous.vmap()) {
            size = v.segment().byteSize();
        }
        contiguousGem.dropCachedMapping();
        return size;
    }

    @Benchmark
    public long vmapColdScattered() {
        long size;
        try (Vmap v = scattered.vmap()) {
            size = v.segment().byteSize();
        }
        scatteredGem.dropCachedMapping();
        return size;
    }
}
