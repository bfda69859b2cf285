package dev.memmgr.bench.sim;

import java.util.ArrayList;
import java.util.SplittableRandom;

/**
 * ARC as memmgr would run it: {@link ArcPolicy}'s lists and adaptation, with hits recorded the
 * way a lock-free hot path can record them.
 *
 * <p>A hit sets the object's accessed bit; only the use that sets it (the first since the object
 * last moved) offers the object to a hit buffer, in memmgr a striped lossy ring like Caffeine's
 * read buffer, so a hot object costs one offer per reclaim interval, not one per use. A full
 * buffer drops the offer ({@code dropRate} models that, seeded). The shrinker drains the buffer
 * under the LRU lock before it scans: each drained object still listed with its bit set gets
 * ARC's hit (to the T2 tail) and its bit cleared. A hit whose offer was dropped is not lost: when
 * the scan finds a flagged object at a list's head it treats it as used (CAR's rule: clear the
 * bit, move it to the T2 tail) instead of evicting it. With {@code dropRate} 0 the order of T2 is
 * the order of first hits per interval; with 1 the policy degenerates to CAR on ARC's lists.
 */
public final class BufferedArcPolicy implements Policy {
    private static final int FROM_B1 = 1;
    private static final int FROM_B2 = 2;
    private static final int WAS_T2 = 4;
    private static final int ACCESSED = 8;

    private final long capacity;
    private final double dropRate;
    private final SplittableRandom random;
    private final ObjectQueue t1 = new ObjectQueue("t1");
    private final ObjectQueue t2 = new ObjectQueue("t2");
    private final ObjectQueue b1 = new ObjectQueue("b1");
    private final ObjectQueue b2 = new ObjectQueue("b2");
    private final ArrayList<SimObject> buffer = new ArrayList<>();
    private double p;

    /**
     * @param dropRate the share of offers a full buffer drops, 0 to 1
     * @param seed for the drops
     */
    public BufferedArcPolicy(int capacityPages, double dropRate, long seed) {
        if (!(dropRate >= 0 && dropRate <= 1)) {
            throw new IllegalArgumentException("drop rate must be within [0, 1]: " + dropRate);
        }
        this.capacity = capacityPages;
        this.dropRate = dropRate;
        this.random = new SplittableRandom(seed);
    }

    @Override
    public String name() {
        return dropRate == 0 ? "arc-buffered" : String.format("arc-buffered-drop%.0f", dropRate * 100);
    }

    @Override
    public void onHit(SimObject o) {
        if ((o.bits & ACCESSED) == 0) {
            o.bits |= ACCESSED;
            if (dropRate == 0 || random.nextDouble() >= dropRate) {
                buffer.add(o);
            }
        }
    }

    /** The shrinker's drain: ARC's hit for every buffered object still listed and flagged. */
    private void drain() {
        for (SimObject o : buffer) {
            if ((o.queue == t1 || o.queue == t2) && (o.bits & ACCESSED) != 0) {
                o.queue.remove(o);
                t2.addLast(o);
                o.bits &= ~ACCESSED;
            }
        }
        buffer.clear();
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
        drain();
        boolean fromB2 = incoming.bits == FROM_B2;
        long freed = 0;
        while (freed < need && !(t1.isEmpty() && t2.isEmpty())) {
            boolean fromT1 = !t1.isEmpty() && (t1.pages() > p || (fromB2 && t1.pages() >= p) || t2.isEmpty());
            ObjectQueue list = fromT1 ? t1 : t2;
            SimObject v = list.removeFirst();
            if ((v.bits & ACCESSED) != 0) { // a hit whose offer was dropped
                v.bits &= ~ACCESSED;
                t2.addLast(v);
                continue;
            }
            evictor.evict(v);
            (fromT1 ? b1 : b2).addLast(v);
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
        (o.bits == 0 ? t1 : t2).addLast(o);
        o.bits = 0;
    }

    @Override
    public void onForget(SimObject o) {
        if (o.queue == b1 || o.queue == b2) {
            o.queue.remove(o);
        }
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
