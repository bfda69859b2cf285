package dev.memmgr.internal.swap;

import dev.memmgr.internal.mem.PhysMem;
import dev.memmgr.internal.sys.Errno;
import dev.memmgr.internal.sys.ErrnoException;
import dev.memmgr.internal.sys.LibC;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongConsumer;

/**
 * One vector I/O call's worth of work: a run of consecutive slots paired with pieces of
 * contiguous frames (at most {@link LibC#IOV_MAX}), moved by one {@code pwritev} or
 * {@code preadv} whose iovecs point straight into the direct map, looping on short transfers.
 * Writing records each page's checksum; reading verifies them after the bytes are in.
 *
 * <p>Batches of {@value #PARALLEL_BYTES} bytes or more hand the checksums to the
 * {@link CrcWorker} so that they overlap the I/O: a write checksums the frames while
 * {@code pwritev} copies them (the caller owns them, nobody changes them); a read goes in chunks
 * of {@value #READ_CHUNK} bytes and the worker verifies chunk k while chunk k+1 is read. Smaller
 * batches checksum inline, where a hand-off would cost more than the work.
 *
 * <p>Not thread-safe: made by one {@link SwapSpace#write}/{@link SwapSpace#read} call, used by
 * its thread only, and reused for every batch of that call (it waits for its worker tasks before
 * returning). The iovec array lives in the call's confined arena; the pieces are one int array.
 * Nothing is allocated per page.
 */
final class IoBatch {
    /** Batches at least this large checksum on the worker, overlapping the I/O. */
    static final long PARALLEL_BYTES = 1 << 20;
    /** Bytes per preadv of a parallel read: the unit of overlap. */
    static final long READ_CHUNK = 4 << 20;

    private final SwapIo io;
    private final int fd;
    private final PhysMem mem;
    private final long mapAddress;
    private final int pageShift;
    private final int pageSize;
    private final Checksums sums;
    private final MemorySegment iov;
    /** (first frame, pages) per piece. */
    private final int[] pieces;
    private final PageCrc crc;
    private final CrcWorker worker;
    private int count;
    private int slotStart;
    private int units;

    /**
     * @param arena the calling thread's confined arena, alive for as long as this batch is used
     * @param maxPieces pieces per call, 1..IOV_MAX
     */
    IoBatch(SwapIo io, int fd, PhysMem mem, Checksums sums, Arena arena, int maxPieces, CrcWorker worker) {
        this.io = io;
        this.fd = fd;
        this.mem = mem;
        this.mapAddress = mem.directMap().address();
        this.pageShift = mem.pageShift();
        this.pageSize = mem.pageSize();
        this.sums = sums;
        this.iov = arena.allocate(maxPieces * LibC.IOVEC_BYTES, 8);
        this.pieces = new int[2 * maxPieces];
        this.crc = new PageCrc(mem);
        this.worker = worker;
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
        count++;
        units += pages;
    }

    /** Records the pieces' checksums and writes them to their slots. No-op when empty. */
    void write() {
        if (units == 0) {
            return;
        }
        if (worker == null || ((long) units << pageShift) < PARALLEL_BYTES) {
            record(crc, 0, units);
            transfer(true, Long.MAX_VALUE, null);
            return;
        }
        Future<?> sumsDone = worker.submit(c -> record(c, 0, units));
        try {
            transfer(true, Long.MAX_VALUE, null);
        } finally {
            CrcWorker.await(sumsDone); // before returning: the worker reads the caller's frames
        }
    }

    /** Reads the slots into the pieces and verifies every page. No-op when empty. */
    void read() {
        if (units == 0) {
            return;
        }
        if (worker == null || ((long) units << pageShift) < PARALLEL_BYTES) {
            transfer(false, Long.MAX_VALUE, null);
            String mismatch = verify(crc, 0, units);
            if (mismatch != null) {
                throw new SwapIoException(what(false) + mismatch);
            }
            return;
        }
        AtomicReference<String> mismatch = new AtomicReference<>();
        List<Future<?>> verifying = new ArrayList<>();
        int[] verified = {0};
        try {
            transfer(false, READ_CHUNK, done -> {
                int full = (int) Math.min(units, done >>> pageShift);
                if (full > verified[0]) {
                    int from = verified[0];
                    verifying.add(worker.submit(c -> {
                        String m = verify(c, from, full);
                        if (m != null) {
                            mismatch.compareAndSet(null, m);
                        }
                    }));
                    verified[0] = full;
                }
            });
        } finally {
            for (Future<?> f : verifying) {
                CrcWorker.await(f);
            }
        }
        if (mismatch.get() != null) {
            throw new SwapIoException(what(false) + mismatch.get());
        }
    }

    /** Records the checksums of the batch's pages [from, to) (page i goes to slot slotStart + i). */
    private void record(PageCrc c, int from, int to) {
        forPages(from, to, (frame, slot) -> sums.set(slot, c.of(frame)));
    }

    /** @return a description of the first page of [from, to) whose checksum differs, or null */
    private String verify(PageCrc c, int from, int to) {
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
        int page = 0;
        for (int i = 0; i < count && page < to; i++) {
            int first = pieces[2 * i];
            int n = pieces[2 * i + 1];
            int lo = Math.max(from, page);
            int hi = Math.min(to, page + n);
            for (int p = lo; p < hi; p++) {
                action.apply(first + (p - page), slotStart + p);
            }
            page += n;
        }
    }

    /**
     * Moves the batch's bytes, at most {@code chunk} bytes per call, looping on short transfers;
     * after each call tells {@code progress} (if any) how many bytes are done.
     */
    private void transfer(boolean write, long chunk, LongConsumer progress) {
        long total = (long) units << pageShift;
        long position = (long) slotStart << pageShift;
        long done = 0;
        int first = 0;
        long skip = 0;
        while (done < total) {
            int iovcnt = fillIovecs(first, skip, Math.min(chunk, total - done));
            long n;
            try {
                n = write ? io.pwritev(fd, iov.address(), iovcnt, position + done)
                        : io.preadv(fd, iov.address(), iovcnt, position + done);
            } catch (ErrnoException e) {
                if (e.errno() == Errno.EINTR) {
                    continue;
                }
                throw new SwapIoException(what(write) + e.getMessage(), e);
            }
            if (n <= 0 || n > total - done) {
                throw new SwapIoException(what(write) + (n == 0 && !write ? "short read: end of file" : "transferred "
                        + n + " bytes") + " after " + done + " of " + total + " bytes");
            }
            done += n;
            skip += n;
            while (first < count && skip >= pieceBytes(first)) {
                skip -= pieceBytes(first);
                first++;
            }
            if (progress != null) {
                progress.accept(done);
            }
        }
    }

    /**
     * Writes the iovecs for the pieces from {@code first} on, the first one less {@code skip}
     * bytes, covering at most {@code limit} bytes.
     */
    private int fillIovecs(int first, long skip, long limit) {
        long covered = 0;
        int n = 0;
        for (int i = first; i < count && covered < limit; i++) {
            long offset = i == first ? skip : 0;
            long length = Math.min(pieceBytes(i) - offset, limit - covered);
            long base = (long) n * LibC.IOVEC_BYTES;
            iov.set(ValueLayout.JAVA_LONG, base, mapAddress + mem.offset(pieces[2 * i]) + offset);
            iov.set(ValueLayout.JAVA_LONG, base + 8, length);
            covered += length;
            n++;
        }
        return n;
    }

    private long pieceBytes(int i) {
        return (long) pieces[2 * i + 1] << pageShift;
    }

    private String what(boolean write) {
        return "swap " + (write ? "write" : "read") + " of " + units + " pages at slot " + slotStart + " failed: ";
    }
}
