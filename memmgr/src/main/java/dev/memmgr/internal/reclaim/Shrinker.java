package dev.memmgr.internal.reclaim;

import java.util.function.BooleanSupplier;

/**
 * The shrinker: frees frames by purging DONTNEED objects, then by evicting WILLNEED ones to
 * swap, least recently used first (drm_gem_lru_scan).
 *
 * <p>For each candidate from the head of a list: move it to the tail; in an evict pass, if it
 * was used since the last look, clear the flag and go on (second chance); take a reference
 * unless it is dying; drop the LRU lock; try-lock its reservation (never block: reclaim runs
 * inside allocations that hold other reservations); let it purge or evict itself (it skips
 * itself when pinned, vmapped, busy or not eligible); unlock; drop the reference; retake the
 * LRU lock. Stop when the target is met or every candidate was looked at twice.
 *
 * <p>Locking: called without the LRU lock and without any reservation it could try-lock for
 * the same object (a reservation held by the calling thread is simply skipped, since try-lock
 * fails). Thread-safe: concurrent scans share the lists under the LRU lock.
 */
public final class Shrinker {
    private final Lru lru;
    private final BooleanSupplier canEvict;

    /**
     * @param lru the lists
     * @param canEvict whether eviction is possible now (swap configured and not full)
     */
    public Shrinker(Lru lru, BooleanSupplier canEvict) {
        this.lru = lru;
        this.canEvict = canEvict;
    }

    /**
     * Frees up to {@code target} frames (it may free more: objects are freed whole).
     *
     * @return frames freed
     */
    public long scan(long target) {
        if (target <= 0) {
            return 0;
        }
        long freed = scanList(Lru.PURGEABLE, LruNode.PURGE, target);
        if (freed < target && canEvict.getAsBoolean()) {
            freed += scanList(Lru.INACTIVE, LruNode.EVICT, target - freed);
        }
        if (freed < target && canEvict.getAsBoolean()) {
            freed += scanList(Lru.ACTIVE, LruNode.EVICT, target - freed);
        }
        return freed;
    }

    private long scanList(byte list, int mode, long target) {
        long freed = 0;
        lru.lockLru();
        try {
            int budget = 2 * lru.countLocked(list);
            while (freed < target && budget-- > 0) {
                LruNode n = lru.headLocked(list);
                if (n == null) {
                    break;
                }
                boolean secondChance = mode == LruNode.EVICT && n.testAndClearAccessed();
                lru.rotateLocked(n); // to the tail; skipped objects are looked at again later
                if (secondChance) {
                    continue;
                }
                if (!n.reclaimGet()) {
                    continue;
                }
                lru.unlockLru();
                try {
                    if (n.reclaimTryLock()) {
                        try {
                            freed += n.reclaimLocked(mode);
                        } finally {
                            n.reclaimUnlock();
                        }
                    }
                } finally {
                    try {
                        n.reclaimPut();
                    } finally {
                        lru.lockLru();
                    }
                }
                if (mode == LruNode.EVICT && !canEvict.getAsBoolean()) {
                    break;
                }
            }
        } finally {
            lru.unlockLru();
        }
        return freed;
    }
}
