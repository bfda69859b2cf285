package dev.memmgr.internal.gem;

import dev.memmgr.internal.mem.ExtentList;
import dev.memmgr.internal.mem.Vmapping;
import dev.memmgr.internal.obs.Events;
import java.lang.foreign.MemorySegment;

/**
 * The vmap transitions of a buffer object (drm_gem_shmem_vmap / vunmap). The first vmap pins the
 * object and maps it, or reuses the cached mapping; the last one drops that pin and keeps the
 * mapping cached, idle, until the frames go (eviction, purge, free) or the process-wide budget of
 * memory mappings needs it (least recently idled first). The lock-free paths (a vmap or vunmap
 * that leaves the count above zero) are in {@link GemObject}.
 *
 * <p><b>Compaction.</b> A scattered object would need one mmap per run of frames, and enough of
 * them exhaust the process's mapping limit (vm.max_map_count). So the first vmap of a scattered
 * object first moves its content into one free run of frames, when the allocator has one, and
 * maps it with a single mmap; it maps the runs only when no free run is long enough, within the
 * budget (a vmap that cannot fit throws MemoryManagerException saying so).
 *
 * <p>Locking: every {@code ...Locked} method needs the object's reservation held by the calling
 * thread and asserts it. An idle mapping is torn down by the budget only under its object's
 * reservation, taken with try-lock.
 */
final class Vmaps {
    private Vmaps() {
    }

    /** @return the mapping's segment; pins and maps on the first vmap */
    static MemorySegment vmapLocked(GemObject o) {
        o.checkContentLocked();
        if (o.isDontNeed()) {
            throw new IllegalStateException("vmap of a DONTNEED object: vmap pins, and a pinned object may not be purgeable");
        }
        o.touch();
        ImportedPages imp = o.imported();
        if (imp != null) { // an import shows the exporter's view
            if (o.vmapCount() == 0) {
                o.pinLocked();
                try {
                    imp.vmap();
                } catch (RuntimeException | Error e) {
                    o.unpinLocked();
                    throw e;
                }
            }
            o.incVmapLocked();
            return imp.view();
        }
        if (o.vmapCount() == 0) {
            o.pinLocked();
            try {
                ensureMappedLocked(o);
            } catch (RuntimeException | Error e) {
                o.unpinLocked();
                throw e;
            }
        }
        o.incVmapLocked();
        Vmapping m = o.mapping();
        if (m == null) { // the last reference went meanwhile: dying() tore it down
            vunmapLocked(o);
            throw o.freed();
        }
        return m.segment();
    }

    /** Drops one vmap; the last one drops the pin all vmaps hold and leaves the mapping idle. */
    static void vunmapLocked(GemObject o) {
        int was = o.decVmapLocked();
        if (was != 1) {
            return; // more views open, or freed meanwhile (sentinel): nothing else to drop
        }
        ImportedPages imp = o.imported();
        if (imp != null) {
            imp.vunmap();
        }
        o.unpinLocked();
        idleIfUnusedLocked(o);
    }

    /**
     * Makes sure the object is mapped (a pinned or used, fully resident object): reuses the
     * cached mapping, or compacts and maps. Reservation held.
     */
    static void ensureMappedLocked(GemObject o) {
        o.assertLocked();
        Vmapping m = o.mapping();
        if (m == null) {
            o.setMappingLocked(mapLocked(o));
        } else {
            m.markInUse();
        }
    }

    /** Leaves the cached mapping idle (the budget may take it back) once no view or attachment uses it. */
    static void idleIfUnusedLocked(GemObject o) {
        Vmapping m = o.mapping();
        if (m != null && o.vmapCount() == 0 && o.attachMapsLocked() == 0) {
            m.markIdle(() -> tryDropIdle(o, m));
        }
    }

    /**
     * The budget wants an idle mapping back: tear it down if the object can be locked without
     * waiting and is still not vmapped. Any thread, possibly holding another reservation.
     */
    private static boolean tryDropIdle(GemObject o, Vmapping m) {
        if (!o.resv().tryLock()) {
            return false;
        }
        try {
            if (o.vmapCount() != 0 || o.attachMapsLocked() != 0 || o.mapping() != m) {
                return false;
            }
            o.teardownMapping();
            return true;
        } finally {
            o.resv().unlock();
        }
    }

    /** Maps the pinned object: compacts it first if it is scattered, then one mmap per run. */
    private static Vmapping mapLocked(GemObject o) {
        o.assertLocked();
        if (!o.isFullyResident()) { // never map swap slots or holes as frames
            throw new IllegalStateException("buffer object " + o.handle() + " is not resident: cannot map it");
        }
        Events.VmapMap ev = new Events.VmapMap();
        ev.begin();
        boolean compacted = compactLocked(o);
        ExtentList frames = new ExtentList();
        o.table().units(frames);
        Vmapping m = o.dev().map(frames, o);
        ev.end(o.dev().name(), o.file().name(), o.handle(), o.label(), o.size(), m.mmapCalls(), compacted);
        return m;
    }

    /**
     * Moves a scattered object's content into one free run of frames, if there is one (no
     * reclaim, no zeroing: every frame is overwritten). Nothing changes when there is none.
     *
     * @return whether the content moved
     */
    static boolean compactLocked(GemObject o) {
        o.assertLocked();
        PageTable t = o.table();
        if (t.isContiguous() || o.mapping() != null) {
            return false;
        }
        GemDevice dev = o.dev();
        int first = dev.frames().allocateRun(o.pages());
        if (first < 0) {
            return false;
        }
        dev.notePeak(); // both copies are resident for a moment
        ExtentList from = new ExtentList();
        t.units(from);
        dev.mem().copy(from, first);
        o.transition(BoState.RESIDENT, PageTable.contiguous(o.pages(), first));
        dev.freeFrames(from);
        return true;
    }
}
