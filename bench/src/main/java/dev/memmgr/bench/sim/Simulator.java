package dev.memmgr.bench.sim;

import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.function.IntConsumer;

/**
 * Replays a {@link Trace} against a memory of {@code capacity} pages with one {@link Policy}, the
 * way memmgr's buffer objects and shrinker behave (DESIGN.md section 2):
 * <ul>
 * <li>a use needs the whole object resident: an unpopulated object is populated (a first touch),
 *     an evicted one is swapped in whole;</li>
 * <li>when its pages do not fit, the shrinker runs in the using thread (direct reclaim) for the
 *     missing pages: it purges DONTNEED objects first, oldest madvise first (no swap-out; their
 *     content is gone and a later use re-creates them as new population), then the policy evicts
 *     whole objects to swap until the object fits; this repeats while it makes progress (the
 *     allocator's loop), and an allocation that cannot be satisfied fails and changes nothing;</li>
 * <li>pinned objects are never purged or evicted; freed objects release frames and slots.</li>
 * </ul>
 * Swap is unbounded and the background reclaim thread is not modelled: every policy is compared
 * on direct reclaim alone, which evicts exactly what each allocation needs.
 *
 * <p>Every run checks memmgr's invariants and throws {@link IllegalStateException} on a breach:
 * the used pages never exceed the capacity after an eviction round, an evicted object is resident,
 * unpinned and WILLNEED, nothing is evicted while a resident DONTNEED object is left, and the
 * policy's listed pages always equal the pages of resident, unpinned, WILLNEED objects.
 */
public final class Simulator {
    /** memmgr's default page size; tables report bytes as pages times this. */
    public static final long PAGE_SIZE = 4096;

    private final int capacity;

    /** @param capacityPages the memory (frames) in pages */
    public Simulator(int capacityPages) {
        if (capacityPages <= 0) {
            throw new IllegalArgumentException("capacity must be positive: " + capacityPages);
        }
        this.capacity = capacityPages;
    }

    public int capacity() {
        return capacity;
    }

    /**
     * What one policy did on one trace; amounts in pages.
     *
     * @param uses accesses and pins
     * @param usePages pages of all uses
     * @param hitPages pages of uses that found the object resident
     * @param swapInPages pages swapped in (uses of evicted objects)
     * @param swapOutPages pages evicted to swap
     * @param populatePages pages populated by first touches (new objects, re-created ones)
     * @param purgePages resident pages purged (DONTNEED, no swap-out)
     * @param evictions objects evicted
     * @param failed uses whose object could not be made resident (all else pinned)
     */
    public record Result(String trace, String policy, long uses, long usePages, long hitPages,
            long swapInPages, long swapOutPages, long populatePages, long purgePages, long evictions,
            long failed) {
        /** @return swap traffic: pages swapped in plus pages swapped out, in bytes */
        public long movedBytes() {
            return (swapInPages + swapOutPages) * PAGE_SIZE;
        }

        /** @return the share of used bytes that were resident when used */
        public double hitRatio() {
            return usePages == 0 ? 1 : (double) hitPages / usePages;
        }
    }

    /** Replays {@code trace} with {@code policy} (fresh, made for this capacity). */
    public Result run(Trace trace, Policy policy) {
        return run(trace, policy, null);
    }

    /**
     * Replays {@code trace} with {@code policy}, telling {@code evictionLog} the id of every
     * evicted object in order (tests); null for none.
     */
    public Result run(Trace trace, Policy policy, IntConsumer evictionLog) {
        Run r = new Run(trace, policy, evictionLog);
        for (int i = 0; i < trace.length(); i++) {
            int id = trace.id(i);
            switch (trace.op(i)) {
                case Trace.ACCESS -> r.use(id, false);
                case Trace.PIN -> r.use(id, true);
                case Trace.UNPIN -> r.unpin(id);
                case Trace.DONTNEED -> r.dontNeed(id);
                case Trace.FREE -> r.free(id);
                default -> throw new IllegalStateException("unknown op at event " + i);
            }
            r.checkListed(i);
        }
        return new Result(trace.name(), policy.name(), r.uses, r.usePages, r.hitPages, r.swapInPages,
                r.swapOutPages, r.populatePages, r.purgePages, r.evictions, r.failed);
    }

    /** The state of one replay. */
    private final class Run implements Policy.Evictor {
        private final Trace trace;
        private final Policy policy;
        private final IntConsumer log;
        private final SimObject[] current;
        private final int[] failedPins;
        /** DONTNEED objects with content, oldest madvise first (memmgr's PURGEABLE list). */
        private final LinkedHashSet<SimObject> purgeable = new LinkedHashSet<>();
        private long free = capacity;
        private long nextKey;
        /** Resident, unpinned, WILLNEED: what the policy must have listed. */
        private long evictablePages;
        private long purgeableResidentPages;
        long uses;
        long usePages;
        long hitPages;
        long swapInPages;
        long swapOutPages;
        long populatePages;
        long purgePages;
        long evictions;
        long failed;

        Run(Trace trace, Policy policy, IntConsumer log) {
            this.trace = trace;
            this.policy = policy;
            this.log = log;
            this.current = new SimObject[trace.ids()];
            this.failedPins = new int[trace.ids()];
        }

        void use(int id, boolean pin) {
            SimObject o = current[id];
            if (o == null || o.state == SimObject.PURGED) {
                // never created, freed, or madvise(WILLNEED) said "not retained": the client
                // (re-)creates it; a purged object holds nothing and is simply replaced
                o = new SimObject(id, nextKey++, trace.pages(id), trace.held(id));
                current[id] = o;
            }
            willNeed(o);
            policy.onUse(o);
            uses++;
            usePages += o.pages;
            if (o.state == SimObject.RESIDENT) {
                hitPages += o.pages;
                if (o.pins == 0) {
                    policy.onHit(o);
                    if (pin) {
                        policy.onRemove(o);
                        evictablePages -= o.pages;
                    }
                }
            } else {
                policy.onMiss(o);
                if (!makeRoom(o)) {
                    failed++;
                    if (pin) {
                        failedPins[id]++;
                    }
                    return;
                }
                if (o.state == SimObject.EVICTED) {
                    swapInPages += o.pages;
                } else {
                    populatePages += o.pages;
                }
                o.state = SimObject.RESIDENT;
                free -= o.pages;
                if (o.pins == 0 && !pin) {
                    policy.onAdmit(o);
                    evictablePages += o.pages;
                }
            }
            if (pin) {
                o.pins++;
            }
        }

        void unpin(int id) {
            SimObject o = current[id];
            if (o == null || o.pins == 0) {
                if (failedPins[id] > 0) { // the pin never happened: memory was short
                    failedPins[id]--;
                    return;
                }
                throw new IllegalStateException("unpin of object " + id + " without a pin");
            }
            if (--o.pins == 0 && o.state == SimObject.RESIDENT && !o.dontNeed) {
                policy.onReturn(o);
                evictablePages += o.pages;
            }
        }

        void dontNeed(int id) {
            SimObject o = live(id, "madvise(DONTNEED)");
            if (o.pins > 0) {
                throw new IllegalStateException("madvise(DONTNEED) of pinned object " + id);
            }
            if (o.state == SimObject.PURGED) {
                return; // not retained: nothing changes
            }
            if (o.state == SimObject.RESIDENT && !o.dontNeed) {
                policy.onRemove(o);
                evictablePages -= o.pages;
                purgeableResidentPages += o.pages;
            }
            o.dontNeed = true;
            if (o.state == SimObject.RESIDENT || o.state == SimObject.EVICTED) {
                purgeable.remove(o); // again: to the most recent end
                purgeable.add(o);
            }
        }

        private void willNeed(SimObject o) {
            if (!o.dontNeed) {
                return;
            }
            o.dontNeed = false;
            purgeable.remove(o);
            if (o.state == SimObject.RESIDENT) {
                purgeableResidentPages -= o.pages;
                policy.onReturn(o);
                evictablePages += o.pages;
            }
        }

        void free(int id) {
            SimObject o = live(id, "free");
            if (o.pins > 0) {
                throw new IllegalStateException("free of pinned object " + id);
            }
            if (o.state == SimObject.RESIDENT) {
                free += o.pages;
                if (o.dontNeed) {
                    purgeableResidentPages -= o.pages;
                } else {
                    policy.onRemove(o);
                    evictablePages -= o.pages;
                }
            } else if (o.state == SimObject.EVICTED) {
                policy.onForget(o);
            }
            purgeable.remove(o);
            o.state = SimObject.FREED;
            current[id] = null;
        }

        private SimObject live(int id, String what) {
            SimObject o = current[id];
            if (o == null) {
                throw new IllegalStateException(what + " of object " + id + ", which does not exist");
            }
            return o;
        }

        /** Direct reclaim for {@code o}: purge, then evict, while short and making progress. */
        private boolean makeRoom(SimObject o) {
            if (o.pages > capacity) {
                return false;
            }
            while (free < o.pages) {
                long missing = o.pages - free;
                long got = purge(missing);
                if (got < missing) {
                    long before = free;
                    policy.evict(missing - got, o, this);
                    got += free - before;
                }
                if (got == 0) {
                    return false;
                }
            }
            if (capacity - free + o.pages > capacity) {
                throw new IllegalStateException("over capacity after reclaim for " + o);
            }
            return true;
        }

        /** The shrinker's purge pass: DONTNEED objects, oldest first, until the target is met. */
        private long purge(long target) {
            long freed = 0;
            for (Iterator<SimObject> it = purgeable.iterator(); freed < target && it.hasNext(); ) {
                SimObject p = it.next();
                it.remove();
                if (p.state == SimObject.RESIDENT) {
                    free += p.pages;
                    freed += p.pages;
                    purgePages += p.pages;
                    purgeableResidentPages -= p.pages;
                } else {
                    policy.onForget(p); // evicted: its slots go, no frames freed
                }
                p.state = SimObject.PURGED;
            }
            return freed;
        }

        @Override
        public void evict(SimObject o) {
            if (o.state != SimObject.RESIDENT) {
                throw new IllegalStateException(policy.name() + " evicted " + o + ", which is not resident");
            }
            if (o.pins > 0) {
                throw new IllegalStateException(policy.name() + " evicted pinned " + o);
            }
            if (o.dontNeed) {
                throw new IllegalStateException(policy.name() + " evicted DONTNEED " + o + " instead of purging it");
            }
            if (purgeableResidentPages != 0) {
                throw new IllegalStateException(policy.name() + " evicted " + o + " while "
                        + purgeableResidentPages + " DONTNEED pages were left to purge");
            }
            if (o.queue != null) {
                throw new IllegalStateException(policy.name() + " evicted " + o + " still listed on " + o.queue.name);
            }
            o.state = SimObject.EVICTED;
            free += o.pages;
            swapOutPages += o.pages;
            evictablePages -= o.pages;
            evictions++;
            if (log != null) {
                log.accept(o.id);
            }
        }

        void checkListed(int event) {
            long listed = policy.listedPages();
            if (listed != evictablePages || free < 0 || free > capacity) {
                throw new IllegalStateException(policy.name() + " after event " + event + ": lists hold "
                        + listed + " pages, resident unpinned WILLNEED objects " + evictablePages
                        + ", free " + free + " of " + capacity);
            }
        }
    }
}
