package dev.memmgr.internal.gem;

import dev.memmgr.GpuOutOfMemoryException;
import dev.memmgr.MemoryManagerException;
import dev.memmgr.MemoryStats;
import dev.memmgr.SwapException;
import dev.memmgr.internal.mem.ExtentList;
import dev.memmgr.internal.mem.FrameAllocator;
import dev.memmgr.internal.mem.PhysMem;
import dev.memmgr.internal.mem.Vmapping;
import dev.memmgr.internal.obs.Events;
import dev.memmgr.internal.reclaim.Lru;
import dev.memmgr.internal.reclaim.LruNode;
import dev.memmgr.internal.reclaim.ReclaimThread;
import dev.memmgr.internal.reclaim.ScanStats;
import dev.memmgr.internal.reclaim.Shrinker;
import dev.memmgr.internal.swap.SwapSpace;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The device (drm_device): physical memory, the frame allocator, swap, the LRU lists, the
 * shrinker and its background thread, and the clients. Frames are allocated here with direct
 * reclaim: when the allocator runs short, the allocating thread runs the shrinker and retries;
 * if nothing more can be freed it throws {@link GpuOutOfMemoryException}.
 *
 * <p>This is also the boundary where the lower layers' own exceptions (sys, mem, swap) become the
 * public ones: SwapException for swap I/O, MemoryManagerException for the OS refusing.
 *
 * <p>Locking: no lock of its own on the paths of objects; the allocator, LRU and swap have
 * theirs. {@link #close()} closes the {@link Gate}; the teardown runs once nobody is inside.
 */
public final class GemDevice {
    private static final int DIRECT_RECLAIM_STALLS = 3;
    /** An allocation allowed to wait for busy objects waits this long at most before it scans again. */
    private static final long BUSY_WAIT_SLICE_NANOS = 10_000_000;

    private final PhysMem mem;
    private final FrameAllocator frames;
    private final SwapSpace swap;
    private final Lru lru;
    private final Shrinker shrinker;
    private final ReclaimThread reclaimThread;
    private final Gate gate = new Gate();
    private final int pageShift;
    private final int lowFrames;
    private final int highFrames;
    private final long evictionWaitNanos;
    private final AtomicLong pinnedFrames = new AtomicLong();
    private final AtomicLong evictions = new AtomicLong();
    private final AtomicLong swapIns = new AtomicLong();
    private final AtomicLong purges = new AtomicLong();
    /** The most frames in use at once since the device was built. */
    private final AtomicLong peakFrames = new AtomicLong();
    private final boolean leakDetection;
    /** Set by {@link #create} right after the constructor, before the device is handed out. */
    private DeviceObs obs;
    private final AtomicInteger clientIds = new AtomicInteger();
    private final Set<GemFile> files = ConcurrentHashMap.newKeySet();
    private volatile MemoryStats finalStats;
    /** Eviction listeners per object: rare, so kept here rather than in every object. */
    private final ConcurrentHashMap<GemObject, EvictionListener[]> listeners = new ConcurrentHashMap<>();

    private GemDevice(DeviceConfig c, PhysMem mem, SwapSpace swap) {
        this.mem = mem;
        this.frames = new FrameAllocator(mem);
        this.swap = swap;
        this.pageShift = mem.pageShift();
        int total = mem.frames();
        this.lru = new Lru(c.arc(), total);
        this.lowFrames = (int) Math.ceil(c.lowWatermark() * total);
        this.highFrames = Math.max(lowFrames, (int) Math.ceil(c.highWatermark() * total));
        this.evictionWaitNanos = c.evictionWaitNanos();
        this.leakDetection = c.leakDetection();
        this.shrinker = new Shrinker(lru, () -> swap != null && swap.freeSlots() > 0, gate::isClosed);
        this.reclaimThread = c.backgroundReclaim()
                ? new ReclaimThread("memmgr-reclaim", () -> highFrames - frames.freeFrames(),
                        () -> frames.freeFrames() < lowFrames, target -> reclaimFrames(target, Events.BACKGROUND))
                : null;
    }

    /**
     * Creates the memfd, the swap file and (if enabled) the background reclaim thread.
     *
     * @throws MemoryManagerException when the OS refuses or the platform is not supported
     * @throws IllegalArgumentException on a swap file that others can read
     */
    public static GemDevice create(DeviceConfig c) {
        PhysMem mem = LowerLayers.call(() -> PhysMem.create(c.capacity(), c.pageSize()));
        SwapSpace swap = null;
        GemDevice dev = null;
        try {
            if (!c.noSwap()) {
                if (c.swapFile() != null) {
                    swap = LowerLayers.call(() -> SwapSpace.createAt(c.swapFile(), c.swapBytes(), mem));
                } else {
                    long bytes = c.swapBytes() > 0 ? c.swapBytes() : 2 * c.capacity();
                    swap = LowerLayers.call(() -> SwapSpace.createTemp(Path.of(System.getProperty("java.io.tmpdir")), bytes, mem));
                }
            }
            dev = new GemDevice(c, mem, swap);
            dev.obs = new DeviceObs(dev, c); // registers dev::stats with JMX: after the constructor
            if (dev.reclaimThread != null) {
                dev.reclaimThread.start();
            }
            return dev;
        } catch (RuntimeException | Error e) {
            if (dev != null && dev.obs != null) {
                dev.obs.close();
            }
            if (swap != null) {
                swap.close();
            }
            mem.close();
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

    /** @return the LRU lists (tests look at their order) */
    public Lru lru() {
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

    /** @return the name in events, dumps and counters: Builder.name (with #N if taken), or manager-N */
    public String name() {
        return obs.name();
    }

    /** @return whether objects record their creation and use sites (Builder.leakDetection) */
    public boolean leakDetection() {
        return leakDetection;
    }

    DeviceObs obs() {
        return obs;
    }

    /** @return the open clients (a snapshot) */
    List<GemFile> files() {
        return new ArrayList<>(files);
    }

    /** @return whether close() was called (the teardown may still be in progress) */
    public boolean isClosed() {
        return gate.isClosed();
    }

    static IllegalStateException closedException() {
        return new IllegalStateException("memory manager is closed");
    }

    void checkOpen() {
        if (gate.isClosed()) {
            throw closedException();
        }
    }

    // ---- eviction listeners (internal hook) ------------------------------------------------

    /** @return the object's eviction listeners, or null */
    EvictionListener[] listeners(GemObject o) {
        return listeners.get(o);
    }

    /** Registers a weak user told before the object's frames go (reservation held). */
    public void addEvictionListenerLocked(GemObject o, EvictionListener l) {
        o.assertLocked();
        listeners.merge(o, new EvictionListener[] {l}, (a, b) -> {
            EvictionListener[] c = java.util.Arrays.copyOf(a, a.length + 1);
            c[a.length] = l;
            return c;
        });
    }

    /**
     * Removes a listener registered earlier. Any thread, no lock needed: a notice already under
     * way may still reach the listener, which must then ignore it.
     */
    public void removeEvictionListener(GemObject o, EvictionListener l) {
        listeners.computeIfPresent(o, (k, a) -> {
            EvictionListener[] kept = java.util.Arrays.stream(a).filter(x -> x != l).toArray(EvictionListener[]::new);
            return kept.length == 0 ? null : kept;
        });
    }

    void removeListeners(GemObject o) {
        if (!listeners.isEmpty()) { // every free asks: keep that cheap
            listeners.remove(o);
        }
    }

    // ---- clients ---------------------------------------------------------------------------

    /** Opens a client. @throws IllegalStateException once closed */
    public GemFile openFile(String name) {
        if (!gate.enter()) {
            throw closedException();
        }
        try {
            GemFile f = new GemFile(this, name, clientIds.incrementAndGet());
            files.add(f);
            obs.clientOpened(f);
            return f;
        } finally {
            gate.exit();
        }
    }

    void fileClosed(GemFile f) {
        files.remove(f);
        obs.clientClosed(f);
    }

    // ---- frames, slots and mappings (the boundary to mem and swap) -------------------------

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
            throw outOfMemory(n, null, "cannot allocate " + n + " pages: the capacity is " + frames.capacity() + " pages");
        }
        int stalls = 0;
        ScanStats why = null;
        long waitUntil = 0;
        boolean waited = false;
        while (!frames.allocate(n, out, unzeroed)) {
            if (gate.isClosed()) { // an eviction listener closed the manager during direct reclaim
                throw closedException();
            }
            if (why == null) { // the first shortage: nothing allocated on the common path
                why = new ScanStats();
                waitUntil = evictionWaitNanos > 0 ? System.nanoTime() + evictionWaitNanos : 0;
            }
            long missing = (long) n - frames.freeFrames();
            why.clear();
            long freed = 0;
            if (missing > 0) {
                Events.Reclaim ev = new Events.Reclaim();
                ev.begin();
                freed = shrinker.scan(missing, why);
                ev.end(name(), Events.DIRECT, missing << pageShift, freed << pageShift, why.purged(), why.evicted(), why.skipped());
            }
            if (freed == 0 && ++stalls >= DIRECT_RECLAIM_STALLS) {
                long left = waitUntil - System.nanoTime();
                if (waitUntil != 0 && left > 0 && why.firstBusy() != null) {
                    // As TTM waits for the GPU when allowed: for the first busy object, a slice at a
                    // time, then a new scan, since any busy object may be the first to go idle.
                    ((GemObject) why.firstBusy()).reclaimAwaitIdle(Math.min(left, BUSY_WAIT_SLICE_NANOS));
                    waited = true;
                    stalls = DIRECT_RECLAIM_STALLS - 1; // one scan after each slice
                    continue;
                }
                throw outOfMemory(n, why, outOfMemoryMessage(n, why, waited));
            }
        }
        notePeak();
        if (reclaimThread != null && frames.freeFrames() < lowFrames) {
            reclaimThread.wake();
        }
    }

    /** Records the frames in use now if they are the most so far (peakResident). */
    void notePeak() {
        long used = frames.capacity() - frames.freeFrames();
        for (long p = peakFrames.get(); used > p; p = peakFrames.get()) {
            if (peakFrames.compareAndSet(p, used)) {
                return;
            }
        }
    }

    /** The exception of a failed allocation, and its OutOfMemory event. */
    private GpuOutOfMemoryException outOfMemory(int n, ScanStats why, String message) {
        Events.OutOfMemory ev = new Events.OutOfMemory();
        if (ev.isEnabled()) {
            long page = 1L << pageShift;
            ev.end(name(), n * page, (long) frames.freeFrames() * page, pinnedFrames.get() * page,
                    why == null ? 0 : why.busyFrames() * page, why == null ? 0 : why.lockedFrames() * page,
                    (lru.frames(Lru.INACTIVE) + lru.frames(Lru.ACTIVE)) * page, message);
        }
        return new GpuOutOfMemoryException(message);
    }

    /** The message of a failed allocation: what kept the shrinker from freeing enough. */
    private String outOfMemoryMessage(int n, ScanStats why, boolean waited) {
        long page = 1L << pageShift;
        StringBuilder sb = new StringBuilder("cannot allocate ").append(n).append(" pages (")
                .append(Sizes.text((long) n * page)).append("): ").append(Sizes.text((long) frames.freeFrames() * page))
                .append(" free, and nothing more reclaimable: ")
                .append(Sizes.text(pinnedFrames.get() * page)).append(" pinned, ")
                .append(Sizes.text(why.busyFrames() * page)).append(" busy (unsignaled fences), ")
                .append(Sizes.text(why.lockedFrames() * page)).append(" locked by other threads");
        long evictable = lru.frames(Lru.INACTIVE) + lru.frames(Lru.ACTIVE);
        if (swap == null) {
            sb.append(", ").append(Sizes.text(evictable * page)).append(" evictable but no swap");
        } else if (swap.freeSlots() == 0) {
            sb.append(", ").append(Sizes.text(evictable * page)).append(" evictable but the swap is full");
        }
        if (waited) {
            sb.append(" (waited up to ").append(evictionWaitNanos / 1_000_000).append(" ms for busy objects)");
        }
        return sb.toString();
    }

    void freeFrames(ExtentList units) {
        frames.free(units);
    }

    void freeFrames(int first, int count) {
        frames.free(first, count);
    }

    /** @return whether n slots were allocated (false, nothing allocated, when swap is short) */
    boolean allocateSlots(int n, ExtentList out) {
        return LowerLayers.call(() -> swap.allocate(n, out));
    }

    void freeSlots(ExtentList slots) {
        swap.free(slots);
    }

    /** @throws SwapException when the write fails (the slots' content is then undefined) */
    void swapWrite(ExtentList frameList, ExtentList slots) {
        LowerLayers.run(() -> swap.write(frameList, slots));
    }

    /** @throws SwapException when the read fails or a checksum does not match */
    void swapRead(ExtentList slots, ExtentList frameList) {
        LowerLayers.run(() -> swap.read(slots, frameList));
    }

    /**
     * Maps frames for a vmap within the process's budget of memory mappings.
     *
     * @throws MemoryManagerException when the budget or the OS refuses (nothing mapped)
     */
    Vmapping map(ExtentList frameList, GemObject o) {
        return LowerLayers.call(() -> Vmapping.map(mem, frameList), "vmap of buffer object " + o.handle());
    }

    // ---- reclaim ---------------------------------------------------------------------------

    /**
     * Runs the shrinker for a target of frames (background thread, reclaim requests).
     *
     * @return frames freed; 0 once closed
     */
    long reclaimFrames(long target, String kind) {
        if (!gate.enter()) {
            return 0;
        }
        try {
            Events.Reclaim ev = new Events.Reclaim();
            if (!ev.isEnabled()) {
                return shrinker.scan(target);
            }
            ScanStats what = new ScanStats();
            ev.begin();
            long freed = shrinker.scan(target, what);
            long requested = target > Long.MAX_VALUE >>> pageShift ? Long.MAX_VALUE : target << pageShift; // reclaim(MAX_VALUE)
            ev.end(name(), kind, requested, freed << pageShift, what.purged(), what.evicted(), what.skipped());
            return freed;
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
        return reclaimFrames(target, Events.REQUESTED) << pageShift;
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
        long busy = lru.framesWhere(n -> ((GemObject) n).resv().isBusy()) * page;
        return new MemoryStats(capacity, free, capacity - free, pinnedFrames.get() * page,
                lru.frames(Lru.PURGEABLE) * page, swapUsed, swap == null ? 0 : swap.capacityBytes(), swapUsed,
                evictions.get(), swapIns.get(), purges.get(), busy, Math.max(peakFrames.get() * page, capacity - free));
    }

    /**
     * MemoryManager.dump(): the JSON text of the device, its clients, their objects and VMs.
     * Never blocks on an object's reservation.
     *
     * @throws IllegalStateException once closed
     */
    public String dump() {
        checkOpen();
        return DeviceDump.dump(this);
    }

    // ---- close -----------------------------------------------------------------------------

    /**
     * Frees every object, stops the reclaim thread, deletes the swap file and unmaps memory, once
     * no operation is in progress; later operations throw IllegalStateException. Never fails:
     * every step runs whatever the others did. Idempotent; called from inside an operation (an
     * eviction listener), the teardown runs when that operation ends.
     */
    public void close() {
        gate.close(this::teardown);
    }

    private void teardown() {
        Teardown t = new Teardown();
        if (reclaimThread != null) {
            t.step(reclaimThread::stop);
        }
        List<GemFile> open = new ArrayList<>(files);
        files.clear();
        for (GemFile f : open) {
            t.step(f::closeForShutdown);
        }
        t.step(obs::close);
        for (LruNode n : lru.drainAll()) {
            t.step(() -> ((GemObject) n).release(true));
        }
        listeners.clear();
        finalStats = new MemoryStats(mem.capacity(), mem.capacity(), 0, 0, 0, 0,
                swap == null ? 0 : swap.capacityBytes(), 0, evictions.get(), swapIns.get(), purges.get(), 0,
                peakFrames.get() << pageShift);
        if (swap != null) {
            t.step(swap::close);
        }
        t.step(frames::close);
        t.step(mem::close);
        t.step(Vmapping::retryDeferredCloses);
        t.done();
    }

    /** Runs teardown steps so that one failing does not stop the others; logs what failed. */
    private static final class Teardown {
        private RuntimeException first;

        void step(Runnable r) {
            try {
                r.run();
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }

        void done() {
            if (first != null) {
                GemObject.LOG.log(System.Logger.Level.WARNING, "memory manager teardown: a step failed (the others ran)", first);
            }
        }
    }
}
