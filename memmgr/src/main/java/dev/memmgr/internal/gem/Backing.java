package dev.memmgr.internal.gem;

import dev.memmgr.SwapException;
import dev.memmgr.internal.mem.ExtentList;
import dev.memmgr.internal.obs.Events;
import dev.memmgr.internal.reclaim.LruNode;
import dev.memmgr.internal.swap.SwapSpace;
import java.lang.foreign.MemorySegment;

/**
 * The backing of a buffer object: population, swap-in, eviction and purge. Each computes the
 * object's new page table and installs it with one {@link GemObject#transition}; frames and slots
 * are allocated before anything changes and freed again on failure, so every operation is all or
 * nothing. The copies of CPU read and write are in {@link Copies}.
 *
 * <p>Locking: every {@code ...Locked} method needs the object's reservation held by the calling
 * thread and asserts it. They take, one at a time and in this order, the frame allocator lock
 * and the swap allocator lock (the LRU lock is taken once, at the end of the operation).
 */
final class Backing {
    private Backing() {
    }

    /**
     * Makes the object resident and backs the unbacked pages of [fillFrom, fillTo): swaps in
     * an evicted object and allocates frames for the holes, all or nothing. Every frame needed
     * is allocated first (direct reclaim may run); a failure frees them and leaves table,
     * state and content as they were.
     *
     * @throws dev.memmgr.GpuOutOfMemoryException when frames cannot be found
     * @throws SwapException when swap-in fails (the object stays evicted with its slots)
     */
    static void ensureResidentLocked(GemObject o, int fillFrom, int fillTo) {
        o.assertLocked();
        BoState st = o.state();
        PageTable old = o.table();
        int fromSwap = st == BoState.EVICTED ? old.backed() : 0;
        int holes = fillFrom < fillTo ? PageTable.holes(old, fillFrom, fillTo) : 0;
        int need = fromSwap + holes;
        if (need == 0) {
            if (st != BoState.RESIDENT) {
                throw new IllegalStateException("buffer object " + o.handle() + ": nothing to make resident in " + st);
            }
            return;
        }
        GemDevice dev = o.dev();
        Events.SwapIn ev = fromSwap > 0 ? new Events.SwapIn() : null;
        if (ev != null) {
            ev.begin(); // the direct reclaim the allocation may run counts as part of the swap-in
        }
        ExtentList frames = new ExtentList();
        dev.allocateFrames(need, frames, fromSwap); // swap-in overwrites its frames
        PageTable next;
        try {
            if (fromSwap > 0) {
                ExtentList swapFrames = new ExtentList();
                ExtentList holeFrames = new ExtentList();
                split(frames, fromSwap, swapFrames, holeFrames);
                ExtentList slots = new ExtentList();
                old.units(slots);
                dev.swapRead(slots, swapFrames);
                next = PageTable.remap(old, o.pages(), swapFrames, holes > 0 ? holeFrames : null, fillFrom, fillTo);
            } else {
                next = PageTable.remap(st == BoState.RESIDENT ? old : null, o.pages(), null, frames, fillFrom, fillTo);
            }
        } catch (RuntimeException | Error e) {
            dev.freeFrames(frames);
            throw e;
        }
        o.transition(BoState.RESIDENT, next);
        if (fromSwap > 0) {
            freeSlotsOf(dev, old);
            dev.countSwapIn();
            o.file().countSwapIn();
            ev.end(dev.name(), o.file().name(), o.handle(), o.label(), (long) fromSwap << dev.pageShift());
        }
    }

    private static void split(ExtentList all, int firstUnits, ExtentList first, ExtentList rest) {
        int left = firstUnits;
        for (int i = 0; i < all.size(); i++) {
            int s = all.start(i);
            int n = all.length(i);
            int a = Math.min(left, n);
            if (a > 0) {
                first.add(s, a);
                left -= a;
            }
            if (n > a) {
                rest.add(s + a, n - a);
            }
        }
    }

    /**
     * Destroys the content of a DONTNEED object: frees frames or slots; PURGED for good. Tells
     * the eviction listeners first (the mapping still shows the content), then checks again that
     * the object may still go, then tears the mapping down.
     *
     * @return frames freed; 0 when skipped
     */
    static int purgeLocked(GemObject o) {
        o.assertLocked();
        if (!o.reclaimableLocked(LruNode.PURGE)) {
            return 0;
        }
        Events.Purge ev = new Events.Purge();
        ev.begin();
        if (!notifyListenersLocked(o, true) || !o.reclaimableLocked(LruNode.PURGE)) {
            return 0; // a listener changed the object (pinned it, took it back, freed it...)
        }
        BoState st = o.state();
        PageTable old = o.table();
        // a fence added without the lock since the checks keeps the object (see Resv.commitIfIdle)
        if (!o.resv().commitIfIdle(() -> o.transition(BoState.PURGED, null))) {
            return 0;
        }
        o.teardownMapping(); // after the listeners: they may still read the old mapping
        freeUnits(o.dev(), st, old);
        o.dev().countPurge();
        o.file().countPurge();
        ev.end(o.dev().name(), o.file().name(), o.handle(), o.label(), (long) old.backed() << o.dev().pageShift());
        return st == BoState.RESIDENT ? old.backed() : 0;
    }

    /**
     * Writes the content to swap and frees the frames; EVICTED. Needs free swap for every backed
     * page. Tells the eviction listeners before anything moves, then checks again that the object
     * may still go (a listener may have pinned it). A failed write leaves the object resident and
     * intact. Never throws.
     *
     * @return frames freed; 0 when skipped or failed
     */
    static int evictLocked(GemObject o) {
        o.assertLocked();
        GemDevice dev = o.dev();
        SwapSpace swap = dev.swap();
        if (swap == null || !o.reclaimableLocked(LruNode.EVICT)) {
            return 0;
        }
        PageTable old = o.table();
        int n = old.backed();
        ExtentList slots = new ExtentList();
        if (!dev.allocateSlots(n, slots)) {
            return 0;
        }
        if (!notifyListenersLocked(o, false) || !o.reclaimableLocked(LruNode.EVICT) || o.table() != old) {
            dev.freeSlots(slots);
            return 0;
        }
        o.teardownMapping(); // after the listeners: they may still read the old mapping
        ExtentList frames = new ExtentList();
        old.units(frames);
        Events.Evict ev = new Events.Evict();
        ev.begin();
        try {
            dev.swapWrite(frames, slots);
        } catch (SwapException e) {
            dev.freeSlots(slots);
            GemObject.LOG.log(System.Logger.Level.WARNING, "eviction of buffer object " + o.handle() + " failed; it stays resident", e);
            return 0;
        } catch (RuntimeException e) {
            dev.freeSlots(slots); // the manager is closing under a listener, or a bug: stay resident
            return 0;
        }
        PageTable evicted = PageTable.remap(old, o.pages(), slots, null, 0, 0);
        // a fence added without the lock during the write keeps the object resident, its content
        // intact (Resv.commitIfIdle); the write is wasted, the slots freed
        if (!o.resv().commitIfIdle(() -> o.transition(BoState.EVICTED, evicted))) {
            dev.freeSlots(slots);
            return 0;
        }
        dev.freeFrames(frames);
        dev.countEviction();
        o.file().countEviction();
        ev.end(dev.name(), o.file().name(), o.handle(), o.label(), (long) n << dev.pageShift());
        return n;
    }

    /**
     * Returns the frames (state RESIDENT) or swap slots (EVICTED) of a table. The reservation
     * held (purge), or no lock when the object is being freed: nobody else can reach it.
     */
    static void freeUnits(GemDevice dev, BoState st, PageTable t) {
        if (st == BoState.RESIDENT) {
            if (t.isContiguous()) {
                dev.freeFrames(t.base(), t.pages()); // one run: no list needed
            } else {
                ExtentList units = new ExtentList();
                t.units(units);
                dev.freeFrames(units);
            }
        } else if (st == BoState.EVICTED) {
            freeSlotsOf(dev, t);
        }
    }

    private static void freeSlotsOf(GemDevice dev, PageTable t) {
        ExtentList units = new ExtentList();
        t.units(units);
        if (!units.isEmpty()) {
            dev.freeSlots(units);
        }
    }

    /**
     * Tells the object's eviction listeners that its frames go (reservation held). A listener
     * that throws is logged and the reclaim of this object given up.
     *
     * @return whether every listener returned normally
     */
    private static boolean notifyListenersLocked(GemObject o, boolean purged) {
        EvictionListener[] now = o.dev().listeners(o);
        if (now == null) {
            return true;
        }
        boolean ok = true;
        for (EvictionListener l : now) {
            try {
                l.beforeFramesGo(o, purged);
            } catch (RuntimeException e) {
                GemObject.LOG.log(System.Logger.Level.WARNING, "eviction listener of buffer object " + o.handle()
                        + " failed; the object is not reclaimed", e);
                ok = false;
            }
        }
        return ok;
    }

    // ---- read and write --------------------------------------------------------------------

    /**
     * Checks a user segment before anything moves: alive and accessible from this thread
     * (a write is all or nothing also when its source fails). No lock.
     *
     * @throws IllegalStateException if its arena is closed
     * @throws WrongThreadException if it is confined to another thread
     */
    static void checkUserSegment(MemorySegment s, String what) {
        if (!s.scope().isAlive()) {
            throw new IllegalStateException(what + " segment is not alive (its arena is closed)");
        }
        if (!s.isAccessibleBy(Thread.currentThread())) {
            throw new WrongThreadException(what + " segment is confined to another thread");
        }
    }

    /** read(): swaps in an evicted object, then copies out; unbacked pages read as zero. */
    static void readLocked(GemObject o, long offset, MemorySegment dst) {
        o.checkContentLocked();
        o.touch();
        if (o.state() == BoState.EVICTED) {
            ensureResidentLocked(o, 0, 0);
        }
        Copies.copyLocked(o, offset, dst, false);
    }

    /** write(): swaps in and backs every page the range touches first, then copies in. */
    static void writeLocked(GemObject o, long offset, MemorySegment src) {
        o.checkContentLocked();
        o.touch();
        long length = src.byteSize();
        int shift = o.dev().pageShift();
        ensureResidentLocked(o, (int) (offset >>> shift), (int) ((offset + length - 1) >>> shift) + 1);
        Copies.copyLocked(o, offset, src, true);
    }
}
