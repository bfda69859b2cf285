package dev.memmgr.internal.gem;

import dev.memmgr.Madvise;
import dev.memmgr.Residency;
import java.lang.foreign.MemorySegment;

/**
 * The pages of an object imported from another manager (dma-buf): it has no frames of its own,
 * and its operations go to the exporter. The import's {@link GemObject} keeps its own counts (so
 * unbalanced calls are refused as for any object) and calls these at its transitions: the first
 * pin, the first vmap, the last page use, pin and vmap, and every page use (which must swap the
 * exporter in again after an eviction, as getPages does for any object).
 *
 * <p>Locking: every method but {@link #released()} is called with the import's reservation
 * held, which is the exporter's (an import shares it, as drm_gem_prime_import does), inside the
 * import's device gate. {@link #released()} is called by the free path with no lock held and must
 * not block on a reservation.
 */
public interface ImportedPages {
    /** @return the exporting object */
    GemObject exporter();

    /**
     * A page use of the import: the exporter's pages are made resident and used (weakly), unless
     * they are already (the first use, and every use after an eviction of the exporter took them).
     */
    void getPages();

    /** The import's last page use went. */
    void putPages();

    /** The import's first pin: pins the exporter. */
    void pin();

    /** The import's last pin went. */
    void unpin();

    /** The import's first vmap: maps the exporter (a vmap of it, which pins it). */
    void vmap();

    /** @return the view of the exporter's pages while the import is vmapped */
    MemorySegment view();

    /** The import's last vmap closed. */
    void vunmap();

    /** Copies exporter bytes out. */
    void read(long offset, MemorySegment dst);

    /** Copies bytes into the exporter. */
    void write(long offset, MemorySegment src);

    /** @return the exporter's residency */
    Residency residency();

    /** @return madvise on an import: whether the content is retained; DONTNEED is refused */
    boolean madvise(Madvise advice);

    /** The import was freed: undo what it still holds on the exporter and detach, without blocking. */
    void released();
}
