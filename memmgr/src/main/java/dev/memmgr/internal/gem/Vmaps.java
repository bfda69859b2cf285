package dev.memmgr.internal.gem;

import dev.memmgr.internal.mem.ExtentList;
import dev.memmgr.internal.mem.Vmapping;
import java.lang.foreign.MemorySegment;

/**
 * The vmap transitions of a buffer object: the first vmap pins the object and maps it (or reuses
 * the cached mapping), the last one drops that pin and keeps the mapping cached until the frames
 * go (eviction, purge, free). The lock-free paths (a vmap or vunmap that leaves the count above
 * zero) are in {@link GemObject}.
 *
 * <p>Locking: every method needs the object's reservation held by the calling thread and asserts
 * it.
 */
final class Vmaps {
    private Vmaps() {
    }

    /** @return the mapping's segment; pins and maps on the first vmap */
    static MemorySegment vmapLocked(GemObject o) {
        o.assertLocked();
        o.checkContentLocked();
        if (o.dontNeed) {
            throw new IllegalStateException("vmap of a DONTNEED object: vmap pins, and a pinned object may not be purgeable");
        }
        o.markAccessed();
        if (o.vmapCount == 0) {
            o.pinLocked();
            try {
                if (o.mapping == null) {
                    ExtentList frames = new ExtentList();
                    PageTables.units(o.table, o.tableBase, o.pages(), frames);
                    o.mapping = Vmapping.map(o.dev().mem(), frames);
                }
            } catch (RuntimeException | Error e) {
                o.unpinLocked();
                if (e instanceof RuntimeException r) {
                    throw GemDevice.toPublic(r);
                }
                throw e;
            }
        }
        GemObject.VMAP.getAndAdd(o, 1);
        return o.mapping.segment();
    }

    /** Drops one vmap; the last one drops the pin all vmaps hold (the mapping stays cached). */
    static void vunmapLocked(GemObject o) {
        o.assertLocked();
        int v;
        while (true) {
            v = o.vmapCount;
            if (v <= 0) {
                return; // freed meanwhile (sentinel) or already balanced: nothing to drop
            }
            if (GemObject.VMAP.compareAndSet(o, v, v - 1)) {
                break;
            }
        }
        if (v == 1) {
            o.unpinLocked();
        }
    }
}
