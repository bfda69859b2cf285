package dev.memmgr.internal.reclaim;

import java.util.function.BooleanSupplier;

/**
 * The shrinker: frees frames by purging DONTNEED objects, then by evicting WILLNEED ones to
 * swap, least recently used first (drm_gem_lru_scan).
 *
 * <p>Each pass walks one list from its head and visits every object at most once: a visited
 * object moves to a temporary list (the kernel's {@code still_in_lru}); in an evict pass, an
 * object used since the last look has its flag cleared and is left there (second chance);
 * otherwise the shrinker takes a reference unless it is dying, drops the LRU lock, try-locks the
 * reservation (never blocks: reclaim runs inside allocations that hold other reservations), lets
 * the object purge or evict itself (it declines when pinned, vmapped, busy or not eligible),
 * unlocks, drops the reference and retakes the LRU lock. An object that left (reclaimed, or moved
 * by its own transition meanwhile) is no longer on the temporary list. When the target is met or
 * the list is exhausted, what is left on the temporary list goes back to the tail of the list in
 * the order it was visited: skipped objects keep their order among themselves.
 *
 * <p>The evict passes follow the manager's policy ({@link Lru}): LRU walks INACTIVE then ACTIVE;
 * ARC drains its recorded hits and picks T1's or T2's head by its target size.
 *
 * <p>A scan makes at most two rounds over the evictable lists: when the first falls short of the
 * target after giving second chances, a second round, which gives none (their flags are clear by
 * now), takes those objects too, as vmscan raises its priority. So {@code reclaim(bytes)} frees
 * what it was asked for whenever that is possible, and still visits each object once per round.
 *
 * <p>Locking: called without the LRU lock and without any reservation it could try-lock for
 * the same object (a reservation held by the calling thread is simply skipped, since try-lock
 * fails). Thread-safe: concurrent scans each have their own temporary list.
 */
public final class Shrinker {
    private final Lru lru;
    private final BooleanSupplier canEvict;
    private final BooleanSupplier stop;

    /**
     * @param lru the lists
     * @param canEvict whether eviction is possible now (swap configured and not full)
     * @param stop whether to stop scanning at once (the manager is closing)
     */
    public Shrinker(Lru lru, BooleanSupplier canEvict, BooleanSupplier stop) {
        this.lru = lru;
        this.canEvict = canEvict;
        this.stop = stop;
    }

    /**
     * Frees up to {@code target} frames (it may free more: objects are freed whole).
     *
     * @return frames freed
     */
    public long scan(long target) {
        return scan(target, null);
    }

    /**
     * Frees up to {@code target} frames and tells why others could not be freed.
     *
     * @param why receives the frames of objects skipped because busy or locked, and the first
     *     busy one (may be null)
     * @return frames freed
     */
    public long scan(long target, ScanStats why) {
        if (target <= 0) {
            return 0;
        }
        Round first = new Round(true, why);
        long freed = first.run(target);
        if (freed < target && first.secondChances > 0) {
            freed += new Round(false, why).evict(target - freed);
        }
        return freed;
    }

    /** One round over the lists, each object visited at most once. */
    private final class Round {
        private final boolean giveSecondChances;
        private final ScanStats why;
        private int secondChances;

        Round(boolean giveSecondChances, ScanStats why) {
            this.giveSecondChances = giveSecondChances;
            this.why = why;
        }

        long run(long target) {
            long freed = scanList(Lru.PURGEABLE, LruNode.PURGE, target, this);
            return freed + evict(target - freed);
        }

        long evict(long target) {
            if (target <= 0 || !canEvict.getAsBoolean()) {
                return 0;
            }
            if (lru.isArc()) {
                return arcEvict(target, this);
            }
            long freed = scanList(Lru.INACTIVE, LruNode.EVICT, target, this);
            if (freed < target && canEvict.getAsBoolean()) {
                freed += scanList(Lru.ACTIVE, LruNode.EVICT, target - freed, this);
            }
            return freed;
        }
    }

    private long scanList(byte which, int mode, long target, Round round) {
        long freed = 0;
        lru.lockLru();
        LruList list = lru.listLocked(which);
        LruList scanned = new LruList(list);
        try {
            while (freed < target && !stop.getAsBoolean()) {
                LruNode n = list.head;
                if (n == null) {
                    break;
                }
                lru.moveLocked(n, scanned);
                if (mode == LruNode.EVICT && n.testAndClearAccessed() && round.giveSecondChances) {
                    round.secondChances++;
                    continue; // second chance
                }
                freed += visitLocked(n, mode, round);
                if (mode == LruNode.EVICT && !canEvict.getAsBoolean()) {
                    break;
                }
            }
        } finally {
            lru.spliceBackLocked(scanned);
            lru.unlockLru();
        }
        return freed;
    }

    /**
     * ARC's eviction: drain the recorded hits, then take T1's head while T1 holds more than the
     * target p (or T2 is empty), else T2's; a flagged head is a hit whose offer was dropped: it
     * goes to T2 (with a second chance). Each object is visited once per round.
     */
    private long arcEvict(long target, Round round) {
        long freed = 0;
        lru.lockLru();
        lru.drainHitsLocked();
        LruList t1 = lru.listLocked(Lru.INACTIVE);
        LruList t2 = lru.listLocked(Lru.ACTIVE);
        LruList scanned1 = new LruList(t1);
        LruList scanned2 = new LruList(t2);
        try {
            while (freed < target && !stop.getAsBoolean()) {
                boolean fromT1 = t1.head != null && (t1.frames > lru.targetLocked() || t2.head == null);
                LruList list = fromT1 ? t1 : t2;
                LruNode n = list.head;
                if (n == null) {
                    break;
                }
                if (n.testAndClearAccessed() && round.giveSecondChances) {
                    lru.moveLocked(n, scanned2); // a hit: to T2's tail when the round ends
                    round.secondChances++;
                    continue;
                }
                lru.moveLocked(n, fromT1 ? scanned1 : scanned2);
                freed += visitLocked(n, LruNode.EVICT, round);
                if (!canEvict.getAsBoolean()) {
                    break;
                }
            }
        } finally {
            lru.spliceBackLocked(scanned1);
            lru.spliceBackLocked(scanned2);
            lru.unlockLru();
        }
        return freed;
    }

    /**
     * Tries to reclaim one object: a reference unless dying, the LRU lock dropped, a try-lock of
     * its reservation, its own purge or eviction, then the lock retaken. LRU lock held on entry
     * and exit.
     *
     * @return frames freed
     */
    private long visitLocked(LruNode n, int mode, Round round) {
        if (!n.reclaimGet()) {
            return 0; // dying: its free takes it off the lists
        }
        int nodeFrames = n.listFrames;
        int got = 0;
        lru.unlockLru();
        try {
            if (n.reclaimTryLock()) {
                try {
                    got = n.reclaimLocked(mode);
                } finally {
                    n.reclaimUnlock();
                }
                if (got == LruNode.SKIP_BUSY && round.why != null) {
                    round.why.busy(n, nodeFrames);
                }
                if (round.why != null) {
                    round.why.visited(mode, got > 0);
                }
            } else if (round.why != null) {
                round.why.locked(nodeFrames);
            }
        } finally {
            try {
                n.reclaimPut();
            } finally {
                lru.lockLru();
            }
        }
        return Math.max(0, got);
    }
}
