package dev.memmgr.bench.sim;

/**
 * memmgr's reclaim today (internal.reclaim: Lru, LruNode, Shrinker), step for step.
 *
 * <p>Two evictable lists, least recently used at the head: INACTIVE (no page use held) and ACTIVE
 * (pagesUseCount &gt; 0). Every move to a list's tail clears the object's accessed bit (the
 * position records the use). A use of a {@link SimObject#held held} object is the lock-free fast
 * path (getPages while used, a fence, a read): it only sets the bit. A use of any other object
 * is getPages 0 to 1 then putPages 1 to 0: two transitions that leave it at the INACTIVE tail
 * with the bit clear. Population and swap-in, unpin to zero and madvise(WILLNEED) move the object
 * to the tail of the list its state calls for.
 *
 * <p>The shrinker's evict passes walk INACTIVE, then ACTIVE, from the head, with a budget of twice
 * the list's length: every object looked at goes to the tail with its bit cleared; a flagged one
 * was given its second chance, an unflagged one is evicted; a pass stops when the target is met.
 * (Its purge pass over the PURGEABLE list is the simulator's, shared by all policies.)
 */
public final class LruPolicy implements Policy {
    private static final int ACCESSED = 1;

    private final ObjectQueue inactive = new ObjectQueue("inactive");
    private final ObjectQueue active = new ObjectQueue("active");
    private final boolean oneList;

    /** memmgr today. */
    public LruPolicy() {
        this(false);
    }

    /**
     * @param oneList the same shrinker with a single list ("clock"): every object is treated as
     *     held, so every use only sets the bit and INACTIVE is no longer evicted before ACTIVE
     */
    public LruPolicy(boolean oneList) {
        this.oneList = oneList;
    }

    @Override
    public String name() {
        return oneList ? "clock" : "lru";
    }

    @Override
    public void onHit(SimObject o) {
        if (o.held || oneList) {
            o.bits = ACCESSED; // markAccessed(): no lock, no move
        } else {
            relist(o); // getPages 0 -> 1 (ACTIVE tail), putPages 1 -> 0 (INACTIVE tail)
        }
    }

    @Override
    public void onAdmit(SimObject o) {
        relist(o);
    }

    @Override
    public void onReturn(SimObject o) {
        relist(o);
    }

    @Override
    public void onRemove(SimObject o) {
        o.queue.remove(o);
        o.bits = 0;
    }

    /** lruUpdate(): to the tail of INACTIVE or ACTIVE by the page use, the bit cleared. */
    private void relist(SimObject o) {
        if (o.queue != null) {
            o.queue.remove(o);
        }
        (o.held || oneList ? active : inactive).addLast(o);
        o.bits = 0;
    }

    @Override
    public void evict(long need, SimObject incoming, Evictor evictor) {
        long freed = scan(inactive, need, evictor);
        if (freed < need) {
            scan(active, need - freed, evictor);
        }
    }

    /** Shrinker.scanList in EVICT mode. */
    private static long scan(ObjectQueue list, long target, Evictor evictor) {
        long freed = 0;
        int budget = 2 * list.size();
        while (freed < target && budget-- > 0) {
            SimObject n = list.first();
            if (n == null) {
                break;
            }
            boolean secondChance = n.bits == ACCESSED;
            n.bits = 0;
            list.moveToLast(n);
            if (secondChance) {
                continue;
            }
            list.remove(n);
            evictor.evict(n);
            freed += n.pages;
        }
        return freed;
    }

    @Override
    public long listedPages() {
        return inactive.pages() + active.pages();
    }

    @Override
    public String toString() {
        return inactive + " " + active;
    }
}
