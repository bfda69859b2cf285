package dev.memmgr.internal.vm;

/**
 * Non-overlapping mappings ordered by virtual address: an AVL tree keyed by {@link Mapping#va}
 * whose nodes are the mappings themselves, threaded by a doubly linked list in address order
 * (the kernel keeps the same pair: an interval rb-tree and {@code rb.list}).
 *
 * <p>Costs, n mappings: {@link #insert} and {@link #remove} O(log n) and allocation-free (the
 * node is the mapping); {@link #floor}, {@link #find} and {@link #firstOverlapping} O(log n)
 * with no allocation; a walk over the k mappings overlapping a range is
 * {@link #firstOverlapping} then k steps along {@link Mapping#next}: O(log n + k). The height
 * is at most 1.44 log2(n + 2), so the recursion of insert and remove stays shallow (45 levels
 * for 2^31 mappings).
 *
 * <p>Not thread-safe: owned by one {@link VaSpace}, guarded by its owner's lock. A change that
 * would break the invariants (an overlapping insert, removing a mapping that is not in this
 * tree) throws IllegalStateException before anything moves.
 *
 * @param <O> the type of the mapped objects
 */
final class VaTree<O> {
    private Mapping<O> root;
    /** The mapping with the lowest address, the head of the address-ordered list. */
    private Mapping<O> head;
    private int size;
    /** Scratch of {@link #insert}: the last node the descent passed on its left. */
    private Mapping<O> insertPred;

    /** @return the number of mappings */
    int size() {
        return size;
    }

    /** @return the mapping with the lowest address, or null when empty */
    Mapping<O> first() {
        return head;
    }

    /** @return the mapping with the greatest start address at or below {@code address}, or null */
    Mapping<O> floor(long address) {
        Mapping<O> best = null;
        Mapping<O> n = root;
        while (n != null) {
            if (n.va <= address) {
                best = n;
                n = n.right;
            } else {
                n = n.left;
            }
        }
        return best;
    }

    /** @return the mapping containing {@code address}, or null; any address is accepted */
    Mapping<O> find(long address) {
        Mapping<O> f = floor(address);
        return f != null && address < f.va + f.range ? f : null;
    }

    /**
     * Returns the lowest mapping overlapping {@code [va, end)}; the others follow it along
     * {@link Mapping#next} while their start is below {@code end}.
     *
     * @return that mapping, or null when none overlaps (or {@code end <= va})
     */
    Mapping<O> firstOverlapping(long va, long end) {
        if (end <= va) {
            return null;
        }
        Mapping<O> f = floor(va);
        Mapping<O> c;
        if (f != null && f.va + f.range > va) {
            c = f;
        } else {
            c = f == null ? head : f.next;
        }
        return c != null && c.va < end ? c : null;
    }

    /**
     * Inserts a mapping that is in no tree and overlaps none of this tree's.
     *
     * @throws IllegalStateException if it is linked already or overlaps a mapping (nothing
     *     changed)
     */
    void insert(Mapping<O> n) {
        if (n.linked()) {
            throw new IllegalStateException(n + " is in a tree already");
        }
        insertPred = null;
        root = insert(root, n);
        Mapping<O> p = insertPred;
        insertPred = null;
        Mapping<O> s = p == null ? head : p.next;
        n.prev = p;
        n.next = s;
        if (p == null) {
            head = n;
        } else {
            p.next = n;
        }
        if (s != null) {
            s.prev = n;
        }
        size++;
    }

    private Mapping<O> insert(Mapping<O> t, Mapping<O> n) {
        if (t == null) {
            // the bottom of the descent, before any link changed: refuse an overlap here
            Mapping<O> p = insertPred;
            Mapping<O> s = p == null ? head : p.next;
            if (p != null && p.va + p.range > n.va) {
                throw new IllegalStateException(n + " overlaps " + p);
            }
            if (s != null && s.va < n.va + n.range) {
                throw new IllegalStateException(n + " overlaps " + s);
            }
            n.height = 1;
            return n;
        }
        if (n.va < t.va) {
            t.left = insert(t.left, n);
        } else {
            insertPred = t;
            t.right = insert(t.right, n);
        }
        return balance(t);
    }

    /**
     * Removes a mapping of this tree; it leaves with no links (height 0).
     *
     * @throws IllegalStateException if it is not in this tree (nothing changed)
     */
    void remove(Mapping<O> n) {
        if (!n.linked()) {
            throw new IllegalStateException(n + " is not in a tree");
        }
        root = remove(root, n);
        if (n.prev == null) {
            head = n.next;
        } else {
            n.prev.next = n.next;
        }
        if (n.next != null) {
            n.next.prev = n.prev;
        }
        n.left = null;
        n.right = null;
        n.prev = null;
        n.next = null;
        n.height = 0;
        size--;
    }

    private Mapping<O> remove(Mapping<O> t, Mapping<O> n) {
        if (t == null) {
            throw new IllegalStateException(n + " is not in this tree");
        }
        if (n.va < t.va) {
            t.left = remove(t.left, n);
        } else if (n.va > t.va) {
            t.right = remove(t.right, n);
        } else {
            if (t != n) {
                throw new IllegalStateException(n + " is not in this tree");
            }
            if (t.left == null) {
                return t.right;
            }
            if (t.right == null) {
                return t.left;
            }
            // two children: the in-order successor (the list's next) takes t's place; nodes are
            // mappings, so they move, never their fields
            Mapping<O> s = t.next;
            s.right = removeMin(t.right);
            s.left = t.left;
            t = s;
        }
        return balance(t);
    }

    private Mapping<O> removeMin(Mapping<O> t) {
        if (t.left == null) {
            return t.right;
        }
        t.left = removeMin(t.left);
        return balance(t);
    }

    private static int height(Mapping<?> n) {
        return n == null ? 0 : n.height;
    }

    private static void updateHeight(Mapping<?> n) {
        n.height = (byte) (Math.max(height(n.left), height(n.right)) + 1);
    }

    private Mapping<O> balance(Mapping<O> t) {
        int hl = height(t.left);
        int hr = height(t.right);
        if (hl > hr + 1) {
            Mapping<O> l = t.left;
            if (height(l.left) < height(l.right)) {
                t.left = rotateLeft(l);
            }
            return rotateRight(t);
        }
        if (hr > hl + 1) {
            Mapping<O> r = t.right;
            if (height(r.right) < height(r.left)) {
                t.right = rotateRight(r);
            }
            return rotateLeft(t);
        }
        t.height = (byte) (Math.max(hl, hr) + 1);
        return t;
    }

    private Mapping<O> rotateRight(Mapping<O> t) {
        Mapping<O> l = t.left;
        t.left = l.right;
        l.right = t;
        updateHeight(t);
        updateHeight(l);
        return l;
    }

    private Mapping<O> rotateLeft(Mapping<O> t) {
        Mapping<O> r = t.right;
        t.right = r.left;
        r.left = t;
        updateHeight(t);
        updateHeight(r);
        return r;
    }

    /** @return the height of the tree (0 when empty) */
    int height() {
        return height(root);
    }

    /**
     * Checks every invariant in O(n): search order, no overlap, AVL heights and balance, the list
     * in address order and equal to the in-order walk, the size.
     *
     * @throws IllegalStateException naming the first broken invariant
     */
    void checkInvariants() {
        Mapping<O>[] cursor = newCursor();
        cursor[0] = head;
        check(root, cursor);
        if (cursor[0] != null) {
            throw new IllegalStateException("list continues after the tree's last node at " + cursor[0]);
        }
        int n = 0;
        for (Mapping<O> m = head; m != null; m = m.next) {
            if (m.next != null && m.next.prev != m) {
                throw new IllegalStateException("broken back link after " + m);
            }
            n++;
        }
        if (head != null && head.prev != null) {
            throw new IllegalStateException("head has a prev");
        }
        if (n != size) {
            throw new IllegalStateException("size " + size + " but " + n + " listed");
        }
    }

    @SuppressWarnings("unchecked")
    private Mapping<O>[] newCursor() {
        return (Mapping<O>[]) new Mapping<?>[1];
    }

    private int check(Mapping<O> t, Mapping<O>[] cursor) {
        if (t == null) {
            return 0;
        }
        int hl = check(t.left, cursor);
        if (cursor[0] != t) {
            throw new IllegalStateException("in-order node " + t + " but list at " + cursor[0]);
        }
        if (t.range <= 0 || t.va + t.range < t.va) {
            throw new IllegalStateException("bad range " + t);
        }
        if (t.prev != null && t.prev.va + t.prev.range > t.va) {
            throw new IllegalStateException(t.prev + " overlaps or follows " + t);
        }
        cursor[0] = t.next;
        int hr = check(t.right, cursor);
        if (Math.abs(hl - hr) > 1 || t.height != Math.max(hl, hr) + 1) {
            throw new IllegalStateException("unbalanced or bad height at " + t);
        }
        return t.height;
    }
}
