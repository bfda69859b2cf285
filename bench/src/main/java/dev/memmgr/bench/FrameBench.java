package dev.memmgr.bench;

import dev.memmgr.internal.mem.ExtentList;
import dev.memmgr.internal.mem.FrameAllocator;
import dev.memmgr.internal.mem.PhysMem;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Cost of getting {@code size} bytes of zeroed page frames from the {@link FrameAllocator} and
 * giving them back, compared against {@code Arena.ofConfined().allocate(size)} (which also
 * zero-fills) followed by {@code close()}.
 *
 * <ul>
 *   <li>{@link #frames}: {@code allocate(size / 4096)} frames, write one byte per page through
 *       the direct map, free them. The allocator never trims here (its threshold is the capacity,
 *       which dirty free frames cannot exceed),
 *       so after the first invocation every allocation reuses dirty frames that are zeroed by the
 *       allocating thread: the churn steady state.
 *   <li>{@link #framesNoTouch}: the same without the per-page write (allocate, zero, free).
 *   <li>{@link #arenaConfined}: the baseline: confined arena, {@code allocate(size)} (malloc and
 *       zero fill), one byte written per 4096 bytes, close (free). glibc serves the large sizes
 *       from the heap after the first free (its mmap threshold adapts), so this baseline also
 *       reuses already faulted-in memory.
 * </ul>
 *
 * <p>How to read the results: the primary score is the average time of one allocate/free cycle
 * of {@code size} bytes ({@code us/op}). The secondary score {@code pages} (an
 * {@link AuxCounters} operations counter, {@code size / 4096} per invocation for every method) is
 * reported by JMH in the same mode: in the default average-time mode it is microseconds per 4 KiB
 * page, so frames per second = 10^6 / score; run with {@code -bm thrpt -tu s} to have JMH print
 * frames (pages) per second directly. The ratio {@code frames / arenaConfined} per size is the
 * number DESIGN.md section 5 cares about (target: frames no slower than the arena).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Thread)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx1g", "-Xms1g"})
public class FrameBench { // not final: JMH subclasses benchmark and @State classes
    /** Page size of the PhysMem and the stride of the per-page writes. */
    private static final int PAGE = 4096;
    /** Capacity of the PhysMem: 16 times the largest allocation. */
    private static final long CAPACITY = 256L << 20;

    /** Bytes per allocation: 64 KiB, 1 MiB, 16 MiB. */
    @Param({"65536", "1048576", "16777216"})
    public int size;

    private PhysMem mem;
    private FrameAllocator allocator;
    private MemorySegment directMap;
    private ExtentList out;
    private int frameCount;

    /**
     * Pages handed out, per iteration (see the class comment for how JMH reports it). JMH
     * requires public fields and a separate state class for auxiliary counters.
     */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Pages {
        public long pages;

        @Setup(Level.Iteration)
        public void reset() {
            pages = 0;
        }
    }

    @Setup(Level.Trial)
    public void setUp() {
        mem = PhysMem.create(CAPACITY, PAGE);
        // Never trims: dirty free frames can never exceed the capacity. Freed frames stay
        // faulted in and are zeroed when they are handed out again.
        allocator = new FrameAllocator(mem, mem.frames());
        directMap = mem.directMap();
        frameCount = size / PAGE;
        out = new ExtentList(4);
        // Reach the steady state before warm-up: the frames exist in the memfd and are dirty.
        if (!allocator.allocate(frameCount, out)) {
            throw new IllegalStateException("cannot allocate " + frameCount + " frames");
        }
        touch();
        allocator.free(out);
        out.clear();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        try {
            if (allocator.freeFrames() != allocator.capacity()) {
                throw new IllegalStateException("frames leaked: " + (allocator.capacity() - allocator.freeFrames()));
            }
        } finally {
            mem.close();
        }
    }

    /** Allocate zeroed frames, write one byte per page through the direct map, free. */
    @Benchmark
    public void frames(Pages counter, Blackhole bh) {
        if (!allocator.allocate(frameCount, out)) {
            throw new IllegalStateException("out of frames");
        }
        touch();
        bh.consume(out.size());
        allocator.free(out);
        out.clear();
        counter.pages += frameCount;
    }

    /** Allocate zeroed frames and free them, without touching them afterwards. */
    @Benchmark
    public void framesNoTouch(Pages counter, Blackhole bh) {
        if (!allocator.allocate(frameCount, out)) {
            throw new IllegalStateException("out of frames");
        }
        bh.consume(out.size());
        allocator.free(out);
        out.clear();
        counter.pages += frameCount;
    }

    /** Baseline: a confined arena allocates (and zero-fills) the same bytes; one write per page; close. */
    @Benchmark
    public void arenaConfined(Pages counter, Blackhole bh) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment segment = arena.allocate(size);
            for (long p = 0; p < size; p += PAGE) {
                segment.set(ValueLayout.JAVA_BYTE, p, (byte) 1);
            }
            bh.consume(segment);
        }
        counter.pages += frameCount;
    }

    /** Writes one byte to every page of the frames in {@link #out}. */
    private void touch() {
        for (int i = 0; i < out.size(); i++) {
            long from = mem.offset(out.start(i));
            long to = from + (long) out.length(i) * PAGE;
            for (long p = from; p < to; p += PAGE) {
                directMap.set(ValueLayout.JAVA_BYTE, p, (byte) 1);
            }
        }
    }
}
