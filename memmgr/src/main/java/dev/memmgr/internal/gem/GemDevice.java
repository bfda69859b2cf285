package dev.memmgr.internal.gem;

import dev.memmgr.GpuOutOfMemoryException;
import dev.memmgr.MemoryManagerException;
import dev.memmgr.MemoryStats;
import dev.memmgr.SwapException;
import dev.memmgr.internal.mem.ExtentList;
import dev.memmgr.internal.mem.FrameAllocator;
import dev.memmgr.internal.mem.MapBudgetExceededException;
import dev.memmgr.internal.mem.PhysMem;
import dev.memmgr.internal.reclaim.Lru;
import dev.memmgr.internal.reclaim.LruNode;
import dev.memmgr.internal.reclaim.ReclaimThread;
import dev.memmgr.internal.reclaim.Shrinker;
import dev.memmgr.internal.swap.SwapIoException;
import dev.memmgr.internal.swap.SwapSpace;
import dev.memmgr.internal.sys.ErrnoException;
import dev.memmgr.internal.sys.UnsupportedPlatformException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The device (drm_device): physical memory, the frame allocator, swap, the LRU lists, the
 * shrinker and its background thread, and the clients. Frames are allocated here with direct
 * reclaim: when the allocator runs short, the allocating thread runs the shrinker and retries;
 * if nothing more can be freed it throws {@link GpuOutOfMemoryException}.
 *
 * <p>Locking: no lock of its own on the paths of objects; the allocator, LRU and swap have
 * theirs. {@link #close()} closes the {@link Gate} and waits for operations inside it.
 */
public final class GemDevice {
    private static final int DIRECT_RECLAIM_STALLS = 3;

    private final PhysMem mem;
    private final FrameAllocator frames;
    private final SwapSpace swap;
    private final Lru lru = new Lru();
    private final Shrinker shrinker;
    private final ReclaimThread reclaimThread;
    private final Gate gate = new Gate();
    private final int pageShift;
    private final int lowFrames;
    private final int highFrames;
    private final AtomicLong pinnedFrames = new AtomicLong();
    private final AtomicLong evictions = new AtomicLong();
    private final AtomicLong swapIns = new AtomicLong();
    private final AtomicLong purges = new AtomicLong();
    private final AtomicInteger clientIds = new AtomicInteger();
    private final Set<GemFile> files = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile MemoryStats finalStats;
    /** Eviction listeners per object: rare, so kept here rather than in every object. */
    private final ConcurrentHashMap<GemObject, EvictionListener[]> listeners = new ConcurrentHashMap<>();

    private GemDevice(DeviceConfig c, PhysMem mem, SwapSpace swap) {
        this.mem = mem;
        this.frames = new FrameAllocator(mem);
        this.swap = swap;
        this.pageShift = mem.pageShift();
        int total = mem.frames();
        this.lowFrames = (int) Math.ceil(c.lowWatermark() * total);
        this.highFrames = Math.max(lowFrames, (int) Math.ceil(c.highWatermark() * total));
        this.shrinker = new Shrinker(lru, () -> swap != null && swap.freeSlots() > 0);
        this.reclaimThread = c.backgroundReclaim()
                ? new ReclaimThread("memmgr-reclaim", () -> highFrames - frames.freeFrames(),
                        () -> frames.freeFrames() < lowFrames, this::reclaimFrames)
                : null;
    }

    /**
     * The public exception for an internal one of the sys, mem and swap layers (which know
     * nothing of the public package); any other exception is returned as it is.
     */
    static RuntimeException toPublic(RuntimeException e) {
        if (e instanceof SwapIoException) {
            return new SwapException(e.getMessage(), e);
        }
        if (e instanceof ErrnoException || e instanceof UnsupportedPlatformException
                || e instanceof MapBudgetExceededException) {
            return new MemoryManagerException(e.getMessage(), e);
        }
        return e;
    }

    /** Creates the memfd, the swap file and (if enabled) the background reclaim thread. */
    public static GemDevice create(DeviceConfig c) {
        PhysMem mem;
        try {
            mem = PhysMem.create(c.capacity(), c.pageSize());
        } catch (RuntimeException e) {
            throw toPublic(e);
        }
        SwapSpace swap = null;
        try {
            if (!c.noSwap()) {
                if (c.swapFile() != null) {
                    swap = SwapSpace.createAt(c.swapFile(), c.swapBytes(), mem);
                } else {
                    long bytes = c.swapBytes() > 0 ? c.swapBytes() : 2 * c.capacity();
                    swap = SwapSpace.createTemp(Path.of(System.getProperty("java.io.tmpdir")), bytes, mem);
                }
            }
            GemDevice dev = new GemDevice(c, mem, swap);
            if (dev.reclaimThread != null) {
                dev.reclaimThread.start();
            }
            return dev;
        } catch (RuntimeException | Error e) {
            if (swap != null) {
                swap.close();
            }
            mem.close();
            if (e instanceof RuntimeException r) {
                throw toPublic(r);
            }
            throw e;
        }
    }

    // ---- accessors (package) ---------------------------------------------------------------

    PhysMem mem() {
        return mem;
    }

    SwapSpace swap() {
        return swap;
    }

    Lru lru() {
        return lru;
    }

    Gate gate() {
        return gate;
    }

    int pageShift() {
        return pageShift;
    }

    public int pageSize() {
        return mem.pageSize();
    }

    public long capacity() {
        return mem.capacity();
    }

    /** @return the frame allocator (tests, benchmarks) */
    public FrameAllocator frames() {
        return frames;
    }

    /** @return the swap space, or null without swap (tests inject faults through it) */
    public SwapSpace swapSpace() {
        return swap;
    }

    /** @return background reclaim passes so far, or -1 without the thread (tests) */
    public long backgroundPasses() {
        return reclaimThread == null ? -1 : reclaimThread.passes();
    }

    public boolean isClosed() {
        return closed.get();
    }

    void checkOpen() {
        if (closed.get()) {
            throw new IllegalStateException("memory manager is closed");
        }
    }

    /** @return the object's eviction listeners, or null */
    EvictionListener[] listeners(GemObject o) {
        return listeners.get(o);
    }

    /** Sets the object's eviction listeners; null removes them. */
    void listeners(GemObject o, EvictionListener[] l) {
        if (l == null) {
            if (!listeners.isEmpty()) { // every free asks: keep that cheap
                listeners.remove(o);
            }
        } else {
            listeners.put(o, l);
        }
    }

    // ---- clients ---------------------------------------------------------------------------

    /** Opens a client. @throws IllegalStateException once closed */
    public GemFile openFile(String name) {
        checkOpen();
        GemFile f = new GemFile(this, name, clientIds.incrementAndGet());
        files.add(f);
        if (closed.get()) { // lost a race with close(): do not leave it open
            files.remove(f);
            f.closeForShutdown();
            throw new IllegalStateException("memory manager is closed");
        }
        return f;
    }

    void fileClosed(GemFile f) {
        files.remove(f);
    }

    // ---- frames ----------------------------------------------------------------------------

    /**
     * Allocates n zeroed frames, running the shrinker in this thread when short (direct
     * reclaim). The caller holds its object's reservation; the shrinker only try-locks, so it
     * skips that object.
     *
     * @param unzeroed how many of the first frames the caller overwrites completely (swap-in):
     *     those are not zeroed
     * @throws GpuOutOfMemoryException when not enough frames can be freed; nothing is allocated
     */
    void allocateFrames(int n, ExtentList out, int unzeroed) {
        if (n > frames.capacity()) {
            throw new GpuOutOfMemoryException("cannot allocate " + n + " pages: the capacity is "
                    + frames.capacity() + " pages");
        }
        int stalls = 0;
        while (!frames.allocate(n, out, unzeroed)) {
            long missing = (long) n - frames.freeFrames();
            long freed = missing > 0 ? shrinker.scan(missing) : 0;
            if (freed == 0 && ++stalls >= DIRECT_RECLAIM_STALLS) {
                throw new GpuOutOfMemoryException("cannot allocate " + n + " pages: " + frames.freeFrames()
                        + " free and nothing more reclaimable (pinned, busy, locked, or swap full)");
            }
        }
        if (reclaimThread != null && frames.freeFrames() < lowFrames) {
            reclaimThread.wake();
        }
    }

    void freeFrames(ExtentList units) {
        frames.free(units);
    }

    /**
     * Runs the shrinker for a target of frames (background thread, reclaim requests).
     *
     * @return frames freed; 0 once closed
     */
    long reclaimFrames(long target) {
        if (!gate.enter()) {
            return 0;
        }
        try {
            return shrinker.scan(target);
        } finally {
            gate.exit();
        }
    }

    /**
     * MemoryManager.reclaim: runs the shrinker now.
     *
     * @return bytes of frames freed
     */
    public long reclaim(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("bytes must not be negative: " + bytes);
        }
        checkOpen();
        long target = (bytes + (1L << pageShift) - 1) >>> pageShift;
        return reclaimFrames(target) << pageShift;
    }

    // ---- statistics ------------------------------------------------------------------------

    void pinnedFrames(int delta) {
        pinnedFrames.addAndGet(delta);
    }

    void countEviction() {
        evictions.incrementAndGet();
    }

    void countSwapIn() {
        swapIns.incrementAndGet();
    }

    void countPurge() {
        purges.incrementAndGet();
    }

    /** @return a snapshot of the manager's figures (after close: the final one) */
    public MemoryStats stats() {
        MemoryStats last = finalStats;
        if (last != null) {
            return last;
        }
        long page = 1L << pageShift;
        long capacity = mem.capacity();
        long free = (long) frames.freeFrames() << pageShift;
        long swapUsed = swap == null ? 0 : (long) swap.usedSlots() * page;
        return new MemoryStats(capacity, free, capacity - free, pinnedFrames.get() * page,
                lru.frames(Lru.PURGEABLE) * page, swapUsed, swap == null ? 0 : swap.capacityBytes(), swapUsed,
                evictions.get(), swapIns.get(), purges.get());
    }

    // ---- close -----------------------------------------------------------------------------

    /**
     * Frees every object, stops the reclaim thread, deletes the swap file and unmaps memory.
     * Waits for operations in progress; later ones throw IllegalStateException. Idempotent.
     */
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        gate.close();
        if (reclaimThread != null) {
            reclaimThread.stop();
        }
        List<GemFile> open = new ArrayList<>(files);
        files.clear();
        for (GemFile f : open) {
            f.closeForShutdown();
        }
        for (LruNode n : lru.drainAll()) {
            ((GemObject) n).release(true);
        }
        finalStats = new MemoryStats(mem.capacity(), mem.capacity(), 0, 0, 0, 0,
                swap == null ? 0 : swap.capacityBytes(), 0, evictions.get(), swapIns.get(), purges.get());
        try {
            if (swap != null) {
                swap.close();
            }
        } catch (RuntimeException e) {
            throw toPublic(e);
        } finally {
            frames.close();
            mem.close();
        }
    }
}
