package dev.memmgr.internal.gem;

import dev.memmgr.SwapException;
import dev.memmgr.internal.mem.ExtentList;
import dev.memmgr.internal.swap.SwapIoException;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * The backing of a buffer object: population, swap-in, eviction, purge and the copies of CPU
 * read and write, over the object's page table ({@link PageTables}). Frames are allocated before
 * anything changes and freed again on failure, so every operation here is all or nothing.
 *
 * <p>Locking: every method needs the object's reservation held by the calling thread and asserts
 * it. They take, in this order, the LRU lock, the frame allocator lock and the swap allocator
 * lock, one at a time.
 */
final class Backing {
    private Backing() {
    }

    /** read(): swaps in an evicted object, then copies out; unbacked pages read as zero. */
    static void readLocked(GemObject o, long offset, MemorySegment dst) {
        o.checkContentLocked();
        o.markAccessed();
        if (o.state == GemObject.EVICTED) {
            ensureResidentLocked(o, 0, 0);
        }
        copyLocked(o, offset, dst, dst.byteSize(), false);
    }

    /** write(): swaps in and backs every page the range touches first, then copies in. */
    static void writeLocked(GemObject o, long offset, MemorySegment src) {
        o.checkContentLocked();
        o.markAccessed();
        long length = src.byteSize();
        if (length > 0) {
            int shift = o.dev().pageShift();
            ensureResidentLocked(o, (int) (offset >>> shift), (int) ((offset + length - 1) >>> shift) + 1);
            copyLocked(o, offset, src, length, true);
        }
    }

    /**
     * Returns the frames (state RESIDENT) or swap slots (EVICTED) of the object's table. The
     * reservation held (purge), or no lock when the object is being freed: nobody else can
     * reach it.
     */
    static void freeUnits(GemObject o, int state) {
        if (state == GemObject.RESIDENT && PageTables.isContiguous(o.table, o.tableBase)) {
            o.dev().frames().free(o.tableBase, o.pages()); // one run: no list needed
            return;
        }
        ExtentList units = new ExtentList();
        PageTables.units(o.table, o.tableBase, o.pages(), units);
        if (state == GemObject.RESIDENT) {
            o.dev().freeFrames(units);
        } else if (state == GemObject.EVICTED && !units.isEmpty()) {
            o.dev().swap().free(units);
        }
    }

    static void copyLocked(GemObject o, long offset, MemorySegment user, long length, boolean toObject) {
        o.assertLocked();
        MemorySegment dm = o.dev().mem().directMap();
        int shift = o.dev().pageShift();
        long pageSize = 1L << shift;
        long userOffset = 0;
        while (length > 0) {
            int p = (int) (offset >>> shift);
            long inPage = offset & (pageSize - 1);
            int unit = PageTables.get(o.table, o.tableBase, p);
            long chunk;
            if (PageTables.isContiguous(o.table, o.tableBase)) {
                chunk = length;
            } else {
                int q = p + 1;
                chunk = pageSize - inPage;
                while (chunk < length && q < o.pages() && PageTables.get(o.table, o.tableBase, q) == (unit == PageTables.NONE ? PageTables.NONE : unit + (q - p))) {
                    chunk += pageSize;
                    q++;
                }
                chunk = Math.min(chunk, length);
            }
            if (unit == PageTables.NONE) {
                if (toObject) {
                    throw new IllegalStateException("write to an unbacked page " + p);
                }
                user.asSlice(userOffset, chunk).fill((byte) 0);
            } else if (toObject) {
                MemorySegment.copy(user, userOffset, dm, ((long) unit << shift) + inPage, chunk);
            } else {
                MemorySegment.copy(dm, ((long) unit << shift) + inPage, user, userOffset, chunk);
            }
            offset += chunk;
            userOffset += chunk;
            length -= chunk;
        }
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
        int st = o.state;
        int fromSwap = st == GemObject.EVICTED ? o.backed : 0;
        int holes = PageTables.holes(o.table, o.tableBase, fillFrom, fillTo);
        int need = fromSwap + holes;
        if (need == 0) {
            if (st == GemObject.UNPOPULATED) {
                throw new IllegalStateException("nothing to populate in an unpopulated object");
            }
            if (st == GemObject.EVICTED) { // evicted with no backed page cannot happen: eviction needs frames
                throw new IllegalStateException("evicted object without slots");
            }
            return;
        }
        ExtentList frames = new ExtentList();
        o.dev().allocateFrames(need, frames, fromSwap); // swap-in overwrites its frames
        try {
            if (fromSwap > 0) {
                ExtentList swapFrames = new ExtentList();
                ExtentList holeFrames = new ExtentList();
                split(frames, fromSwap, swapFrames, holeFrames);
                ExtentList slots = new ExtentList();
                PageTables.units(o.table, o.tableBase, o.pages(), slots);
                try {
                    o.dev().swap().read(slots, swapFrames);
                } catch (SwapIoException e) {
                    throw new SwapException(e.getMessage(), e);
                }
                o.setTable(PageTables.remap(o.table, o.tableBase, o.pages(), swapFrames, holeFrames, fillFrom, fillTo));
                o.dev().swap().free(slots);
                o.dev().countSwapIn();
            } else if (o.table == null && o.tableBase == PageTables.NONE && frames.size() == 1
                    && fillFrom == 0 && fillTo == o.pages()) {
                o.tableBase = frames.start(0); // the common case: a whole object in one run
            } else {
                o.setTable(PageTables.remap(o.table, o.tableBase, o.pages(), null, frames, fillFrom, fillTo));
            }
        } catch (RuntimeException | Error e) {
            o.dev().freeFrames(frames);
            throw e;
        }
        o.backed = PageTables.backed(o.table, o.tableBase, o.pages());
        o.state = GemObject.RESIDENT;
        o.lruUpdate();
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

    /** Destroys the content: frees frames or slots; GemObject.PURGED for good. @return frames freed */
    static int purgeLocked(GemObject o) {
        o.assertLocked();
        o.teardownMapping();
        notifyListenersLocked(o, true);
        int freedFrames = o.state == GemObject.RESIDENT ? o.backed : 0;
        freeUnits(o, o.state);
        o.clearTable();
        o.backed = 0;
        o.state = GemObject.PURGED;
        o.dev().countPurge();
        o.lruUpdate();
        return freedFrames;
    }

    /**
     * Writes the content to swap and frees the frames; GemObject.EVICTED. Needs free swap for every
     * backed page. A failed write leaves the object resident and intact. @return frames freed
     */
    static int evictLocked(GemObject o) {
        o.assertLocked();
        if (o.dev().swap() == null) {
            return 0;
        }
        int n = o.backed;
        ExtentList slots = new ExtentList();
        if (n == 0 || !o.dev().swap().allocate(n, slots)) {
            return 0;
        }
        ExtentList frames = new ExtentList();
        PageTables.units(o.table, o.tableBase, o.pages(), frames);
        o.teardownMapping();
        try {
            o.dev().swap().write(frames, slots);
        } catch (SwapIoException e) {
            o.dev().swap().free(slots);
            GemObject.LOG.log(System.Logger.Level.WARNING, "eviction of buffer object " + o.handle() + " failed; it stays resident", e);
            return 0;
        }
        notifyListenersLocked(o, false);
        o.setTable(PageTables.remap(o.table, o.tableBase, o.pages(), slots, null, 0, 0));
        o.dev().freeFrames(frames);
        o.state = GemObject.EVICTED;
        o.dev().countEviction();
        o.lruUpdate();
        return n;
    }

    /** Registers a weak user told before frames go (reservation held). */
    static void addEvictionListenerLocked(GemObject o, EvictionListener l) {
        o.assertLocked();
        EvictionListener[] now = o.dev().listeners(o);
        o.dev().listeners(o, now == null ? new EvictionListener[] {l} : append(now, l));
    }

    /** Removes a listener registered earlier (reservation held). */
    static void removeEvictionListenerLocked(GemObject o, EvictionListener l) {
        o.assertLocked();
        EvictionListener[] now = o.dev().listeners(o);
        if (now == null) {
            return;
        }
        int kept = 0;
        EvictionListener[] out = new EvictionListener[now.length];
        for (EvictionListener x : now) {
            if (x != l) {
                out[kept++] = x;
            }
        }
        o.dev().listeners(o, kept == 0 ? null : Arrays.copyOf(out, kept));
    }

    private static EvictionListener[] append(EvictionListener[] a, EvictionListener l) {
        EvictionListener[] b = Arrays.copyOf(a, a.length + 1);
        b[a.length] = l;
        return b;
    }

    static void notifyListenersLocked(GemObject o, boolean purged) {
        EvictionListener[] now = o.dev().listeners(o);
        if (now != null) {
            for (EvictionListener l : now) {
                l.beforeFramesGo(o, purged);
            }
        }
    }
}
