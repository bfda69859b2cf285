package dev.memmgr.internal.reclaim;

/**
 * One intrusive doubly linked list of {@link LruNode}s, least recently used at the head, with the
 * number of nodes and the frames they account.
 *
 * <p>A scan of the shrinker moves the nodes it visits to a temporary list (drm_gem_lru_scan's
 * {@code still_in_lru}) whose figures are kept on the list it scans (its <em>home</em>): while a
 * node waits there, the manager's statistics still count it where it belongs.
 *
 * <p>Locking: every field is guarded by the {@link Lru}'s lock.
 */
final class LruList {
    /** Which list of the manager this is (the home's id for a scan's temporary list). */
    final byte id;
    final LruList home;
    LruNode head;
    LruNode tail;
    int count;
    long frames;

    /** A list of the manager's: its figures are its own. */
    LruList(byte id) {
        this.id = id;
        this.home = this;
    }

    /** A scan's temporary list: its figures are kept on {@code home}. */
    LruList(LruList home) {
        this.id = home.id;
        this.home = home;
    }

    /** Appends a node at the tail (most recently used end). LRU lock held. */
    void addTail(LruNode n, int nodeFrames) {
        n.prev = tail;
        n.next = null;
        if (tail == null) {
            head = n;
        } else {
            tail.next = n;
        }
        tail = n;
        n.list = this;
        n.listFrames = nodeFrames;
        home.count++;
        home.frames += nodeFrames;
    }

    /** Unlinks a node of this list. LRU lock held. */
    void remove(LruNode n) {
        assert n.list == this : "node on another list";
        if (n.prev == null) {
            head = n.next;
        } else {
            n.prev.next = n.next;
        }
        if (n.next == null) {
            tail = n.prev;
        } else {
            n.next.prev = n.prev;
        }
        home.count--;
        home.frames -= n.listFrames;
        n.prev = null;
        n.next = null;
        n.list = null;
        n.listFrames = 0;
    }

    /** Moves every node of {@code other} to the tail of this list, in their order. LRU lock held. */
    void spliceTail(LruList other) {
        for (LruNode n = other.head; n != null; ) {
            LruNode next = n.next;
            int f = n.listFrames;
            other.remove(n);
            addTail(n, f);
            n = next;
        }
    }
}
