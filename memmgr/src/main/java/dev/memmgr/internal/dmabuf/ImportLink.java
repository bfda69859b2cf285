package dev.memmgr.internal.dmabuf;

import dev.memmgr.Madvise;
import dev.memmgr.Residency;
import dev.memmgr.internal.gem.GemObject;
import dev.memmgr.internal.gem.ImportedPages;
import dev.memmgr.internal.resv.Resv;
import java.lang.foreign.MemorySegment;

/**
 * The exporter's side of an object imported into another manager (drm_gem_prime_import): a
 * dynamic attachment that the import owns, mapped while the import has page uses, and the pin and
 * vmap it holds on the exporter while the import is pinned or vmapped. The import's reads and
 * writes go to the exporter; its frames are the exporter's, counted in the exporter's manager.
 *
 * <p><b>DOC: Freeing (seeds 000 and 004).</b> When the import is freed, what it still holds on the
 * exporter must go, and that needs the exporter's reservation. The free path may run anywhere,
 * reclaim included, with other reservations held, so it takes that lock as late and as narrowly
 * as it can: it does the work at once if this thread holds the reservation already or can
 * try-lock it, and otherwise hands it to the deferred worker ({@link Deferred}), which waits for
 * the lock holding nothing else. It never blocks.
 *
 * <p>Locking: every method but {@link #released()} runs with the exporter's reservation held
 * (the import shares it), as {@link ImportedPages} says; the flags are guarded by it.
 */
public final class ImportLink implements ImportedPages {
    private final DmaBufCore buf;
    private final AttachmentCore attachment;
    private boolean pinned;
    private MemorySegment view;

    /**
     * Attaches for an importing client.
     *
     * @throws IllegalStateException if the export is closed
     */
    public ImportLink(DmaBufCore buf, String importer) {
        this.buf = buf;
        this.attachment = buf.attach(importer, a -> { }); // the forced unmap after the notice is all it needs
    }

    @Override
    public GemObject exporter() {
        return buf.exporter;
    }

    @Override
    public void getPages() {
        attachment.map();
    }

    @Override
    public void putPages() {
        if (attachment.isMappedLocked()) { // an eviction may have unmapped it already
            attachment.unmap();
        }
    }

    @Override
    public void pin() {
        buf.exporter.pin();
        pinned = true;
    }

    @Override
    public void unpin() {
        pinned = false;
        try {
            buf.exporter.unpin();
        } catch (IllegalStateException e) {
            if (!buf.exporter.isDying()) {
                throw e;
            }
            // freed with its manager: its pins went with it, and the import lets go of its own
        }
    }

    @Override
    public void vmap() {
        view = buf.exporter.vmap();
    }

    @Override
    public MemorySegment view() {
        return view;
    }

    @Override
    public void vunmap() {
        view = null;
        buf.exporter.vunmap();
    }

    @Override
    public void read(long offset, MemorySegment dst) {
        buf.exporter.read(offset, dst);
    }

    @Override
    public void write(long offset, MemorySegment src) {
        buf.exporter.write(offset, src);
    }

    @Override
    public Residency residency() {
        return buf.exporter.residency();
    }

    @Override
    public boolean madvise(Madvise advice) {
        if (advice == Madvise.DONTNEED) {
            throw new IllegalStateException("madvise(DONTNEED) of an imported object: its exporter decides");
        }
        return buf.exporter.residency() != Residency.PURGED;
    }

    @Override
    public void released() {
        Resv r = buf.exporter.resv();
        if (r.isHeldByCurrentThread()) {
            undoHeld();
            attachment.detachUnmapped();
        } else if (r.tryLock()) {
            try {
                undoHeld();
            } finally {
                r.unlock();
            }
            attachment.detachUnmapped();
        } else {
            Deferred.submit(this, () -> {
                r.lock();
                try {
                    undoHeld();
                } finally {
                    r.unlock();
                }
                attachment.detachUnmapped();
            });
        }
    }

    /**
     * Drops the vmap, pin and mapping the freed import held on the exporter. A view the import
     * leaked is the exporter's mapping: it is torn down too unless the exporter's own views or
     * attachments still use it (then it keeps showing the exporter's pages, never other memory).
     * Reservation held.
     */
    private void undoHeld() {
        boolean leakedView = view != null;
        try {
            if (leakedView) {
                vunmap();
            }
            if (pinned) {
                unpin();
            }
        } catch (IllegalStateException exporterGone) {
            // the exporter's manager closed: its counts went with it
        } finally {
            attachment.unmapIfMappedHeld();
        }
        if (leakedView && !buf.exporter.isDying()) {
            buf.exporter.dropIdleMappingLocked();
        }
    }

    @Override
    public String toString() {
        return "ImportLink[" + buf + "]";
    }
}
