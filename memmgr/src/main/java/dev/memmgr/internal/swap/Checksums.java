package dev.memmgr.internal.swap;

import dev.memmgr.internal.sys.LibC;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The CRC32C of every swap slot's page (computed by {@link IoBatch}), one int per slot,
 * off-heap: an anonymous private mapping (MAP_NORESERVE, so only the part of the table in use
 * costs memory) owned by a shared arena. Heap use does not grow with the swap size.
 *
 * <p>Threading: entries are plain ints, accessed per slot; threads working on disjoint slots
 * may use the table concurrently. The caller orders a write of a slot before its read (the
 * object's lock does). After {@link #close()} every access throws IllegalStateException.
 */
final class Checksums implements AutoCloseable {
    private final Arena arena;
    private final MemorySegment table;

    private Checksums(Arena arena, MemorySegment table) {
        this.arena = arena;
        this.table = table;
    }

    /** Maps a table for {@code slots} slots, all 0. */
    static Checksums create(int slots) {
        long bytes = (long) slots * Integer.BYTES;
        long addr = LibC.mmap(0, bytes, LibC.PROT_READ | LibC.PROT_WRITE,
                LibC.MAP_PRIVATE | LibC.MAP_ANONYMOUS | LibC.MAP_NORESERVE, -1, 0);
        Arena arena = Arena.ofShared();
        MemorySegment table = MemorySegment.ofAddress(addr).reinterpret(bytes, arena, s -> LibC.munmap(addr, bytes));
        return new Checksums(arena, table);
    }

    /** @return the checksum recorded for a slot */
    int get(int slot) {
        return table.getAtIndex(ValueLayout.JAVA_INT, slot);
    }

    /** Records the checksum of a slot. */
    void set(int slot, int crc) {
        table.setAtIndex(ValueLayout.JAVA_INT, slot, crc);
    }

    /** Unmaps the table; later accesses throw IllegalStateException. Called once, by the owner. */
    @Override
    public void close() {
        arena.close();
    }
}
