package dev.memmgr.bench.sim;

/**
 * S3-FIFO (Yang et al., SOSP 2023), sized in pages.
 *
 * <p>Three FIFO queues: small S (10% of the capacity) where new objects enter, main M, and a ghost
 * queue G of objects evicted from S (as many pages as M's share; in memmgr the ghost is the
 * evicted object itself). Each object has a 2-bit use counter: a hit only increments it
 * (saturating at 3), which is the whole hot path: no list is touched. Eviction takes from S while
 * S holds at least its share (or M is empty): S's oldest object moves to M with its counter reset
 * if it was used since it entered, else it is evicted and leaves a ghost. From M, the oldest object
 * is evicted if its counter is 0, else the counter drops by one and the object goes to the tail.
 * An object whose ghost is still in G enters M directly when it comes back.
 */
public final class S3FifoPolicy implements Policy {
    private static final int FREQ = 3;
    private static final int TO_MAIN = 4;

    private final long capacity;
    private final ObjectQueue small = new ObjectQueue("small");
    private final ObjectQueue main = new ObjectQueue("main");
    private final ObjectQueue ghost = new ObjectQueue("ghost");

    public S3FifoPolicy(int capacityPages) {
        this.capacity = capacityPages;
    }

    @Override
    public String name() {
        return "s3-fifo";
    }

    @Override
    public void onHit(SimObject o) {
        if ((o.bits & FREQ) < FREQ) {
            o.bits++;
        }
    }

    @Override
    public void onMiss(SimObject o) {
        if (o.queue == ghost) {
            ghost.remove(o);
            o.bits = TO_MAIN;
        } else {
            o.bits = 0;
        }
    }

    @Override
    public void onAdmit(SimObject o) {
        ((o.bits & TO_MAIN) != 0 ? main : small).addLast(o);
        o.bits = 0;
    }

    @Override
    public void onRemove(SimObject o) {
        o.bits = (o.bits & FREQ) | (o.queue == main ? TO_MAIN : 0);
        o.queue.remove(o);
    }

    @Override
    public void onReturn(SimObject o) {
        ((o.bits & TO_MAIN) != 0 ? main : small).addLast(o);
        o.bits &= FREQ;
    }

    @Override
    public void onForget(SimObject o) {
        if (o.queue == ghost) {
            ghost.remove(o);
        }
    }

    @Override
    public void evict(long need, SimObject incoming, Evictor evictor) {
        long freed = 0;
        while (freed < need && !(small.isEmpty() && main.isEmpty())) {
            if (!small.isEmpty() && (small.pages() >= 0.1 * capacity || main.isEmpty())) {
                freed += evictSmall(evictor);
            } else {
                freed += evictMain(evictor);
            }
        }
    }

    private long evictSmall(Evictor evictor) {
        while (!small.isEmpty()) {
            SimObject o = small.removeFirst();
            if ((o.bits & FREQ) > 0) {
                o.bits = 0;
                main.addLast(o);
            } else {
                evictor.evict(o);
                ghost.addLast(o);
                while (ghost.pages() > 0.9 * capacity) {
                    ghost.removeFirst();
                }
                return o.pages;
            }
        }
        return 0;
    }

    private long evictMain(Evictor evictor) {
        while (!main.isEmpty()) {
            SimObject o = main.first();
            if ((o.bits & FREQ) > 0) {
                o.bits--;
                main.moveToLast(o);
            } else {
                main.remove(o);
                evictor.evict(o);
                return o.pages;
            }
        }
        return 0;
    }

    @Override
    public long listedPages() {
        return small.pages() + main.pages();
    }

    @Override
    public String toString() {
        return small + " " + main + " " + ghost;
    }
}
