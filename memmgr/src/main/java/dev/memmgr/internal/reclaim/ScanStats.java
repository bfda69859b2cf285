package dev.memmgr.internal.reclaim;

/**
 * Why a scan freed less than asked: the frames of the objects it skipped because they were busy
 * (an unsignaled fence) or locked by another thread, and the first busy one, which a reclaim
 * allowed to wait can wait for; and what it did, for the Reclaim event: objects purged, evicted
 * and skipped. One per reclaim attempt; not thread-safe.
 */
public final class ScanStats {
    private long busyFrames;
    private long lockedFrames;
    private LruNode firstBusy;
    private int purged;
    private int evicted;
    private int skipped;

    void busy(LruNode n, int frames) {
        busyFrames += frames;
        if (firstBusy == null) {
            firstBusy = n;
        }
    }

    void locked(int frames) {
        lockedFrames += frames;
        skipped++;
    }

    /** Counts an object the scan purged or evicted ({@code mode}), or looked at and left. */
    void visited(int mode, boolean freed) {
        if (!freed) {
            skipped++;
        } else if (mode == LruNode.PURGE) {
            purged++;
        } else {
            evicted++;
        }
    }

    /** @return objects purged */
    public int purged() {
        return purged;
    }

    /** @return objects evicted */
    public int evicted() {
        return evicted;
    }

    /** @return objects looked at and not reclaimed: pinned, busy, locked, or declined */
    public int skipped() {
        return skipped;
    }

    /** @return frames of objects skipped because busy */
    public long busyFrames() {
        return busyFrames;
    }

    /** @return frames of objects skipped because another thread held their lock */
    public long lockedFrames() {
        return lockedFrames;
    }

    /** @return the first busy object skipped, or null */
    public LruNode firstBusy() {
        return firstBusy;
    }

    /** Forgets what was seen (a new attempt). */
    public void clear() {
        busyFrames = 0;
        lockedFrames = 0;
        firstBusy = null;
        purged = 0;
        evicted = 0;
        skipped = 0;
    }
}
