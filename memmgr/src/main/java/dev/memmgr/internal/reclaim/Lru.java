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
 * the locking order. Moving between lists happens at state transitions (under the object's
 * reservation); hot paths only set the accessed flag.
 */
public final class Lru {
    public static final byte NONE = 0;
    public static final byte UNEVICTABLE = 1;
    public static final byte PURGEABLE = 2;
    public static final byte INACTIVE = 3;
    public static final byte ACTIVE = 4;
    private static final int LISTS = 5;

    final ReentrantLock lock = new ReentrantLock();
    private final LruNode[] head = new LruNode[LISTS];
    private final LruNode[] tail = new LruNode[LISTS];
    private final int[] count = new int[LISTS];
    private final long[] frames = new long[LISTS];

    /**
     * Puts a node at the tail (most recently used end) of a list, or takes it off every list
     * when {@code to} is {@link #NONE}. Takes the LRU lock.
     *
     * @param nodeFrames the frames to account to the list for this node
     */
    public void update(LruNode n, byte to, int nodeFrames) {
        lock.lock();
        try {
            moveLocked(n, to, nodeFrames);
        } finally {
            lock.unlock();
        }
    }

    /** Takes a node off its list. Takes the LRU lock. */
    public void remove(LruNode n) {
        update(n, NONE, 0);
    }

    /** @return objects on a list (a snapshot) */
    public int count(byte list) {
        lock.lock();
        try {
            return count[list];
        } finally {
            lock.unlock();
        }
    }

    /** @return frames of the objects on a list (a snapshot) */
    public long frames(byte list) {
        lock.lock();
        try {
            return frames[list];
        } finally {
            lock.unlock();
        }
    }

    /** @return objects on all lists: every live object (a snapshot) */
    public int size() {
        lock.lock();
        try {
            int n = 0;
            for (int c : count) {
                n += c;
            }
            return n;
        } finally {
            lock.unlock();
        }
    }

    /** Takes every node off every list and returns them (manager close). */
    public List<LruNode> drainAll() {
        lock.lock();
        try {
            List<LruNode> out = new ArrayList<>();
            for (byte l = 1; l < LISTS; l++) {
                while (head[l] != null) {
                    LruNode n = head[l];
                    out.add(n);
                    moveLocked(n, NONE, 0);
                }
            }
            return out;
        } finally {
            lock.unlock();
        }
    }

    // ---- for the shrinker (same package), LRU lock held ---------------------------------

    void lockLru() {
        lock.lock();
    }

    void unlockLru() {
        lock.unlock();
    }

    LruNode headLocked(byte list) {
        assert lock.isHeldByCurrentThread();
        return head[list];
    }

    int countLocked(byte list) {
        assert lock.isHeldByCurrentThread();
        return count[list];
    }

    /** Moves a node to the tail of the list it is on (skipped or given a second chance). */
    void rotateLocked(LruNode n) {
        assert lock.isHeldByCurrentThread();
        moveLocked(n, n.list, n.listFrames);
    }

    private void moveLocked(LruNode n, byte to, int nodeFrames) {
        if (to < NONE || to >= LISTS) {
            throw new IllegalArgumentException("no LRU list " + to);
        }
        byte from = n.list;
        if (from != NONE) {
            if (n.prev == null) {
                head[from] = n.next;
            } else {
                n.prev.next = n.next;
            }
            if (n.next == null) {
                tail[from] = n.prev;
            } else {
                n.next.prev = n.prev;
            }
            count[from]--;
            frames[from] -= n.listFrames;
            n.prev = null;
            n.next = null;
            n.list = NONE;
            n.listFrames = 0;
        }
        if (to != NONE) {
            n.clearAccessed(); // at the tail: the position records the use
            n.prev = tail[to];
            if (tail[to] == null) {
                head[to] = n;
            } else {
                tail[to].next = n;
            }
            tail[to] = n;
            n.list = to;
            n.listFrames = nodeFrames;
            count[to]++;
            frames[to] += nodeFrames;
        }
    }
}
