package dev.memmgr.internal.swap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memmgr.MemmgrExtension;
import dev.memmgr.internal.mem.ExtentList;
import dev.memmgr.internal.mem.PhysMem;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Batches move in {@link IoBatch#CHUNK_BYTES} chunks, each checksummed by the thread that moves
 * it; batches of at least {@link IoBatch#PARALLEL_BYTES} are shared with the worker thread, and
 * the caller never waits for the worker to start.
 */
@ExtendWith(MemmgrExtension.class)
class ParallelChecksumTest {
    private static final int PAGE = 4096;
    /** 10 MiB: two full read chunks and a partial one. */
    private static final int PAGES = 2560;

    @TempDir
    Path dir;
    private PhysMem mem;
    private SwapSpace swap;
    private SwapFaults faults;

    @BeforeEach
    void setUp() {
        mem = PhysMem.create(64L << 20, PAGE);
        swap = SwapSpace.createTemp(dir, 2L * PAGES * PAGE, mem);
        faults = SwapFaults.install(swap);
    }

    @AfterEach
    void tearDown() {
        swap.close();
        mem.close();
    }

    @Test
    void chunkedParallelRoundTripOfScatteredFrames() {
        assertTrue((long) PAGES * PAGE >= 2L * IoBatch.CHUNK_BYTES + IoBatch.PARALLEL_BYTES);
        ExtentList frames = new ExtentList();
        for (int f = 0; f < 2 * PAGES; f += 2) {
            frames.add(f, 1); // every other frame: one iovec per page, IOV_MAX splits too
        }
        ExtentList slots = new ExtentList();
        assertTrue(swap.allocate(PAGES, slots));
        Pages.fill(mem, frames, 77);
        swap.write(frames, slots);
        Pages.zero(mem, frames);
        long reads = faults.readCalls();
        swap.read(slots, frames);
        assertNull(Pages.mismatch(mem, frames, 77));
        long chunks = (long) PAGES * PAGE / IoBatch.CHUNK_BYTES;
        assertTrue(faults.readCalls() - reads >= chunks, "read in chunks: " + (faults.readCalls() - reads) + " calls");
    }

    @Test
    void aCorruptSlotInALaterChunkIsReportedAfterEveryChunkIsVerified() {
        ExtentList frames = new ExtentList();
        frames.add(0, PAGES);
        ExtentList slots = new ExtentList();
        assertTrue(swap.allocate(PAGES, slots));
        Pages.fill(mem, frames, 5);
        swap.write(frames, slots);
        int bad = slots.start(0) + PAGES - 3; // in the last, partial chunk
        faults.corruptSlot(bad);
        SwapIoException e = assertThrows(SwapIoException.class, () -> swap.read(slots, frames));
        assertTrue(e.getMessage().contains("checksum mismatch in slot " + bad), e.getMessage());
        assertEquals(PAGES, swap.usedSlots(), "a failed read keeps the slots");
    }

    @Test
    void anIoErrorInTheMiddleOfAChunkedReadWaitsForTheVerifiersAndFails() {
        ExtentList frames = new ExtentList();
        frames.add(0, PAGES);
        ExtentList slots = new ExtentList();
        assertTrue(swap.allocate(PAGES, slots));
        Pages.fill(mem, frames, 9);
        swap.write(frames, slots);
        faults.shortReads(1);
        assertThrows(SwapIoException.class, () -> swap.read(slots, frames));
        faults.restore();
        Pages.zero(mem, frames);
        swap.read(slots, frames);
        assertNull(Pages.mismatch(mem, frames, 9), "the slots are intact after the failed read");
    }

    @Test
    void aFailedParallelWriteLeavesTheFramesAlone() {
        ExtentList frames = new ExtentList();
        frames.add(100, 512);
        ExtentList slots = new ExtentList();
        assertTrue(swap.allocate(512, slots));
        Pages.fill(mem, frames, 3);
        faults.failWrites(1);
        assertThrows(SwapIoException.class, () -> swap.write(frames, slots));
        assertNull(Pages.mismatch(mem, frames, 3));
    }

    @Test
    void theWorkerTakesChunksWhileTheCallerMovesOthers() throws Exception {
        ExtentList frames = new ExtentList();
        frames.add(0, PAGES);
        ExtentList slots = new ExtentList();
        assertTrue(swap.allocate(PAGES, slots));
        Pages.fill(mem, frames, 21);
        swap.write(frames, slots);
        Pages.zero(mem, frames);
        Thread caller = Thread.currentThread();
        CountDownLatch callerRead = new CountDownLatch(1);
        CountDownLatch workerRead = new CountDownLatch(1);
        Set<String> readers = ConcurrentHashMap.newKeySet();
        swap.io(new SwapIo() {
            @Override
            public long pwritev(int fd, long iov, int iovcnt, long offset) {
                return SwapIo.LIBC.pwritev(fd, iov, iovcnt, offset);
            }

            @Override
            public long preadv(int fd, long iov, int iovcnt, long offset) {
                readers.add(Thread.currentThread().getName());
                boolean mine = Thread.currentThread() == caller;
                (mine ? callerRead : workerRead).countDown();
                try { // each thread's first chunk waits until the other has one too
                    (mine ? workerRead : callerRead).await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return SwapIo.LIBC.preadv(fd, iov, iovcnt, offset);
            }
        });
        swap.read(slots, frames);
        assertNull(Pages.mismatch(mem, frames, 21));
        assertEquals(Set.of(caller.getName(), "memmgr-swap-worker"), readers);
    }

    @Test
    void aCallerWhoseWorkerIsBusyMovesEveryChunkItself() throws Exception {
        ExtentList frames = new ExtentList();
        frames.add(0, PAGES);
        ExtentList slots = new ExtentList();
        assertTrue(swap.allocate(PAGES, slots));
        Pages.fill(mem, frames, 22);
        CountDownLatch busy = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        assertTrue(swap.worker().offer(lane -> {
            busy.countDown();
            try {
                release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        try {
            assertTrue(busy.await(10, TimeUnit.SECONDS));
            long writes = faults.writeCalls();
            swap.write(frames, slots);
            Pages.zero(mem, frames);
            swap.read(slots, frames);
            assertNull(Pages.mismatch(mem, frames, 22));
            assertTrue(faults.writeCalls() - writes >= (long) PAGES * PAGE / IoBatch.CHUNK_BYTES);
        } finally {
            release.countDown();
        }
    }
}
