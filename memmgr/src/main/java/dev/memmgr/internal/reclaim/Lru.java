package dev.memmgr.internal.reclaim;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The manager's reclaim lists (drm_gem_lru), least recently used at the head, and the policy
 * that places objects on them. Every list sums the frames of its objects (the purgeable figure of
 * the statistics comes from there).
 *
 * <p>Lists common to both policies: {@link #PURGEABLE} (DONTNEED with content: purged first),
 * {@link #UNEVICTABLE} (alive but not reclaimable: pinned, unpopulated, purged; kept on a list so
 * that the manager can find every object).
 *
 * <p><b>DOC: LRU</b> (the kernel's drivers, second chance): {@link #INACTIVE} holds resident
 * objects without page uses, {@link #ACTIVE} those with; eviction takes INACTIVE first, least
 * recently used first, and an object used since the last look (its accessed bit) gets a second
 * chance. Evicted objects are unevictable until swapped in.
 *
 * <p><b>DOC: ARC</b> (Megiddo and Modha; adopted after the trace-driven comparison recorded in
 * bench/RESULTS.md, where it never lost to LRU by more than 1.7% and moved 70% to 93% less on
 * scans and mixed clients): {@link #INACTIVE} is T1 (resident, seen once since it came in) and
 * {@link #ACTIVE} is T2 (seen again); evicted objects stay on ghost lists B1 and B2
 * ({@link #GHOST1}, {@link #GHOST2}: no copy, the ghost is the object, costing nothing) by the
 * list they were evicted from. A swap-in from B1 (it should have stayed in T1) grows the target
 * size {@code p} of T1, one from B2 shrinks it, and both go to T2; eviction takes T1's head while
 * T1 holds more than {@code p} frames, else T2's. Ghosts are trimmed to ARC's bounds (B1 beside
 * T1 within the capacity, all four within twice). Hits are recorded without a lock: a use that
 * sets an object's accessed bit offers it to the {@link HitBuffer}, which the shrinker drains
 * (T2 tail) before it scans; an offer that was dropped still leaves the bit, and the scan treats a
 * flagged head as a hit. Page uses do not matter to ARC (the comparison found that evicting
 * every unused object before any used one, however recent, is most of what LRU loses).
 *
 * <p>Locking: one lock for all lists, below the reservations and above the frame allocator in
 * the locking order (methods that need it held are named {@code ...Locked} and assert it).
 * Objects move once per operation that changed their placement, under their reservation; hot
 * paths only set the accessed bit (and, under ARC, offer a hit).
 */
public final class Lru {
    public static final byte NONE = 0;
    public static final byte UNEVICTABLE = 1;
    public static final byte PURGEABLE = 2;
    /** LRU: resident without page uses. ARC: T1. */
    public static final byte INACTIVE = 3;
    /** LRU: resident with page uses. ARC: T2. */
    public static final byte ACTIVE = 4;
    /** ARC's B1: evicted from T1. */
    public static final byte GHOST1 = 5;
    /** ARC's B2: evicted from T2. */
    public static final byte GHOST2 = 6;
    /** {@link #place} class: resident and evictable (the policy picks the list). */
    public static final byte RESIDENT = 10;
    /** {@link #place} class: evicted and still needed (the policy picks the list). */
    public static final byte EVICTED = 11;
    private static final int LISTS = 7;

    private final ReentrantLock lock = new ReentrantLock();
    private final LruList[] lists = new LruList[LISTS];
    private final boolean arc;
    private final long capacity;
    private final HitBuffer hits;
    /** ARC's target frames of T1. */
    private double p;
    /** Moves made by {@link #update} and {@link #place}: tests check one per operation. */
    private long moves;

    /** An LRU policy (tests of the lists themselves). */
    public Lru() {
        this(false, Long.MAX_VALUE);
    }

    /**
     * @param arc ARC when true, LRU with second chance when false
     * @param capacityFrames the manager's frames (ARC's bounds)
     */
    public Lru(boolean arc, long capacityFrames) {
        this.arc = arc;
        this.capacity = capacityFrames;
        this.hits = arc ? new HitBuffer() : null;
        for (byte l = 1; l < LISTS; l++) {
            lists[l] = new LruList(l);
        }
    }

    /** @return whether this is ARC */
    public boolean isArc() {
        return arc;
    }

    /**
     * Puts a node at the tail (most recently used end) of a list and clears its accessed flag
     * (the position records the use), or takes it off every list when {@code to} is
     * {@link #NONE}. A node waiting on a scan's temporary list is taken off it. Takes the LRU lock.
     *
     * @param nodeFrames the frames to account to the list for this node
     */
    public void update(LruNode n, byte to, int nodeFrames) {
        if (to < NONE || to >= LISTS) {
            throw new IllegalArgumentException("no LRU list " + to);
        }
        lock.lock();
        try {
            moves++;
            moveTailLocked(n, to, nodeFrames);
        } finally {
            lock.unlock();
        }
    }

    private void moveTailLocked(LruNode n, byte to, int nodeFrames) {
        if (n.list != null) {
            n.list.remove(n);
        }
        if (to != NONE) {
            n.clearAccessed();
            lists[to].addTail(n, nodeFrames);
        }
    }

    /**
     * Places an object after a transition: {@link #NONE}, {@link #UNEVICTABLE} and
     * {@link #PURGEABLE} as asked; {@link #RESIDENT} and {@link #EVICTED} on the list the policy
     * picks (see the class comment). Takes the LRU lock.
     *
     * @param used whether the object has page uses (LRU only)
     * @param frames its resident frames (accounted to the list)
     * @param pages its pages in swap (ARC's ghost sizes)
     */
    public void place(LruNode n, byte cls, boolean used, int frames, int pages) {
        lock.lock();
        try {
            moves++;
            if (!arc) {
                byte to = cls == RESIDENT ? (used ? ACTIVE : INACTIVE) : cls == EVICTED ? UNEVICTABLE : cls;
                moveTailLocked(n, to, frames);
                return;
            }
            byte from = n.list == null ? NONE : n.list.id;
            switch (cls) {
                case RESIDENT -> {
                    byte to;
                    if (from == GHOST1 || from == GHOST2) { // a ghost hit: adapt p
                        long b1 = lists[GHOST1].frames;
                        long b2 = lists[GHOST2].frames;
                        int size = n.listFrames;
                        if (from == GHOST1) {
                            p = Math.min(capacity, p + size * Math.max(1.0, (double) b2 / Math.max(1, b1)));
                        } else {
                            p = Math.max(0, p - size * Math.max(1.0, (double) b1 / Math.max(1, b2)));
                        }
                        to = ACTIVE;
                    } else if (from == INACTIVE || from == ACTIVE) {
                        to = ACTIVE; // seen again
                    } else {
                        to = n.wasT2 ? ACTIVE : INACTIVE;
                    }
                    n.wasT2 = false;
                    moveTailLocked(n, to, frames);
                }
                case EVICTED -> {
                    byte to = from == INACTIVE ? GHOST1 : from == ACTIVE ? GHOST2 : UNEVICTABLE;
                    moveTailLocked(n, to, to == UNEVICTABLE ? frames : pages);
                    trimGhostsLocked();
                }
                default -> {
                    if (cls != NONE && (from == INACTIVE || from == ACTIVE)) {
                        n.wasT2 = from == ACTIVE; // back to T2 on unpin or WILLNEED
                    } else if (cls == NONE) {
                        n.wasT2 = false;
                    }
                    moveTailLocked(n, cls, frames);
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /** Forgets ghosts beyond ARC's bounds (they become plain unevictable objects). */
    private void trimGhostsLocked() {
        LruList t1 = lists[INACTIVE];
        LruList t2 = lists[ACTIVE];
        LruList b1 = lists[GHOST1];
        LruList b2 = lists[GHOST2];
        while (b1.head != null && t1.frames + b1.frames > capacity) {
            moveTailLocked(b1.head, UNEVICTABLE, 0);
        }
        while (b2.head != null && t1.frames + t2.frames + b1.frames + b2.frames > 2 * capacity) {
            moveTailLocked(b2.head, UNEVICTABLE, 0);
        }
    }

    /**
     * ARC: records a hit without waiting (an object whose accessed bit was just set). A full
     * buffer is drained here if the LRU lock is free, else the hit is dropped (the bit stays).
     * Does nothing under LRU.
     */
    public void offer(LruNode n) {
        if (hits == null || hits.offer(n)) {
            return;
        }
        if (lock.tryLock()) {
            try {
                drainHitsLocked();
            } finally {
                lock.unlock();
            }
            hits.offer(n);
        }
    }

    /** ARC: every recorded hit of an object still on T1 or T2 with its bit set moves it to T2's tail. */
    void drainHitsLocked() {
        assert lock.isHeldByCurrentThread() : "LRU lock not held";
        if (hits == null) {
            return;
        }
        hits.drain(n -> {
            if (n.list != null && (n.list.id == INACTIVE || n.list.id == ACTIVE) && n.testAndClearAccessed()) {
                int f = n.listFrames;
                n.list.remove(n);
                lists[ACTIVE].addTail(n, f);
            }
        });
    }

    /** @return ARC's target frames of T1 (tests) */
    public double target() {
        lock.lock();
        try {
            return p;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Puts a new node at the tail of a list unless it is on one already (an operation may have
     * placed an object published a moment earlier). Takes the LRU lock.
     */
    public void addIfAbsent(LruNode n, byte to, int nodeFrames) {
        lock.lock();
        try {
            if (n.list == null) {
                lists[to].addTail(n, nodeFrames);
            }
        } finally {
            lock.unlock();
        }
    }

    /** Takes a node off its list. Takes the LRU lock. */
    public void remove(LruNode n) {
        place(n, NONE, false, 0, 0);
    }

    /** @return moves between lists so far (takes the LRU lock) */
    public long moves() {
        lock.lock();
        try {
            return moves;
        } finally {
            lock.unlock();
        }
    }

    /** @return objects on a list (a snapshot; takes the LRU lock) */
    public int count(byte list) {
        lock.lock();
        try {
            return lists[list].count;
        } finally {
            lock.unlock();
        }
    }

    /** @return frames of the objects on a list (a snapshot; takes the LRU lock) */
    public long frames(byte list) {
        lock.lock();
        try {
            return lists[list].frames;
        } finally {
            lock.unlock();
        }
    }

    /** @return objects on all lists: every live object (a snapshot; takes the LRU lock) */
    public int size() {
        lock.lock();
        try {
            int n = 0;
            for (int l = 1; l < LISTS; l++) {
                n += lists[l].count;
            }
            return n;
        } finally {
            lock.unlock();
        }
    }

    /** @return the nodes of a list from the least recently used (a snapshot; takes the LRU lock) */
    public List<LruNode> snapshot(byte list) {
        lock.lock();
        try {
            List<LruNode> out = new ArrayList<>(lists[list].count);
            for (LruNode n = lists[list].head; n != null; n = n.next) {
                out.add(n);
            }
            return out;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Sums the frames accounted to the nodes that pass {@code test} (the busy figure of the
     * statistics). The nodes holding frames are collected under the LRU lock and tested after it
     * is released, so the test may take leaf locks and the lock is held for a copy only.
     */
    public long framesWhere(java.util.function.Predicate<LruNode> test) {
        LruNode[] nodes;
        int[] frames;
        int n = 0;
        lock.lock();
        try {
            int count = 0;
            for (int l = 1; l < LISTS; l++) {
                count += lists[l].count;
            }
            nodes = new LruNode[count];
            frames = new int[count];
            for (int l = 1; l < LISTS; l++) {
                for (LruNode x = lists[l].head; x != null; x = x.next) {
                    if (x.listFrames > 0) {
                        nodes[n] = x;
                        frames[n++] = x.listFrames;
                    }
                }
            }
        } finally {
            lock.unlock();
        }
        long sum = 0;
        for (int i = 0; i < n; i++) {
            if (test.test(nodes[i])) {
                sum += frames[i];
            }
        }
        return sum;
    }

    /**
     * Takes every node off every list and returns them (manager teardown, when no scan runs).
     * Takes the LRU lock.
     */
    public List<LruNode> drainAll() {
        lock.lock();
        try {
            List<LruNode> out = new ArrayList<>();
            for (int l = 1; l < LISTS; l++) {
                LruList list = lists[l];
                while (list.head != null) {
                    LruNode n = list.head;
                    out.add(n);
                    list.remove(n);
                }
            }
            return out;
        } finally {
            lock.unlock();
        }
    }

    // ---- for the shrinker (same package) -------------------------------------------------

    void lockLru() {
        lock.lock();
    }

    void unlockLru() {
        lock.unlock();
    }

    LruList listLocked(byte list) {
        assert lock.isHeldByCurrentThread() : "LRU lock not held";
        return lists[list];
    }

    /** @return ARC's target frames of T1 (LRU lock held) */
    double targetLocked() {
        return p;
    }

    /** Moves a node to another list (a scan's temporary list), keeping its frames and flag. */
    void moveLocked(LruNode n, LruList to) {
        assert lock.isHeldByCurrentThread() : "LRU lock not held";
        int f = n.listFrames;
        n.list.remove(n);
        to.addTail(n, f);
    }

    /** Moves what is left on a scan's temporary list back to the tail of its home list. */
    void spliceBackLocked(LruList scanned) {
        assert lock.isHeldByCurrentThread() : "LRU lock not held";
        scanned.home.spliceTail(scanned);
    }
}
