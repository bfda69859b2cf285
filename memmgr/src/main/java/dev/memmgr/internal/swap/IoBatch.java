package dev.memmgr.internal.swap;

import dev.memmgr.SwapException;
import dev.memmgr.internal.mem.PhysMem;
import dev.memmgr.internal.sys.Errno;
import dev.memmgr.internal.sys.ErrnoException;
import dev.memmgr.internal.sys.LibC;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * One vector I/O call's worth of work: a run of consecutive slots paired with pieces of
 * contiguous frames (at most {@link LibC#IOV_MAX}), moved by one {@code pwritev} or
 * {@code preadv} whose iovecs point straight into the direct map, looping on short transfers.
 * Writing records each page's checksum first; reading verifies them after.
 *
 * <p>Not thread-safe: made by one {@link SwapSpace#write}/{@link SwapSpace#read} call, used by
 * its thread only, and reused for every batch of that call. The iovec array lives in the
 * call's confined arena; the pieces are one int array; checksums are computed through a few
 * cached ByteBuffer views of 1 GiB windows of the direct map. Nothing is allocated per page.
 */
final class IoBatch {
    /** log2 of the bytes of direct map one ByteBuffer view covers (views are limited to 2 GiB). */
    private static final int WINDOW_SHIFT = 30;
    /** Views kept per call, direct-mapped by window number. */
    private static final int VIEW_CACHE = 8;

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
    private final CRC32C crc = new CRC32C();
    /** ByteBuffer views of 1 GiB windows of the direct map, made when first needed, and their windows. */
    private ByteBuffer[] views;
    private int[] viewWindows;
    private int count;
    private int slotStart;
    private int units;

    /**
     * @param arena the calling thread's confined arena, alive for as long as this batch is used
     * @param maxPieces pieces per call, 1..IOV_MAX
     */
    IoBatch(SwapIo io, int fd, PhysMem mem, Checksums sums, Arena arena, int maxPieces) {
        this.io = io;
        this.fd = fd;
        this.mem = mem;
        this.mapAddress = mem.directMap().address();
        this.pageShift = mem.pageShift();
        this.pageSize = mem.pageSize();
        this.sums = sums;
        this.iov = arena.allocate(maxPieces * LibC.IOVEC_BYTES, 8);
        this.pieces = new int[2 * maxPieces];
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

    /** Records the pieces' checksums, then writes them to their slots. No-op when empty. */
    void write() {
        if (units == 0) {
            return;
        }
        int slot = slotStart;
        for (int i = 0; i < count; i++) {
            for (int f = pieces[2 * i], end = f + pieces[2 * i + 1]; f < end; f++) {
                sums.set(slot++, pageCrc(f));
            }
        }
        transfer(true);
    }

    /** Reads the slots into the pieces, then verifies every page. No-op when empty. */
    void read() {
        if (units == 0) {
            return;
        }
        transfer(false);
        int slot = slotStart;
        for (int i = 0; i < count; i++) {
            for (int f = pieces[2 * i], end = f + pieces[2 * i + 1]; f < end; f++, slot++) {
                int actual = pageCrc(f);
                int expected = sums.get(slot);
                if (actual != expected) {
                    throw new SwapException(what(false) + "checksum mismatch in slot " + slot + " (crc32c "
                            + Integer.toHexString(actual) + ", expected " + Integer.toHexString(expected) + ")");
                }
            }
        }
    }

    /** @return the CRC32C of a frame, read through a ByteBuffer view of its window of the direct map */
    private int pageCrc(int frame) {
        long offset = mem.offset(frame);
        int w = (int) (offset >>> WINDOW_SHIFT);
        int entry = w & (VIEW_CACHE - 1);
        if (views == null) {
            views = new ByteBuffer[VIEW_CACHE];
            viewWindows = new int[VIEW_CACHE];
        }
        ByteBuffer view = views[entry];
        if (view == null || viewWindows[entry] != w) {
            long start = (long) w << WINDOW_SHIFT;
            view = mem.directMap().asSlice(start, Math.min(1L << WINDOW_SHIFT, mem.capacity() - start)).asByteBuffer();
            views[entry] = view;
            viewWindows[entry] = w;
        }
        int position = (int) (offset & ((1L << WINDOW_SHIFT) - 1));
        view.clear().position(position).limit(position + pageSize);
        crc.reset();
        crc.update(view);
        return (int) crc.getValue();
    }

    private void transfer(boolean write) {
        long total = (long) units << pageShift;
        long position = (long) slotStart << pageShift;
        long done = 0;
        int first = 0;
        long skip = 0;
        while (done < total) {
            int iovcnt = fillIovecs(first, skip);
            long n;
            try {
                n = write ? io.pwritev(fd, iov.address(), iovcnt, position + done)
                        : io.preadv(fd, iov.address(), iovcnt, position + done);
            } catch (ErrnoException e) {
                if (e.errno() == Errno.EINTR) {
                    continue;
                }
                throw new SwapException(what(write) + e.getMessage(), e);
            }
            if (n <= 0 || n > total - done) {
                throw new SwapException(what(write) + (n == 0 && !write ? "short read: end of file" : "transferred "
                        + n + " bytes") + " after " + done + " of " + total + " bytes");
            }
            done += n;
            skip += n;
            while (first < count && skip >= pieceBytes(first)) {
                skip -= pieceBytes(first);
                first++;
            }
        }
    }

    /** Writes the iovecs for the pieces from {@code first} on, the first one less {@code skip} bytes. */
    private int fillIovecs(int first, long skip) {
        for (int i = first; i < count; i++) {
            long offset = i == first ? skip : 0;
            long base = (i - first) * LibC.IOVEC_BYTES;
            iov.set(ValueLayout.JAVA_LONG, base, mapAddress + mem.offset(pieces[2 * i]) + offset);
            iov.set(ValueLayout.JAVA_LONG, base + 8, pieceBytes(i) - offset);
        }
        return count - first;
    }

    private long pieceBytes(int i) {
        return (long) pieces[2 * i + 1] << pageShift;
    }

    private String what(boolean write) {
        return "swap " + (write ? "write" : "read") + " of " + units + " pages at slot " + slotStart + " failed: ";
    }
}
