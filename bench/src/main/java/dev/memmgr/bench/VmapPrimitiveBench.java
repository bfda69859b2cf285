package dev.memmgr.bench;

import dev.memmgr.internal.mem.ExtentList;
import dev.memmgr.internal.mem.PhysMem;
import dev.memmgr.internal.mem.Vmapping;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;
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
 * Cost of the vmap primitive: {@link Vmapping#map} of {@code pages} frames followed by
 * {@link Vmapping#unmap()}, for frames in one extent (contiguous: a single
 * {@code mmap(MAP_SHARED)} of the memfd) and for scattered frames (every other frame, so
 * {@code pages} extents: one {@code PROT_NONE} reservation plus one {@code MAP_FIXED} mmap per
 * extent). With {@code pages = 1} both lists are the same single extent.
 *
 * <ul>
 *   <li>{@link #mapUnmapContiguous}, {@link #mapUnmapScattered}: map and unmap, the view never
 *       accessed (no page-table entries are populated).
 *   <li>{@link #mapTouchUnmapContiguous}, {@link #mapTouchUnmapScattered}: the same with one
 *       byte written per page through the view; each first write takes a minor page fault that
 *       installs the page-table entry for a page already present in the memfd (setup writes
 *       every frame first, so no shmem page is allocated inside the measurement), and unmap
 *       then tears those entries down.
 *   <li>{@link #sliceBaseline}: the zero-syscall lower bound, {@code directMap().asSlice(...)}
 *       of the same bytes (what a view would cost if it could be a slice of the direct map; it
 *       cannot, because a view must stop working after unmap).
 *   <li>{@link #sliceTouchBaseline}: the same slice with one byte written per page (no faults:
 *       the direct map's entries are already populated): the lower bound of the touch variants.
 * </ul>
 *
 * <p>{@link Vmapping#unmap()} closes the mapping's shared {@link java.lang.foreign.Arena}, which
 * performs a handshake with every Java thread before the memory is unmapped. That handshake, not
 * munmap, is expected to dominate small mappings, which is why the library will cache mappings
 * (DESIGN.md section 5: a vmap of an already vmapped object must cost at most 100 ns) instead of
 * unmapping eagerly. Scores are nanoseconds per map/unmap cycle; divide by {@code pages} for the
 * cost per page.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Thread)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx1g", "-Xms1g"})
public class VmapPrimitiveBench { // not final: JMH subclasses benchmark and @State classes
    private static final int PAGE = 4096;
    /** Frames of the PhysMem: twice the largest page count, for the scattered list. */
    private static final int FRAMES = 512;

    /** Pages per mapping. */
    @Param({"1", "16", "256"})
    public int pages;

    private PhysMem mem;
    private MemorySegment directMap;
    /** Frames 0 .. pages-1: one extent. */
    private ExtentList contiguous;
    /** Frames 0, 2, 4, .. 2*(pages-1): {@code pages} extents. */
    private ExtentList scattered;
    private long bytes;

    @Setup(Level.Trial)
    public void setUp() {
        mem = PhysMem.create((long) FRAMES * PAGE, PAGE);
        directMap = mem.directMap();
        bytes = (long) pages * PAGE;
        contiguous = new ExtentList(1);
        contiguous.add(0, pages);
        scattered = new ExtentList(pages);
        for (int i = 0; i < pages; i++) {
            scattered.add(2 * i, 1);
        }
        // Allocate the memfd's pages now, so the touch variants measure page-table faults only.
        mem.frames(0, 2 * pages).fill((byte) 1);
        // Check that each list takes the path it is named after.
        check(contiguous, 1);
        check(scattered, pages == 1 ? 1 : pages + 1);
    }

    private void check(ExtentList frames, int expectedCalls) {
        Vmapping v = Vmapping.map(mem, frames);
        try {
            if (v.mmapCalls() != expectedCalls || v.segment().byteSize() != bytes) {
                throw new IllegalStateException("mapping of " + frames + " took " + v.mmapCalls()
                        + " mmap calls for " + v.segment().byteSize() + " bytes");
            }
        } finally {
            v.unmap();
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        mem.close();
    }

    /** map + unmap of one extent. */
    @Benchmark
    public void mapUnmapContiguous(Blackhole bh) {
        mapUnmap(contiguous, bh);
    }

    /** map + unmap of {@code pages} one-frame extents. */
    @Benchmark
    public void mapUnmapScattered(Blackhole bh) {
        mapUnmap(scattered, bh);
    }

    /** map, one write per page through the view, unmap; one extent. */
    @Benchmark
    public void mapTouchUnmapContiguous(Blackhole bh) {
        mapTouchUnmap(contiguous, bh);
    }

    /** map, one write per page through the view, unmap; {@code pages} extents. */
    @Benchmark
    public void mapTouchUnmapScattered(Blackhole bh) {
        mapTouchUnmap(scattered, bh);
    }

    /** Lower bound: a slice of the direct map of the same size. */
    @Benchmark
    public MemorySegment sliceBaseline() {
        return directMap.asSlice(0, bytes);
    }

    /** Lower bound of the touch variants: slice of the direct map, one write per page. */
    @Benchmark
    public void sliceTouchBaseline(Blackhole bh) {
        MemorySegment s = directMap.asSlice(0, bytes);
        touch(s);
        bh.consume(s);
    }

    private void mapUnmap(ExtentList frames, Blackhole bh) {
        Vmapping v = Vmapping.map(mem, frames);
        try {
            bh.consume(v.segment());
        } finally {
            v.unmap();
        }
    }

    private void mapTouchUnmap(ExtentList frames, Blackhole bh) {
        Vmapping v = Vmapping.map(mem, frames);
        try {
            MemorySegment s = v.segment();
            touch(s);
            bh.consume(s);
        } finally {
            v.unmap();
        }
    }

    private void touch(MemorySegment s) {
        for (long p = 0; p < bytes; p += PAGE) {
            s.set(ValueLayout.JAVA_BYTE, p, (byte) 1);
        }
    }
}
