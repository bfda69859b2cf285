package dev.memmgr.internal.reclaim;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The manager's LRU lists (drm_gem_lru), least recently used at the head:
 * <ul>
 * <li>{@link #PURGEABLE}: DONTNEED, unpinned, with content (frames or swap slots);</li>
 * <li>{@link #INACTIVE}: WILLNEED, unpinned, resident, pagesUseCount == 0;</li>
 * <li>{@link #ACTIVE}: WILLNEED, unpinned, resident, pagesUseCount &gt; 0;</li>
 * <li>{@link #UNEVICTABLE}: everything else that is alive (pinned, unpopulated, evicted,
 *     purged): not reclaimable, kept on a list so that the manager can find every object.</li>
 * </ul>
 * Each list also sums the frames of its objects (the purgeable figure of the statistics).
 *
 * <p>Locking: one lock for all lists, below the reservations and above the frame allocator in
 * the locking order (methods that need it held are named {@code ...Locked} and assert it).
 * Objects move between lists once per state transition, under their reservation; hot paths only
 * set the accessed flag of {@link LruNode}.
 */
public final class Lru {
    public static final byte NONE = 0;
    public static final byte UNEVICTABLE = 1;
    public static final byte PURGEABLE = 2;
    public static final byte INACTIVE = 3;
    public static final byte ACTIVE = 4;
    private static final int LISTS = 5;

    private final ReentrantLock lock = new ReentrantLock();
    private final LruList[] lists = new LruList[LISTS];
    /** Moves made by {@link #update}: tests check that a transition moves an object once. */
    private long moves;

    public Lru() {
        for (int l = 1; l < LISTS; l++) {
            lists[l] = new LruList();
        }
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
            if (n.list != null) {
                n.list.remove(n);
            }
            if (to != NONE) {
                n.clearAccessed();
                lists[to].addTail(n, nodeFrames);
            }
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
        update(n, NONE, 0);
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
