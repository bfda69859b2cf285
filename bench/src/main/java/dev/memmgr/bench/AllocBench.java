package dev.memmgr.bench;

import dev.memmgr.BufferObject;
import dev.memmgr.Client;
import dev.memmgr.MemoryManager;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
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
import org.openjdk.jmh.infra.Blackhole;

/**
 * The life of a buffer, side by side with the JDK and Netty: zeroed memory of a given size is
 * obtained, made usable and given back.
 * <ul>
 * <li>{@code createPopulateFree}: {@code Client.create}, {@code getPages} (frames allocated and
 *     zeroed: recycled frames are zeroed, untouched ones are zero already), {@code putPages},
 *     {@code close} (frames freed). The manager is large enough that no reclaim runs.</li>
 * <li>{@code arenaConfined}: {@code Arena.ofConfined()}, {@code allocate(size)} (malloc and
 *     zero fill), {@code close}.</li>
 * <li>{@code nettyPooledZeroed}: {@code PooledByteBufAllocator.DEFAULT.directBuffer(size)},
 *     {@code setZero} over the whole size, {@code release}.</li>
 * </ul>
 * Target (DESIGN.md section 5): {@code createPopulateFree} no slower than either peer.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx1g"})
public class AllocBench {
    @Param({"65536", "1048576", "16777216"})
    public int size;

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
    public void createPopulateFree(Blackhole bh) {
        BufferObject bo = client.create(size);
        bo.getPages();
        bo.putPages();
        bh.consume(bo.handle());
        bo.close();
    }

    @Benchmark
    public void arenaConfined(Blackhole bh) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(size);
            bh.consume(s.address());
        }
    }

    @Benchmark
    public void nettyPooledZeroed(Blackhole bh) {
        ByteBuf buf = PooledByteBufAllocator.DEFAULT.directBuffer(size, size);
        buf.setZero(0, size);
        bh.consume(buf.memoryAddress());
        buf.release();
    }
}
