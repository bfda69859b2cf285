package dev.memmgr.internal.reclaim;

/**
 * Why a scan freed less than asked: the frames of the objects it skipped because they were busy
 * (an unsignaled fence) or locked by another thread, and the first busy one, which a reclaim
 * allowed to wait can wait for. One per reclaim attempt; not thread-safe.
 */
public final class ScanStats {
    private long busyFrames;
    private long lockedFrames;
    private LruNode firstBusy;

    void busy(LruNode n, int frames) {
        busyFrames += frames;
        if (firstBusy == null) {
            firstBusy = n;
        }
    }

    void locked(int frames) {
        lockedFrames += frames;
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
    }
}
