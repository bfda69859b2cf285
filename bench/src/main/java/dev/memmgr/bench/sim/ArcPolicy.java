package dev.memmgr.bench.sim;

/**
 * ARC (Megiddo and Modha), sized in pages.
 *
 * <p>T1 holds objects used once since they became resident, T2 objects used again; both are LRU.
 * Evicted objects leave a ghost entry in B1 (evicted from T1) or B2 (from T2); in memmgr the
 * ghost is the evicted object itself, so a ghost costs no extra memory. A use of a ghost moves
 * the target size {@code p} of T1: toward T1 for a B1 ghost (recency was short), toward T2 for a
 * B2 ghost, by the object's pages times the ratio of the other ghost list to this one (at least
 * one). The object then enters T2. Eviction takes the LRU end of T1 while T1 is above {@code p}
 * (or at it, for a B2 ghost coming in), else of T2. Ghosts are trimmed so that T1 + B1 and all
 * four lists together stay within one and two capacities. An object that leaves the lists
 * (pinned, DONTNEED) comes back to the list it left.
 */
public final class ArcPolicy implements Policy {
    private static final int FROM_B1 = 1;
    private static final int FROM_B2 = 2;
    private static final int WAS_T2 = 4;

    private final long capacity;
    private final ObjectQueue t1 = new ObjectQueue("t1");
    private final ObjectQueue t2 = new ObjectQueue("t2");
    private final ObjectQueue b1 = new ObjectQueue("b1");
    private final ObjectQueue b2 = new ObjectQueue("b2");
    private double p;

    public ArcPolicy(int capacityPages) {
        this.capacity = capacityPages;
    }

    @Override
    public String name() {
        return "arc";
    }

    @Override
    public void onHit(SimObject o) {
        o.queue.remove(o);
        t2.addLast(o);
    }

    @Override
    public void onMiss(SimObject o) {
        o.bits = 0;
        if (o.queue == b1) {
            double ratio = b1.pages() >= b2.pages() ? 1 : (double) b2.pages() / b1.pages();
            p = Math.min(capacity, p + ratio * o.pages);
            b1.remove(o);
            o.bits = FROM_B1;
        } else if (o.queue == b2) {
            double ratio = b2.pages() >= b1.pages() ? 1 : (double) b1.pages() / b2.pages();
            p = Math.max(0, p - ratio * o.pages);
            b2.remove(o);
            o.bits = FROM_B2;
        }
    }

    @Override
    public void evict(long need, SimObject incoming, Evictor evictor) {
        boolean fromB2 = incoming.bits == FROM_B2;
        long freed = 0;
        while (freed < need) {
            SimObject v;
            ObjectQueue ghost;
            if (!t1.isEmpty() && (t1.pages() > p || (fromB2 && t1.pages() >= p) || t2.isEmpty())) {
                v = t1.removeFirst();
                ghost = b1;
            } else if (!t2.isEmpty()) {
                v = t2.removeFirst();
                ghost = b2;
            } else {
                break;
            }
            evictor.evict(v);
            ghost.addLast(v);
            freed += v.pages;
        }
        trimGhosts();
    }

    @Override
    public void onAdmit(SimObject o) {
        (o.bits == 0 ? t1 : t2).addLast(o);
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
        o.bits = o.queue == t2 ? WAS_T2 : 0;
        o.queue.remove(o);
    }

    @Override
    public void onReturn(SimObject o) {
        (o.bits == 0 ? t1 : t2).addLast(o); // WAS_T2, or a ghost hit pinned on the way in
        o.bits = 0;
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
