package dev.memmgr.internal.swap;

import dev.memmgr.internal.mem.PhysMem;
import dev.memmgr.internal.sys.Errno;
import dev.memmgr.internal.sys.ErrnoException;
import dev.memmgr.internal.sys.LibC;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * DOC: moving a batch of pages between frames and swap slots.
 *
 * <p>A batch is a run of consecutive slots paired with pieces of contiguous frames (at most
 * {@link LibC#IOV_MAX}). It moves in chunks of {@value #CHUNK_BYTES} bytes: one
 * {@code pwritev}/{@code preadv} per chunk, its iovecs pointing straight into the direct map,
 * looping on short transfers. The thread that moves a chunk also checksums it while the chunk's
 * bytes are in its core's cache: a write records each page's CRC32C, then writes; a read reads,
 * then checks the whole chunk in one CRC32C pass against the prediction from the pages'
 * recorded checksums ({@link CrcShift}), page by page only on a mismatch, to name the slot.
 * Checksumming cached bytes costs compute, not memory bandwidth, which the copy needs.
 *
 * <p>Batches of {@value #PARALLEL_BYTES} bytes or more are shared with the {@link SwapWorker}:
 * both threads claim chunks from one counter until none is left. With a free core, one chunk's
 * copy overlaps another's checksum; with none, the caller moves every chunk itself (the worker's
 * task, when it runs late, claims nothing and touches nothing). The caller returns only when
 * every claimed chunk is done, so the worker never uses frames the caller has given up. The
 * first failure of any chunk is kept, later chunks are claimed but not moved, and the caller
 * rethrows it.
 *
 * <p>Not thread-safe: made by one {@link SwapSpace#write}/{@link SwapSpace#read} call, reused
 * for every batch of that call, filled by its thread. The worker reads the batch's pieces only
 * while it holds a claimed chunk, and the caller changes them only after every chunk is done.
 * The caller's iovec array lives in the call's confined arena, the worker's in its own
 * {@link Lane}; the pieces are int arrays. Nothing is allocated per page.
 */
final class IoBatch {
    /** Batches at least this large are shared with the worker. */
    static final long PARALLEL_BYTES = 1 << 20;
    /** Bytes per pwritev/preadv: the unit of checksumming in cache and of sharing. */
    static final int CHUNK_BYTES = 512 << 10;

    /** One thread's means to move chunks: its iovec array (IOV_MAX entries or fewer) and checksum state. */
    record Lane(MemorySegment iov, PageCrc crc) {
    }

    private final SwapIo io;
    private final int fd;
    private final PhysMem mem;
    private final long mapAddress;
    private final int pageShift;
    private final Checksums sums;
    private final CrcShift shift;
    private final Lane callerLane;
    private final SwapWorker worker;
    /** Pages per chunk, at least one. */
    private final int chunkPages;
    /** (first frame, pages) per piece. */
    private final int[] pieces;
    /** The batch page each piece starts at; entry {@code count} is {@code units}. */
    private final int[] pieceStarts;
    private int count;
    private int slotStart;
    private int units;

    /**
     * @param arena the calling thread's confined arena, alive for as long as this batch is used
     * @param maxPieces pieces per call, 1..IOV_MAX
     * @param worker the thread to share large batches with, or null
     */
    IoBatch(SwapIo io, int fd, PhysMem mem, Checksums sums, CrcShift shift, Arena arena, int maxPieces,
            SwapWorker worker) {
        this.io = io;
        this.fd = fd;
        this.mem = mem;
        this.mapAddress = mem.directMap().address();
        this.pageShift = mem.pageShift();
        this.sums = sums;
        this.shift = shift;
        this.callerLane = new Lane(arena.allocate((long) maxPieces * LibC.IOVEC_BYTES, 8), new PageCrc(mem));
        this.worker = worker;
        this.chunkPages = Math.max(1, CHUNK_BYTES >> pageShift);
        this.pieces = new int[2 * maxPieces];
        this.pieceStarts = new int[maxPieces + 1];
    }

    /** Starts an empty batch whose first page goes to (or comes from) {@code slot}. */
    void begin(int slot) {
        slotStart = slot;
        count = 0;
        units = 0;
    }

    /** @return whether no further piece fits */
    boolean isFull() {
        return 2 * count == pieces.length;
    }

    /** @return the slot after the last one of this batch */
    int endSlot() {
        return slotStart + units;
    }

    /** Appends {@code pages} frames from {@code frame}, for the next {@code pages} slots. */
    void add(int frame, int pages) {
        pieces[2 * count] = frame;
        pieces[2 * count + 1] = pages;
        pieceStarts[count] = units;
        count++;
        units += pages;
        pieceStarts[count] = units;
    }

    /** Records the pages' checksums and writes them to their slots. No-op when empty. */
    void write() {
        move(true);
    }

    /** Reads the slots into the pieces and verifies every page. No-op when empty. */
    void read() {
        move(false);
    }

    /** The claim state of one batch, the only state the worker shares with the caller. */
    private static final class Chunks {
        final int total;
        final Thread caller = Thread.currentThread();
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger done = new AtomicInteger();
        final AtomicReference<Throwable> failure = new AtomicReference<>();

        Chunks(int total) {
            this.total = total;
        }

        /** @return the next unclaimed chunk, or -1 when every chunk is claimed */
        int claim() {
            int c = next.getAndIncrement();
            return c < total ? c : -1;
        }

        void finish() {
            if (done.incrementAndGet() == total) {
                LockSupport.unpark(caller);
            }
        }

        /** Waits, uninterruptibly (the interrupt status is kept), for every chunk to be done. */
        void awaitAll() {
            boolean interrupted = false;
            while (done.get() < total) {
                LockSupport.park(this);
                interrupted |= Thread.interrupted();
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void move(boolean write) {
        if (units == 0) {
            return;
        }
        Chunks chunks = new Chunks((units + chunkPages - 1) / chunkPages);
        if (worker != null && chunks.total > 1 && ((long) units << pageShift) >= PARALLEL_BYTES) {
            worker.offer(lane -> work(chunks, lane, write));
        }
        work(chunks, callerLane, write);
        chunks.awaitAll();
        Throwable failure = chunks.failure.get();
        if (failure instanceof RuntimeException r) {
            throw r;
        }
        if (failure instanceof Error e) {
            throw e;
        }
        if (failure != null) {
            throw new IllegalStateException(failure);
        }
    }

    /** Claims and moves chunks until none is left. Caller's or worker's thread. */
    private void work(Chunks chunks, Lane lane, boolean write) {
        for (int c; (c = chunks.claim()) >= 0; ) {
            try {
                if (chunks.failure.get() == null) {
                    int from = c * chunkPages;
                    moveChunk(lane, from, Math.min(units, from + chunkPages), write);
                }
            } catch (RuntimeException | Error e) {
                chunks.failure.compareAndSet(null, e);
            } finally {
                chunks.finish();
            }
        }
    }

    /** Moves the batch's pages [from, to) and records or checks their checksums. */
    private void moveChunk(Lane lane, int from, int to, boolean write) {
        if (write) {
            forPages(from, to, (frame, slot) -> sums.set(slot, lane.crc().of(frame)));
            transfer(lane, true, from, to);
            return;
        }
        transfer(lane, false, from, to);
        String mismatch = verify(lane.crc(), from, to);
        if (mismatch != null) {
            throw new SwapIoException(what(false) + mismatch);
        }
    }

    /**
     * Checks the batch's pages [from, to) against their recorded checksums: one CRC32C pass
     * over their bytes against the prediction from the recorded values (see {@link CrcShift}),
     * then, only on a mismatch, page by page.
     *
     * @return a description of the first page whose checksum differs, or null
     */
    private String verify(PageCrc c, int from, int to) {
        c.begin();
        int expected = 0;
        for (int i = pieceAt(from); i < count && pieceStarts[i] < to; i++) {
            int lo = Math.max(from, pieceStarts[i]);
            int hi = Math.min(to, pieceStarts[i + 1]);
            c.add(pieces[2 * i] + (lo - pieceStarts[i]), hi - lo);
            for (int p = lo; p < hi; p++) {
                expected = shift.combine(expected, sums.get(slotStart + p));
            }
        }
        return c.value() == expected ? null : findMismatch(c, from, to);
    }

    /** @return a description of the first page of [from, to) whose checksum differs, or null */
    private String findMismatch(PageCrc c, int from, int to) {
        String[] first = {null};
        forPages(from, to, (frame, slot) -> {
            if (first[0] == null) {
                int actual = c.of(frame);
                int expected = sums.get(slot);
                if (actual != expected) {
                    first[0] = "checksum mismatch in slot " + slot + " (crc32c " + Integer.toHexString(actual)
                            + ", expected " + Integer.toHexString(expected) + ")";
                }
            }
        });
        return first[0];
    }

    @FunctionalInterface
    private interface PageAction {
        void apply(int frame, int slot);
    }

    /** Calls the action for each page of [from, to) of the batch with its frame and slot. */
    private void forPages(int from, int to, PageAction action) {
        for (int i = pieceAt(from); i < count && pieceStarts[i] < to; i++) {
            int lo = Math.max(from, pieceStarts[i]);
            int hi = Math.min(to, pieceStarts[i + 1]);
            int first = pieces[2 * i] - pieceStarts[i];
            for (int p = lo; p < hi; p++) {
                action.apply(first + p, slotStart + p);
            }
        }
    }

    /** @return the index of the piece holding batch page {@code page} (0 &lt;= page &lt; units) */
    private int pieceAt(int page) {
        int i = Arrays.binarySearch(pieceStarts, 0, count, page);
        return i >= 0 ? i : -i - 2;
    }

    /** Moves the bytes of the batch's pages [from, to) in one call, looping on short transfers. */
    private void transfer(Lane lane, boolean write, int from, int to) {
        long start = (long) from << pageShift;
        long total = (long) (to - from) << pageShift;
        long position = ((long) slotStart << pageShift) + start;
        long done = 0;
        while (done < total) {
            int iovcnt = fillIovecs(lane.iov(), start + done, total - done);
            long n;
            try {
                n = write ? io.pwritev(fd, lane.iov().address(), iovcnt, position + done)
                        : io.preadv(fd, lane.iov().address(), iovcnt, position + done);
            } catch (ErrnoException e) {
                if (e.errno() == Errno.EINTR) {
                    continue;
                }
                throw new SwapIoException(what(write) + e.getMessage(), e);
            }
            if (n <= 0 || n > total - done) {
                throw new SwapIoException(what(write) + (n == 0 && !write ? "short read: end of file" : "transferred "
                        + n + " bytes") + " after " + done + " of " + total + " bytes of pages " + from + ".."
                        + (to - 1));
            }
            done += n;
        }
    }

    /**
     * Writes the iovecs for {@code limit} bytes of the batch from byte {@code offset}.
     *
     * @return the number of iovecs written
     */
    private int fillIovecs(MemorySegment iov, long offset, long limit) {
        long covered = 0;
        int n = 0;
        for (int i = pieceAt((int) (offset >>> pageShift)); i < count && covered < limit; i++) {
            long pieceStart = (long) pieceStarts[i] << pageShift;
            long skip = n == 0 ? offset - pieceStart : 0;
            long length = Math.min(((long) pieces[2 * i + 1] << pageShift) - skip, limit - covered);
            long base = (long) n * LibC.IOVEC_BYTES;
            iov.set(ValueLayout.JAVA_LONG, base, mapAddress + mem.offset(pieces[2 * i]) + skip);
            iov.set(ValueLayout.JAVA_LONG, base + 8, length);
            covered += length;
            n++;
        }
        return n;
    }

    private String what(boolean write) {
        return "swap " + (write ? "write" : "read") + " of " + units + " pages at slot " + slotStart + " failed: ";
    }
}
