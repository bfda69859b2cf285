package dev.memmgr.bench.sim;

/**
 * CAR, Clock with Adaptive Replacement (Bansal and Modha, FAST 2004), sized in pages: ARC's
 * decisions with CLOCK's hot path, the form of ARC that memmgr can run, since a hit only sets the
 * object's reference bit (memmgr's accessed bit, set without a lock) and never moves it.
 *
 * <p>T1 and T2 are clocks (FIFO lists whose head is the hand); B1 and B2 are ghost lists of
 * evicted objects, most recent at the tail. A new object enters the T1 tail; an object whose
 * ghost is in B1 or B2 enters the T2 tail after moving the target {@code p} of T1 (up for B1, down
 * for B2, by its pages times the ratio of the other ghost list to its own, at least one). All with
 * the bit clear. Replacement: while T1 holds at least {@code max(1, p)} pages, look at T1's head
 * (an unflagged one is evicted to B1; a flagged one is cleared and moves to the T2 tail: used
 * twice); else at T2's head (unflagged: evicted to B2; flagged: cleared and to the T2 tail).
 * Ghosts are trimmed so that T1 + B1 and all four lists stay within one and two capacities.
 * An object that leaves the clocks (pinned, DONTNEED) comes back to the tail of the one it left.
 */
public final class CarPolicy implements Policy {
    private static final int REFERENCED = 1;
    private static final int FROM_GHOST = 2;
    private static final int WAS_T2 = 4;

    private final long capacity;
    private final ObjectQueue t1 = new ObjectQueue("t1");
    private final ObjectQueue t2 = new ObjectQueue("t2");
    private final ObjectQueue b1 = new ObjectQueue("b1");
    private final ObjectQueue b2 = new ObjectQueue("b2");
    private double p;

    public CarPolicy(int capacityPages) {
        this.capacity = capacityPages;
    }

    @Override
    public String name() {
        return "car";
    }

    @Override
    public void onHit(SimObject o) {
        o.bits |= REFERENCED;
    }

    @Override
    public void onMiss(SimObject o) {
        o.bits = 0;
        if (o.queue == b1) {
            double ratio = b1.pages() >= b2.pages() ? 1 : (double) b2.pages() / b1.pages();
            p = Math.min(capacity, p + ratio * o.pages);
            b1.remove(o);
            o.bits = FROM_GHOST;
        } else if (o.queue == b2) {
            double ratio = b2.pages() >= b1.pages() ? 1 : (double) b1.pages() / b2.pages();
            p = Math.max(0, p - ratio * o.pages);
            b2.remove(o);
            o.bits = FROM_GHOST;
        }
    }

    @Override
    public void evict(long need, SimObject incoming, Evictor evictor) {
        long freed = 0;
        while (freed < need && !(t1.isEmpty() && t2.isEmpty())) {
            if (!t1.isEmpty() && (t1.pages() >= Math.max(1, p) || t2.isEmpty())) {
                SimObject h = t1.removeFirst();
                if ((h.bits & REFERENCED) != 0) {
                    h.bits = 0;
                    t2.addLast(h);
                } else {
                    evictor.evict(h);
                    b1.addLast(h);
                    freed += h.pages;
                }
            } else {
                SimObject h = t2.first();
                if ((h.bits & REFERENCED) != 0) {
                    h.bits = 0;
                    t2.moveToLast(h);
                } else {
                    t2.remove(h);
                    evictor.evict(h);
                    b2.addLast(h);
                    freed += h.pages;
                }
            }
        }
        trimGhosts();
    }

    @Override
    public void onAdmit(SimObject o) {
        ((o.bits & FROM_GHOST) == 0 ? t1 : t2).addLast(o);
        o.bits = 0;
        trimGhosts();
    }

    private void trimGhosts() {
        while (t1.pages() + b1.pages() > capacity && !b1.isEmpty()) {
            b1.removeFirst();
        }
        while (t1.pages() + t2.pages() + b1.pages() + b2.pages() > 2 * capacity && !b2.isEmpty()) {
            b2.removeFirst();
        }
    }

    @Override
    public void onRemove(SimObject o) {
        o.bits = (o.bits & REFERENCED) | (o.queue == t2 ? WAS_T2 : 0);
        o.queue.remove(o);
    }

    @Override
    public void onReturn(SimObject o) {
        ((o.bits & (WAS_T2 | FROM_GHOST)) != 0 ? t2 : t1).addLast(o);
        o.bits &= REFERENCED;
    }

    @Override
    public void onForget(SimObject o) {
        if (o.queue == b1 || o.queue == b2) {
            o.queue.remove(o);
        }
    }

    /** @return the target size of T1 in pages (tests) */
    double target() {
        return p;
    }

    @Override
    public long listedPages() {
        return t1.pages() + t2.pages();
    }

    @Override
    public String toString() {
        return t1 + " " + t2 + " " + b1 + " " + b2 + " p=" + p;
    }
}
