package dev.memmgr.internal.swap;

import dev.memmgr.internal.mem.PhysMem;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * CRC32C of one frame or of runs of frames, read through a few cached ByteBuffer views of 1 GiB windows of the direct
 * map (views are limited to 2 GiB; CRC32C is intrinsified for direct buffers). Nothing is
 * allocated per page.
 *
 * <p>Not thread-safe: one per thread (the caller's, or the checksum worker's).
 */
final class PageCrc {
    /** log2 of the bytes of direct map one ByteBuffer view covers. */
    private static final int WINDOW_SHIFT = 30;
    /** Views kept, direct-mapped by window number. */
    private static final int VIEW_CACHE = 8;

    private final PhysMem mem;
    private final int pageSize;
    private final CRC32C crc = new CRC32C();
    private final ByteBuffer[] views = new ByteBuffer[VIEW_CACHE];
    private final int[] viewWindows = new int[VIEW_CACHE];

    PageCrc(PhysMem mem) {
        this.mem = mem;
        this.pageSize = mem.pageSize();
    }

    PhysMem mem() {
        return mem;
    }

    /** @return the CRC32C of a frame's bytes */
    int of(int frame) {
        crc.reset();
        update(mem.offset(frame), pageSize);
        return (int) crc.getValue();
    }

    /** Starts a checksum over several runs of frames (see {@link #add} and {@link #value}). */
    void begin() {
        crc.reset();
    }

    /** Adds the bytes of {@code pages} frames from {@code frame} (contiguous) to the checksum begun. */
    void add(int frame, int pages) {
        long offset = mem.offset(frame);
        long end = offset + ((long) pages << mem.pageShift());
        while (offset < end) {
            long windowEnd = ((offset >>> WINDOW_SHIFT) + 1) << WINDOW_SHIFT;
            int length = (int) (Math.min(end, windowEnd) - offset);
            update(offset, length);
            offset += length;
        }
    }

    /** @return the CRC32C of the bytes added since {@link #begin()} */
    int value() {
        return (int) crc.getValue();
    }

    /** Adds {@code length} bytes of the direct map from {@code offset}, all inside one window. */
    private void update(long offset, int length) {
        int w = (int) (offset >>> WINDOW_SHIFT);
        int entry = w & (VIEW_CACHE - 1);
        ByteBuffer view = views[entry];
        if (view == null || viewWindows[entry] != w) {
            long start = (long) w << WINDOW_SHIFT;
            view = mem.directMap().asSlice(start, Math.min(1L << WINDOW_SHIFT, mem.capacity() - start)).asByteBuffer();
            views[entry] = view;
            viewWindows[entry] = w;
        }
        int position = (int) (offset & ((1L << WINDOW_SHIFT) - 1));
        view.clear().position(position).limit(position + length);
        crc.update(view);
    }
}
