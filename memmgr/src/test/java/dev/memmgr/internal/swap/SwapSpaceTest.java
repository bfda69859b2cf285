package dev.memmgr.internal.swap;

import static dev.memmgr.internal.swap.Pages.extents;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memmgr.MemmgrExtension;
import dev.memmgr.internal.mem.ExtentList;
import dev.memmgr.internal.mem.PhysMem;
import dev.memmgr.internal.sys.LibC;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(MemmgrExtension.class)
class SwapSpaceTest {
    private static final int PAGE = 4096;
    private static final int SLOTS = 4096;

    @TempDir
    Path dir;
    private PhysMem mem;
    private SwapSpace swap;

    @BeforeEach
    void setUp() {
        mem = PhysMem.create(16L << 20, PAGE);
        swap = SwapSpace.createTemp(dir, (long) SLOTS * PAGE, mem);
    }

    @AfterEach
    void tearDown() {
        swap.close();
        mem.close();
    }

    /** Fills frames, writes them, zeroes them, reads them back and checks every byte. */
    private void roundTrip(ExtentList frames, ExtentList slots, long seed) {
        Pages.fill(mem, frames, seed);
        swap.write(frames, slots);
        assertNull(Pages.mismatch(mem, frames, seed), "write must not modify the frames");
        Pages.zero(mem, frames);
        assertTrue(Pages.mismatch(mem, frames, seed) != null);
        swap.read(slots, frames);
        assertNull(Pages.mismatch(mem, frames, seed));
    }

    private ExtentList allocate(int n) {
        ExtentList out = new ExtentList();
        assertTrue(swap.allocate(n, out));
        return out;
    }

    /** Leaves the slots fragmented: all used but holes of {@code hole} slots every {@code every}. */
    private void fragment(int hole, int every) {
        ExtentList all = allocate(swap.freeSlots());
        for (int s = 0; s + hole <= SLOTS; s += every) {
            swap.free(extents(s, hole));
        }
        assertEquals(0, all.start(0));
    }

    @Test
    void contiguousObjectMovesInOneCallPerChunkEachWay() {
        SwapFaults calls = SwapFaults.install(swap);
        ExtentList frames = extents(100, 512); // 2 MiB
        ExtentList slots = allocate(512);
        assertEquals(1, slots.size());
        roundTrip(frames, slots, 1);
        long chunks = (512L * swap.pageSize()) / IoBatch.CHUNK_BYTES;
        assertEquals(chunks, calls.writeCalls());
        assertEquals(chunks, calls.readCalls());
    }

    @Test
    void scatteredFramesToContiguousSlots() {
        ExtentList frames = extents(7, 3, 900, 1, 40, 20, 2000, 64, 5, 1);
        ExtentList slots = allocate((int) frames.units());
        assertEquals(1, slots.size());
        SwapFaults calls = SwapFaults.install(swap);
        roundTrip(frames, slots, 2);
        assertEquals(1, calls.writeCalls(), "one run of slots: one call with one iovec per piece");
    }

    @Test
    void contiguousFramesToFragmentedSlots() {
        fragment(5, 11);
        ExtentList slots = allocate(37);
        assertTrue(slots.size() > 1, slots.toString());
        SwapFaults calls = SwapFaults.install(swap);
        roundTrip(extents(300, 37), slots, 3);
        assertEquals(slots.size(), calls.writeCalls(), "one call per run of slots");
        assertEquals(slots.size(), calls.readCalls());
    }

    @Test
    void scatteredFramesToFragmentedSlots() {
        fragment(4, 9);
        ExtentList slots = allocate(50);
        assertTrue(slots.size() > 1, slots.toString());
        ExtentList frames = extents(1000, 6);
        for (int f = 2001; f < 2001 + 44 * 2; f += 2) {
            frames.add(f, 1);
        }
        assertEquals(50, frames.units());
        roundTrip(frames, slots, 4);
    }

    @Test
    void moreThanIovMaxPiecesAreSplitIntoSeveralCalls() {
        int pieces = LibC.IOV_MAX + 476;
        ExtentList frames = new ExtentList();
        for (int i = 0; i < pieces; i++) {
            frames.add(2 * i, 1);
        }
        ExtentList slots = allocate(pieces);
        assertEquals(1, slots.size());
        SwapFaults calls = SwapFaults.install(swap);
        roundTrip(frames, slots, 5);
        int chunkPages = IoBatch.CHUNK_BYTES / swap.pageSize();
        long expected = ceilDiv(LibC.IOV_MAX, chunkPages) + ceilDiv(pieces - LibC.IOV_MAX, chunkPages);
        assertEquals(expected, calls.writeCalls(), "a batch ends at IOV_MAX pieces, a chunk at CHUNK_BYTES");
        assertEquals(expected, calls.readCalls());
    }

    @Test
    void shortTransfersAreResumedWhereTheyStopped() {
        swap.io(new ChunkedIo(1000)); // never a whole page, never page-aligned
        ExtentList frames = extents(10, 3, 50, 2);
        ExtentList slots = allocate(5);
        roundTrip(frames, slots, 6);
    }

    @Test
    void concurrentTransfersOfDisjointSlots() throws Exception {
        int threads = 4;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<String>> results = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                ExtentList frames = extents(t * 256, 128, t * 256 + 200, 56);
                ExtentList slots = allocate(184);
                long seed = 100 + t;
                results.add(pool.submit(() -> {
                    String bad = null;
                    for (int round = 0; round < 5 && bad == null; round++) {
                        Pages.fill(mem, frames, seed + round);
                        swap.write(frames, slots);
                        Pages.zero(mem, frames);
                        swap.read(slots, frames);
                        bad = Pages.mismatch(mem, frames, seed + round);
                    }
                    return bad;
                }));
            }
            for (Future<String> result : results) {
                assertNull(result.get());
            }
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void allocationAccounting() {
        SwapSpace small = SwapSpace.createTemp(dir, 64L * PAGE, mem);
        try {
            assertEquals(64, small.capacitySlots());
            assertEquals(64L * PAGE, small.capacityBytes());
            assertEquals(PAGE, small.pageSize());
            ExtentList a = new ExtentList();
            ExtentList b = new ExtentList();
            ExtentList c = new ExtentList();
            assertTrue(small.allocate(10, a));
            assertTrue(small.allocate(20, b));
            assertTrue(small.allocate(34, c));
            assertEquals("[0+10]", a.toString());
            assertEquals("[10+20]", b.toString());
            assertEquals(0, small.freeSlots());
            assertEquals(64, small.usedSlots());
            ExtentList none = new ExtentList();
            assertFalse(small.allocate(1, none));
            assertTrue(none.isEmpty());
            small.free(b);
            assertEquals(20, small.freeSlots());
            assertEquals(44, small.usedSlots());
            assertFalse(small.allocate(21, none));
            assertTrue(none.isEmpty());
            assertTrue(small.allocate(20, none));
            assertEquals("[10+20]", none.toString());
            small.free(none);
            assertThrows(IllegalStateException.class, () -> small.free(none));
            assertThrows(IllegalStateException.class, () -> small.free(extents(0, 2, 12, 1)),
                    "all or nothing: slots 0..1 stay allocated");
            assertEquals(20, small.freeSlots());
            assertThrows(IllegalArgumentException.class, () -> small.allocate(0, new ExtentList()));
            assertThrows(IllegalArgumentException.class, () -> small.free(extents(60, 5)));
            small.free(a);
            small.free(c);
            assertEquals(64, small.freeSlots());
            assertEquals(0, small.usedSlots());
        } finally {
            small.close();
        }
    }

    @Test
    void mismatchedOrOutOfRangeListsAreRejected() {
        ExtentList slots = allocate(4);
        assertThrows(IllegalArgumentException.class, () -> swap.write(extents(0, 3), slots));
        assertThrows(IllegalArgumentException.class, () -> swap.read(slots, extents(0, 5)));
        assertThrows(IllegalArgumentException.class, () -> swap.write(extents(mem.frames() - 2, 4), slots));
        assertThrows(IllegalArgumentException.class, () -> swap.write(extents(0, 4), extents(SLOTS - 1, 4)));
        assertThrows(NullPointerException.class, () -> swap.write(null, slots));
        assertThrows(NullPointerException.class, () -> swap.read(null, extents(0, 4)));
        assertThrows(NullPointerException.class, () -> swap.allocate(1, null));
        swap.write(new ExtentList(), new ExtentList()); // nothing to do
    }

    /** Passes calls through, but moves at most {@code limit} bytes of the first iovec per call. */
    private static final class ChunkedIo implements SwapIo {
        private final long limit;

        ChunkedIo(long limit) {
            this.limit = limit;
        }

        @Override
        public long pwritev(int fd, long iov, int iovcnt, long offset) {
            try (Arena arena = Arena.ofConfined()) {
                return SwapIo.LIBC.pwritev(fd, firstChunk(arena, iov).address(), 1, offset);
            }
        }

        @Override
        public long preadv(int fd, long iov, int iovcnt, long offset) {
            try (Arena arena = Arena.ofConfined()) {
                return SwapIo.LIBC.preadv(fd, firstChunk(arena, iov).address(), 1, offset);
            }
        }

        private MemorySegment firstChunk(Arena arena, long iov) {
            MemorySegment in = MemorySegment.ofAddress(iov).reinterpret(LibC.IOVEC_BYTES);
            MemorySegment out = arena.allocate(LibC.IOVEC_BYTES, 8);
            out.set(ValueLayout.JAVA_LONG, 0, in.get(ValueLayout.JAVA_LONG, 0));
            out.set(ValueLayout.JAVA_LONG, 8, Math.min(limit, in.get(ValueLayout.JAVA_LONG, 8)));
            return out;
        }
    }

    private static long ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }
}
