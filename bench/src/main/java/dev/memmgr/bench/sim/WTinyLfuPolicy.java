package dev.memmgr.bench.sim;

/**
 * W-TinyLFU (Caffeine's eviction policy), sized in pages.
 *
 * <p>Resident objects live in a small admission window (LRU, 1% of the capacity to start) and a
 * main space, a segmented LRU: probation and protected (80% of main). New and swapped-in objects
 * enter the window (the newest stays there even when larger than the window); a hit in
 * probation promotes to protected, whose overflow is demoted back to the probation tail. When
 * the window overflows, its oldest objects move to the probation tail as candidates; when pages
 * must be freed, each candidate competes with the victim at the probation head (then protected,
 * then window): the one whose frequency is lower (ties go against the candidate) is evicted, and
 * a candidate that wins meets the next victim, so a large candidate stays only if it beats every
 * victim it would displace. Frequencies come from a count-min sketch that counts every use,
 * sized by the resident objects (16 counters and an aging period of ten uses per object).
 * Caffeine's random admission of a warm candidate (a defence against hash flooding) is left out:
 * runs stay deterministic.
 *
 * <p>With {@code climb}, the window size adapts like Caffeine's hill climber: every sample (the
 * sketch's aging period in uses) it compares the byte hit ratio with the previous sample's, keeps
 * moving the window size the same way while it improves and turns back when it worsens; steps
 * start at 6.25% of the capacity, decay by 2% per sample and restart on a 5-point change.
 * Entries follow a new size lazily (the window sheds or gains objects as they move).
 */
public final class WTinyLfuPolicy implements Policy {
    private static final int IN_WINDOW = 1;
    private static final int IN_PROBATION = 2;
    private static final int IN_PROTECTED = 3;
    private static final double RESTART_THRESHOLD = 0.05;
    private static final double STEP_PERCENT = 0.0625;
    private static final double STEP_DECAY = 0.98;

    private final int capacity;
    private final boolean climb;
    private final ObjectQueue window = new ObjectQueue("window");
    private final ObjectQueue probation = new ObjectQueue("probation");
    private final ObjectQueue protectedQ = new ObjectQueue("protected");
    private final FrequencySketch sketch;
    private double windowMax;
    private double protectedMax;
    // hill climber
    private long sampleUses;
    private long sampleHitPages;
    private long sampleMissPages;
    private double previousHitRate;
    private double stepSize;

    /**
     * @param capacityPages the memory
     * @param climb adapt the window size (Caffeine's default); false keeps it at 1%
     */
    public WTinyLfuPolicy(int capacityPages, boolean climb) {
        this.capacity = capacityPages;
        this.climb = climb;
        this.sketch = new FrequencySketch();
        this.stepSize = -STEP_PERCENT * capacityPages;
        setWindow(Math.max(1, 0.01 * capacityPages));
    }

    @Override
    public String name() {
        return climb ? "w-tinylfu" : "w-tinylfu-1%";
    }

    private void setWindow(double pages) {
        windowMax = Math.min(Math.max(1, pages), capacity - 1);
        protectedMax = 0.8 * (capacity - windowMax);
    }

    @Override
    public void onUse(SimObject o) {
        sketch.increment(o.key);
    }

    @Override
    public void onHit(SimObject o) {
        sample(o.pages, true);
        if (o.queue == window) {
            window.moveToLast(o);
        } else if (o.queue == probation) {
            probation.remove(o);
            protectedQ.addLast(o);
            demote();
        } else {
            protectedQ.moveToLast(o);
        }
    }

    @Override
    public void onMiss(SimObject o) {
        sample(o.pages, false);
    }

    @Override
    public void onAdmit(SimObject o) {
        window.addLast(o);
        overflowWindow(0, 1);
        int entries = window.size() + probation.size() + protectedQ.size();
        sketch.ensureCapacity(entries);
    }

    @Override
    public void onRemove(SimObject o) {
        o.bits = o.queue == window ? IN_WINDOW : o.queue == probation ? IN_PROBATION : IN_PROTECTED;
        o.queue.remove(o);
    }

    @Override
    public void onReturn(SimObject o) {
        switch (o.bits) {
            case IN_PROTECTED -> {
                protectedQ.addLast(o);
                demote();
            }
            case IN_PROBATION -> probation.addLast(o);
            default -> {
                window.addLast(o);
                overflowWindow(0, 1);
            }
        }
    }

    /**
     * Moves the window's oldest objects to the probation tail while it is over its size, keeping
     * at least {@code keep} of them: the object just used stays, since memmgr cannot evict the
     * object it makes resident; it becomes a candidate at the next eviction round instead (in
     * Caffeine it is one at once).
     *
     * @param extra pages about to join the window
     * @return the first object moved (the first candidate), or null
     */
    private SimObject overflowWindow(long extra, int keep) {
        SimObject first = null;
        while (window.pages() + extra > windowMax && window.size() > keep) {
            SimObject o = window.removeFirst();
            probation.addLast(o);
            if (first == null) {
                first = o;
            }
        }
        return first;
    }

    private void demote() {
        while (protectedQ.pages() > protectedMax && !protectedQ.isEmpty()) {
            probation.addLast(protectedQ.removeFirst());
        }
    }

    /** Caffeine's evictFromMain, until {@code need} pages are freed. */
    @Override
    public void evict(long need, SimObject incoming, Evictor evictor) {
        SimObject candidate = overflowWindow(incoming.pages, 0); // the incoming object joins the window
        boolean candidatesFromWindow = false;
        ObjectQueue victimQueue = probation;
        SimObject victim = probation.first();
        long freed = 0;
        while (freed < need) {
            if (candidate == null && !candidatesFromWindow) {
                candidate = window.first();
                candidatesFromWindow = true;
            }
            if (candidate == null && victim == null) {
                if (victimQueue == probation) {
                    victimQueue = protectedQ;
                    victim = protectedQ.first();
                    continue;
                } else if (victimQueue == protectedQ) {
                    victimQueue = window;
                    victim = window.first();
                    continue;
                }
                break;
            }
            if (victim == null) {
                SimObject next = candidate.next;
                freed += evict(candidate, evictor);
                candidate = next;
            } else if (candidate == null) {
                SimObject next = victim.next;
                freed += evict(victim, evictor);
                victim = next;
            } else if (candidate == victim) {
                victim = victim.next;
                freed += evict(candidate, evictor);
                candidate = null;
            } else if (sketch.frequency(candidate.key) > sketch.frequency(victim.key)) {
                SimObject next = victim.next;
                freed += evict(victim, evictor);
                victim = next;
                candidate = candidate.next;
            } else {
                SimObject next = candidate.next;
                freed += evict(candidate, evictor);
                candidate = next;
            }
        }
    }

    private static long evict(SimObject o, Evictor evictor) {
        o.queue.remove(o);
        evictor.evict(o);
        return o.pages;
    }

    private void sample(int pages, boolean hit) {
        if (!climb) {
            return;
        }
        if (hit) {
            sampleHitPages += pages;
        } else {
            sampleMissPages += pages;
        }
        if (++sampleUses < sketch.sampleSize()) {
            return;
        }
        double hitRate = (double) sampleHitPages / (sampleHitPages + sampleMissPages);
        double change = hitRate - previousHitRate;
        double amount = change >= 0 ? stepSize : -stepSize;
        stepSize = Math.abs(change) >= RESTART_THRESHOLD
                ? STEP_PERCENT * capacity * (amount >= 0 ? 1 : -1)
                : STEP_DECAY * amount;
        previousHitRate = hitRate;
        sampleUses = 0;
        sampleHitPages = 0;
        sampleMissPages = 0;
        setWindow(windowMax + amount);
        demote();
    }

    /** @return the window's current target in pages (tests) */
    double windowMax() {
        return windowMax;
    }

    @Override
    public long listedPages() {
        return window.pages() + probation.pages() + protectedQ.pages();
    }

    @Override
    public String toString() {
        return window + " " + probation + " " + protectedQ;
    }
}
