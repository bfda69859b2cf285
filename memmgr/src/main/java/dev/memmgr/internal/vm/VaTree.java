package dev.memmgr.internal.vm;

/**
 * Non-overlapping mappings ordered by virtual address: an AVL tree keyed by {@link Mapping#va}
 * whose nodes are the mappings themselves, threaded by a doubly linked list in address order
 * (the kernel keeps the same pair: an interval rb-tree and {@code rb.list}).
 *
 * <p>Costs, n mappings: {@link #floor}, {@link #find} and {@link #firstOverlapping} are one
 * descent, O(log n), no allocation; a walk over the k mappings overlapping a range is
 * {@link #firstOverlapping} then k steps along {@link Mapping#next}: O(log n + k).
 * {@link #insert} is a floor descent to find the new leaf's neighbours ({@link #insertAfter}
 * skips it when the caller knows the predecessor), and {@link #remove} a walk
 * up the parent links to check the node is this tree's; both then restore balance upwards and
 * stop at the first subtree whose height did not change, so they read O(log n) nodes but write
 * O(1) amortized (a write to an old node costs a GC barrier and a dirty cache line). Neither
 * allocates: the node is the mapping. The height stays below 1.44 log2(n + 2).
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
        insertAfter(floor(n.va), n);
    }

    /**
     * Inserts a mapping right after {@code p} in address order, with no descent: the caller
     * knows the predecessor ({@link VaSpace#apply} from its plan). The neighbours are checked,
     * so a wrong {@code p} of this tree is refused; {@code p} must be of this tree.
     *
     * @param p the mapping of this tree that {@code n} follows, or null to insert first
     * @throws IllegalStateException if {@code n} is linked, {@code p} is not, or {@code n}
     *     does not fit between {@code p} and its successor (nothing changed)
     */
    void insertAfter(Mapping<O> p, Mapping<O> n) {
        if (n.linked()) {
            throw new IllegalStateException(n + " is in a tree already");
        }
        if (p != null && !p.linked()) {
            throw new IllegalStateException(p + " is not in a tree");
        }
        Mapping<O> s = p == null ? head : p.next;
        if (p != null && p.va + p.range > n.va) {
            throw new IllegalStateException(n + " overlaps " + p);
        }
        if (s != null && s.va < n.va + n.range) {
            throw new IllegalStateException(n + " overlaps " + s);
        }
        n.height = 1;
        // a leaf between its neighbours in order: p's right child if free, else s's left child
        // (then s is the leftmost node of p's right subtree, or the head when p is null)
        if (root == null) {
            root = n;
        } else if (p != null && p.right == null) {
            p.right = n;
            n.parent = p;
        } else {
            s.left = n;
            n.parent = s;
        }
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
        rebalanceFrom(n.parent);
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
        Mapping<O> top = n;
        while (top.parent != null) {
            top = top.parent;
        }
        if (top != root) {
            throw new IllegalStateException(n + " is not in this tree");
        }
        Mapping<O> from;
        if (n.left != null && n.right != null) {
            // the in-order successor (the list's next, leftmost in n's right subtree) takes n's
            // place; nodes are mappings, so nodes move, never their fields
            Mapping<O> s = n.next;
            if (s.parent == n) {
                from = s;
            } else {
                from = s.parent;
                from.left = s.right;
                if (s.right != null) {
                    s.right.parent = from;
                }
                s.right = n.right;
                n.right.parent = s;
            }
            s.left = n.left;
            n.left.parent = s;
            s.height = n.height;   // the old height of the subtree s now roots, for the early stop
            replaceChild(n.parent, n, s);
        } else {
            Mapping<O> child = n.left != null ? n.left : n.right;
            replaceChild(n.parent, n, child);
            from = n.parent;
        }
        rebalanceFrom(from);
        if (n.prev == null) {
            head = n.next;
        } else {
            n.prev.next = n.next;
        }
        if (n.next != null) {
            n.next.prev = n.prev;
        }
        n.parent = null;
        n.left = null;
        n.right = null;
        n.prev = null;
        n.next = null;
        n.height = 0;
        size--;
    }

    /**
     * Restores heights and balance from {@code t} up, stopping at the first subtree whose height
     * did not change: O(1) amortized writes, so the nodes of a path are read, rarely written.
     */
    private void rebalanceFrom(Mapping<O> t) {
        while (t != null) {
            int old = t.height;
            Mapping<O> up = t.parent;
            Mapping<O> sub = balance(t);
            if (sub.height == old) {
                return;
            }
            t = up;
        }
    }

    /** Puts {@code child} where {@code old} hangs under {@code parent} (the root when null). */
    private void replaceChild(Mapping<O> parent, Mapping<O> old, Mapping<O> child) {
        if (child != null) {
            child.parent = parent;
        }
        if (parent == null) {
            root = child;
        } else if (parent.left == old) {
            parent.left = child;
        } else {
            parent.right = child;
        }
    }

    private static int height(Mapping<?> n) {
        return n == null ? 0 : n.height;
    }

    private static void updateHeight(Mapping<?> n) {
        n.height = (byte) (Math.max(height(n.left), height(n.right)) + 1);
    }

    /** Balances the subtree rooted at {@code t} in place; returns its (possibly new) root. */
    private Mapping<O> balance(Mapping<O> t) {
        int hl = height(t.left);
        int hr = height(t.right);
        if (hl > hr + 1) {
            Mapping<O> l = t.left;
            if (height(l.left) < height(l.right)) {
                rotateLeft(l);
            }
            return rotateRight(t);
        }
        if (hr > hl + 1) {
            Mapping<O> r = t.right;
            if (height(r.right) < height(r.left)) {
                rotateRight(r);
            }
            return rotateLeft(t);
        }
        int h = Math.max(hl, hr) + 1;
        if (t.height != h) {
            t.height = (byte) h;
        }
        return t;
    }

    private Mapping<O> rotateRight(Mapping<O> t) {
        Mapping<O> l = t.left;
        replaceChild(t.parent, t, l);
        t.left = l.right;
        if (l.right != null) {
            l.right.parent = t;
        }
        l.right = t;
        t.parent = l;
        updateHeight(t);
        updateHeight(l);
        return l;
    }

    private Mapping<O> rotateLeft(Mapping<O> t) {
        Mapping<O> r = t.right;
        replaceChild(t.parent, t, r);
        t.right = r.left;
        if (r.left != null) {
            r.left.parent = t;
        }
        r.left = t;
        t.parent = r;
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
        if (root != null && root.parent != null) {
            throw new IllegalStateException("root has a parent");
        }
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
        if (t.left != null && t.left.parent != t || t.right != null && t.right.parent != t) {
            throw new IllegalStateException("broken parent link under " + t);
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
