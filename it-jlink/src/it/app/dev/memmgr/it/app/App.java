package dev.memmgr.it.app;

import dev.memmgr.BufferObject;
import dev.memmgr.Client;
import dev.memmgr.MemoryManager;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Creates a manager, writes an object, evicts it to swap, reads it back (a swap-in) and prints one
 * line; exits 1 if a byte came back wrong. Run from a jlinked image by JlinkIT.
 */
public final class App {
    private App() {
    }

    public static void main(String[] args) {
        try (MemoryManager mm = MemoryManager.builder().capacity(16L << 20).backgroundReclaim(false).build();
             Client client = mm.openClient("jlink-app");
             Arena arena = Arena.ofConfined()) {
            long size = 3L * mm.pageSize();
            MemorySegment src = arena.allocate(size);
            for (long i = 0; i < size; i++) {
                src.set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte) (i * 31 + 7));
            }
            BufferObject bo = client.create(size);
            bo.write(0, src);
            long evicted = mm.reclaim(size);
            MemorySegment dst = arena.allocate(size);
            bo.read(0, dst);
            boolean intact = dst.mismatch(src) == -1;
            System.out.println("memmgr " + MemoryManager.version() + " in a jlinked image (module "
                    + MemoryManager.class.getModule().getName() + "): 3 pages written, " + evicted
                    + " bytes evicted, swapped back in " + (intact ? "intact" : "CORRUPTED")
                    + ", swap-ins " + mm.stats().swapIns());
            bo.close();
            if (!intact) {
                System.exit(1);
            }
        }
    }
}
