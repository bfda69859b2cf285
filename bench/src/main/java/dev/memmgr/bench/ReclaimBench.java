package dev.memmgr.bench;

import dev.memmgr.BufferObject;
import dev.memmgr.Client;
import dev.memmgr.MemoryManager;
import dev.memmgr.Residency;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
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
import org.openjdk.jmh.infra.BenchmarkParams;

/**
 * Swap throughput against raw file I/O on the same file system, each operation moving the same
 * {@value #BYTES} bytes so the times compare directly:
 * <ul>
 * <li>{@code evict}: {@code MemoryManager.reclaim} evicts one resident 64 MiB object (write to
 *     the swap file with CRC32C, frames freed); the object is swapped back in before each
 *     operation, outside the measurement.</li>
 * <li>{@code swapIn}: {@code getPages} of the evicted object (read, CRC32C check, frames
 *     allocated); evicted again before each operation.</li>
 * <li>{@code rawWrite} / {@code rawRead}: {@code FileChannel} positional writes / reads of 2 MiB
 *     blocks of the same bytes, to a file in the same directory as the swap file.</li>
 * </ul>
 * Both sides go through the page cache; nothing is synced. Target (DESIGN.md section 5): evict
 * and swapIn at least 0.8 x the bandwidth of rawWrite and rawRead, i.e. at most 1.25 x their
 * time.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx1g"})
public class ReclaimBench {
    static final int BYTES = 64 << 20;
    static final int BLOCK = 2 << 20;

    Path dir;
    MemoryManager mm;
    BufferObject bo;
    FileChannel raw;
    Arena arena;
    MemorySegment data;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        dir = Files.createTempDirectory("memmgr-reclaim-bench");
        mm = MemoryManager.builder().capacity(2L * BYTES).swapFile(dir.resolve("swap"), 2L * BYTES)
                .backgroundReclaim(false).build();
        Client client = mm.openClient("bench");
        arena = Arena.ofShared();
        data = arena.allocate(BYTES, 4096);
        for (long i = 0; i < BYTES; i += 8) {
            data.set(java.lang.foreign.ValueLayout.JAVA_LONG, i, i * 0x9E3779B97F4A7C15L);
        }
        bo = client.create(BYTES);
        bo.write(0, data);
        raw = FileChannel.open(dir.resolve("raw"), StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        rawWrite(); // the file exists with its blocks, as the swap file's slots do after a first eviction
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        mm.close();
        raw.close();
        arena.close();
        Files.deleteIfExists(dir.resolve("raw"));
        Files.deleteIfExists(dir.resolve("swap"));
        Files.deleteIfExists(dir);
    }

    /**
     * Before each invocation, outside the measurement: {@code evict} needs the object resident,
     * {@code swapIn} needs it evicted. (Done here rather than in helper states, whose setups JMH
     * may hand a different instance of this class.)
     */
    @Setup(Level.Invocation)
    public void prepare(BenchmarkParams params) {
        String name = params.getBenchmark();
        if (name.endsWith(".evict") && bo.residency() != Residency.RESIDENT) {
            bo.getPages();
            bo.putPages();
        } else if (name.endsWith(".swapIn") && bo.residency() != Residency.EVICTED
                && mm.reclaim(BYTES) != BYTES) {
            throw new IllegalStateException("could not evict: " + mm.stats());
        }
    }

    @Benchmark
    public long evict() {
        long n = mm.reclaim(BYTES);
        if (n != BYTES) {
            throw new IllegalStateException("evicted " + n + " bytes instead of " + BYTES);
        }
        return n;
    }

    @Benchmark
    public void swapIn() {
        bo.getPages();
        bo.putPages();
    }

    @Benchmark
    public long rawWrite() throws IOException {
        long total = 0;
        for (long off = 0; off < BYTES; off += BLOCK) {
            ByteBuffer b = data.asSlice(off, BLOCK).asByteBuffer();
            while (b.hasRemaining()) {
                total += raw.write(b, off + b.position());
            }
        }
        return total;
    }

    @Benchmark
    public long rawRead() throws IOException {
        long total = 0;
        for (long off = 0; off < BYTES; off += BLOCK) {
            ByteBuffer b = data.asSlice(off, BLOCK).asByteBuffer();
            while (b.hasRemaining()) {
                int n = raw.read(b, off + b.position());
                if (n < 0) {
                    throw new IOException("short raw file");
                }
                total += n;
            }
        }
        return total;
    }
}
