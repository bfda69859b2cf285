package dev.memmgr.internal.swap;

import dev.memmgr.internal.sys.LibC;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * The CRC32C of every swap slot's page, one int per slot, off-heap: an anonymous private
 * mapping (MAP_NORESERVE, so only the part of the table in use costs memory) owned by a shared
 * arena. Heap use does not grow with the swap size.
 *
 * <p>Threading: entries are plain ints, accessed per slot; threads working on disjoint slots
 * may use the table concurrently. The caller orders a write of a slot before its read (the
 * object's lock does). After {@link #close()} every access throws IllegalStateException.
 */
final class Checksums implements AutoCloseable {
    /** Bytes covered by one ByteBuffer view (views are limited to 2 GiB). */
    private static final long VIEW_BYTES = 1L << 30;

    private final Arena arena;
    private final MemorySegment table;
    private final int pageSize;

    private Checksums(Arena arena, MemorySegment table, int pageSize) {
        this.arena = arena;
        this.table = table;
        this.pageSize = pageSize;
    }

    /** Maps a table for {@code slots} slots of {@code pageSize} bytes. */
    static Checksums create(int slots, int pageSize) {
        long bytes = (long) slots * Integer.BYTES;
        long addr = LibC.mmap(0, bytes, LibC.PROT_READ | LibC.PROT_WRITE,
                LibC.MAP_PRIVATE | LibC.MAP_ANONYMOUS | LibC.MAP_NORESERVE, -1, 0);
        Arena arena = Arena.ofShared();
        MemorySegment table = MemorySegment.ofAddress(addr).reinterpret(bytes, arena, s -> LibC.munmap(addr, bytes));
        return new Checksums(arena, table, pageSize);
    }

    /** @return the checksum recorded for a slot */
    int get(int slot) {
        return table.getAtIndex(ValueLayout.JAVA_INT, slot);
    }

    /**
     * Computes the CRC32C of each page of {@code pages} and records it for the slots from
     * {@code slot} on, in order.
     *
     * @param pages whole pages (a slice of the direct map)
     */
    void record(MemorySegment pages, int slot, CRC32C crc) {
        long bytes = pages.byteSize();
        for (long view = 0; view < bytes; view += VIEW_BYTES) {
            ByteBuffer bb = pages.asSlice(view, Math.min(VIEW_BYTES, bytes - view)).asByteBuffer();
            for (int p = 0; p < bb.capacity(); p += pageSize) {
                table.setAtIndex(ValueLayout.JAVA_INT, slot++, crc(bb, p, crc));
            }
        }
    }

    /**
     * Checks each page of {@code pages} against the checksum recorded for the slots from
     * {@code slot} on.
     *
     * @return the index of the first page that does not match, or -1
     */
    int firstMismatch(MemorySegment pages, int slot, CRC32C crc) {
        long bytes = pages.byteSize();
        int index = 0;
        for (long view = 0; view < bytes; view += VIEW_BYTES) {
            ByteBuffer bb = pages.asSlice(view, Math.min(VIEW_BYTES, bytes - view)).asByteBuffer();
            for (int p = 0; p < bb.capacity(); p += pageSize, index++) {
                if (crc(bb, p, crc) != get(slot + index)) {
                    return index;
                }
            }
        }
        return -1;
    }

    /** @return the CRC32C of the page at {@code position} of {@code bb} */
    int crc(ByteBuffer bb, int position, CRC32C crc) {
        bb.limit(position + pageSize).position(position);
        crc.reset();
        crc.update(bb);
        bb.limit(bb.capacity());
        return (int) crc.getValue();
    }

    /** Unmaps the table; later accesses throw IllegalStateException. Not idempotent: called once by the owner. */
    @Override
    public void close() {
        arena.close();
    }
}
