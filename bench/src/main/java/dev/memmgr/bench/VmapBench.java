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
 * <li>{@code vmapColdContiguous}, {@code pages} 1, 16, 256: the first vmap of an object whose
 *     frames form one run (one {@code mmap}), then close, then the cached mapping is dropped so
 *     that every operation maps again. Includes the unmap (a shared arena close).</li>
 * <li>{@code vmapColdScattered}: the same for an object whose frames are all apart while a free
 *     run of its size exists, freed by an object a moment before (its frames still in memory, as
 *     after any churn): the vmap first moves the object into that run (compaction: a copy of its
 *     pages), then maps it with one {@code mmap}. Before each operation (not timed) a fresh
 *     scattered object is made in one-page holes between spacer objects. Target (DESIGN.md
 *     section 5): at most 3 x {@code vmapColdContiguous} at 256 pages.</li>
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
    Client client;

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
        // holes: one-page spacers side by side, every other one freed; then a run of the object's
        // size that was just used (its frames still in memory, as after any churn); then a filler
        // takes every other free frame, so the holes and that run are all that is free
        List<BufferObject> spacers = new ArrayList<>();
        for (int i = 0; i < 2 * pages; i++) {
            BufferObject sp = client.create(page);
            sp.getPages();
            sp.putPages();
            spacers.add(sp);
        }
        BufferObject run = client.create((long) pages * page);
        run.getPages();
        run.putPages();
        for (int i = 0; i < spacers.size(); i += 2) {
            spacers.get(i).close();
        }
        BufferObject filler = client.create(mm.stats().free() - (long) pages * page - (long) pages * page);
        filler.getPages();
        filler.putPages();
        run.close();
        this.client = client;
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

    /**
     * A fresh scattered object for each operation (not timed): a holder takes the free run (an
     * exact fit), the object then only finds the holes, and the holder gives the run back. The
     * vmap moves the object into the run and frees the holes; closing it frees the run again.
     */
    @State(Scope.Thread)
    public static class Scattered {
        BufferObject object;
        GemObject gem;

        @Setup(Level.Invocation)
        public void scatter(VmapBench b) {
            long bytes = (long) b.pages * b.mm.pageSize();
            BufferObject holder = b.client.create(bytes);
            holder.getPages(); // the exact fit: the run
            object = b.client.create(bytes);
            object.getPages(); // no run left: the holes
            object.putPages();
            holder.putPages();
            holder.close();
            gem = Access.gem(object);
        }

        @TearDown(Level.Invocation)
        public void unscatter() {
            object.close();
        }
    }

    @Benchmark
    public long vmapColdScattered(Scattered s) {
        long size;
        try (Vmap v = s.object.vmap()) {
            size = v.segment().byteSize();
        }
        s.gem.dropCachedMapping();
        return size;
    }
}
