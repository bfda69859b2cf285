package dev.memmgr.internal.gem;

import dev.memmgr.Madvise;
import dev.memmgr.PurgedException;
import dev.memmgr.Residency;
import dev.memmgr.internal.mem.Vmapping;
import dev.memmgr.internal.reclaim.Lru;
import dev.memmgr.internal.resv.Resv;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A buffer object (drm_gem_shmem_object): page-granular backing in frames or swap slots, the
 * reference and page counts that decide when pages may move, a reservation, a cached vmap.
 *
 * <p><b>Lifetime and operations.</b> See {@link GemRefs}: slow-path operations run in its
 * template (a transient reference, the reservation, the device gate), so none runs on a freed
 * object or a closed manager, and freeing takes no lock.
 *
 * <p><b>Counts.</b> pinCount &gt; 0 implies pagesUseCount &gt; 0 implies backing complete (or
 * evicted, for weak uses); all pins hold one use, all vmaps one pin. The lock-free fast paths are
 * CAS loops that only move a count that is already above the transition point: pin of a pinned
 * object, unpin staying above zero, getPages of a used resident object, putPages staying above
 * zero, vmap of a vmapped object. Every transition (0 to 1, 1 to 0, population, swap-in,
 * eviction, purge) happens with the reservation held. Freeing sets the counts to a negative
 * sentinel so that fast paths fail over to the slow path, which reports the freed object.
 *
 * <p><b>Locking.</b> Methods named {@code ...Locked} need the reservation held by the calling
 * thread and assert it. Operations take it themselves unless the calling thread already holds it
 * (a user who locked {@code resv()} may call operations inside). Order: reservation, then LRU
 * lock, frame allocator lock, swap allocator lock. The shrinker only try-locks.
 */
public final class GemObject extends GemRefs {
    static final int UNPOPULATED = 0;
    static final int RESIDENT = 1;
    static final int EVICTED = 2;
    static final int PURGED = 3;
    static final int FREED = 4;
    private static final int DEAD = Integer.MIN_VALUE / 2;
    static final System.Logger LOG = System.getLogger("dev.memmgr");

    private static final VarHandle USE;
    private static final VarHandle PIN;
    static final VarHandle VMAP;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            USE = l.findVarHandle(GemObject.class, "useCount", int.class);
            PIN = l.findVarHandle(GemObject.class, "pinCount", int.class);
            VMAP = l.findVarHandle(GemObject.class, "vmapCount", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final GemFile file;
    private final int pages;
    private final int handle;
    private final Resv resv = new Resv();
    /** The public facade (BufferObject), set once by the creator. */
    private Object facade;

    private volatile int useCount;
    private volatile int pinCount;
    volatile int vmapCount;
    /** UNPOPULATED..FREED; written with the reservation held (or by the free path). */
    volatile int state = UNPOPULATED;
    volatile boolean dontNeed;
    /**
     * Frames (RESIDENT) or slots (EVICTED) per page, see {@link PageTables}: a flat array, or
     * null with {@link #tableBase} the first unit of a contiguous table; reservation.
     */
    int[][] table;
    int tableBase = PageTables.NONE;
    /** Backed pages; reservation for writes, racy reads for statistics. */
    volatile int backed;
    /** The cached vmap: kept after the last vmap closes, torn down before frames go. */
    volatile Vmapping mapping;

    GemObject(GemFile file, int pages, int handle) {
        this.file = file;
        this.pages = pages;
        this.handle = handle;
    }

    // ---- identity --------------------------------------------------------------------------

    GemDevice dev() {
        return file.device();
    }

    public GemFile file() {
        return file;
    }

    public int pages() {
        return pages;
    }

    public long size() {
        return (long) pages << dev().pageShift();
    }

    public int handle() {
        return handle;
    }

    @Override
    public Resv resv() {
        return resv;
    }

    /** @return the public object this one stands behind */
    public Object facade() {
        return facade;
    }

    /** Sets the public facade; once, by the creator, before the object is published. */
    public void facade(Object f) {
        if (facade != null) {
            throw new IllegalStateException("facade already set");
        }
        facade = f;
    }

    // ---- lifetime --------------------------------------------------------------------------

    @Override
    public boolean isFreed() {
        return state == FREED;
    }

    /**
     * Unmaps the cached view at once, so that views of a freed object stop working when the
     * last reference goes even if the shrinker is looking at the object; frames and slots are
     * returned by {@link #free()} when the last transient reference goes.
     */
    @Override
    void dying() {
        teardownMapping();
    }

    @Override
    void closeHandleInFile() {
        file.forgetHandle(this);
    }

    @Override
    IllegalStateException freedException() {
        return freed();
    }

    // ---- counts ----------------------------------------------------------------------------

    public int pagesUseCount() {
        return Math.max(0, useCount);
    }

    public int pinCount() {
        return Math.max(0, pinCount);
    }

    public int vmapCount() {
        return Math.max(0, vmapCount);
    }

    public Residency residency() {
        return switch (state) {
            case RESIDENT -> Residency.RESIDENT;
            case EVICTED -> Residency.EVICTED;
            case PURGED -> Residency.PURGED;
            default -> Residency.UNPOPULATED; // UNPOPULATED, and FREED: no frames, no slots
        };
    }

    public boolean isDontNeed() {
        return dontNeed;
    }

    /** @return backed pages (frames when resident, slots when evicted); a snapshot */
    public int backedPages() {
        return backed;
    }

    boolean isResident() {
        return state == RESIDENT;
    }

    boolean isEvicted() {
        return state == EVICTED;
    }

    // ---- operations ------------------------------------------------------------------------

    @Override
    Gate gate() {
        return dev().gate();
    }

    void assertLocked() {
        assert resv.isHeldByCurrentThread() : "reservation not held";
    }

    IllegalStateException freed() {
        return new IllegalStateException("buffer object " + handle + " (" + file.name() + ") is freed");
    }

    void checkContentLocked() {
        if (state == PURGED) {
            throw new PurgedException("buffer object " + handle + " was purged: its content is gone");
        }
        if (state == FREED) {
            throw freed();
        }
    }

    // ---- getPages / putPages ----------------------------------------------------------------

    /** Takes a weak page use; populates or swaps in. Lock-free when already used and resident. */
    public void getPages() {
        int u = useCount;
        if (u > 0 && state == RESIDENT) {
            do { // compareAndExchange hands back the current count: no reload on a lost race
                int w = (int) USE.compareAndExchange(this, u, u + 1);
                if (w == u) {
                    markAccessed();
                    return;
                }
                u = w;
            } while (u > 0);
        }
        locked(GemObject::getPagesLocked);
    }

    /** Drops a weak page use; content stays. Lock-free while the count stays above zero. */
    public void putPages() {
        for (int u = useCount; u > 1; ) {
            int w = (int) USE.compareAndExchange(this, u, u - 1);
            if (w == u) {
                return;
            }
            u = w;
        }
        locked(o -> o.putPagesLocked(false));
    }

    void getPagesLocked() {
        assertLocked();
        checkContentLocked();
        markAccessed(); // before any move to the tail, which clears it again
        int u = useCount;
        if (u == 0 || state != RESIDENT || backed < pages) {
            Backing.ensureResidentLocked(this, 0, pages);
        }
        USE.getAndAdd(this, 1);
        if (u == 0) {
            lruUpdate();
        }
    }

    /** @param forPins drop the use held by the pins (unpin to zero) rather than a user's */
    private void putPagesLocked(boolean forPins) {
        assertLocked();
        if (state == FREED) {
            throw freed();
        }
        int u;
        while (true) {
            u = useCount;
            int mine = forPins ? u : u - (pinCount > 0 ? 1 : 0);
            if (mine <= 0) {
                throw new IllegalStateException("putPages() without a matching getPages()");
            }
            if (USE.compareAndSet(this, u, u - 1)) {
                break;
            }
        }
        if (u == 1) {
            lruUpdate();
        }
    }

    // ---- pin / unpin -----------------------------------------------------------------------

    /** Takes a hard pin; populates or swaps in. Lock-free when already pinned. */
    public void pin() {
        for (int p = pinCount; p > 0; ) {
            int w = (int) PIN.compareAndExchange(this, p, p + 1);
            if (w == p) {
                markAccessed();
                return;
            }
            p = w;
        }
        locked(GemObject::pinLocked);
    }

    /** Drops a pin. Lock-free while the count stays above zero. */
    public void unpin() {
        for (int p = pinCount; p > 1; ) {
            int w = (int) PIN.compareAndExchange(this, p, p - 1);
            if (w == p) {
                return;
            }
            p = w;
        }
        locked(GemObject::unpinLocked);
    }

    void pinLocked() {
        assertLocked();
        checkContentLocked();
        if (dontNeed) {
            throw new IllegalStateException("pin of a DONTNEED object: a pinned object may not be purgeable");
        }
        markAccessed();
        int p = pinCount;
        if (p == 0) {
            getPagesLocked(); // the one use all pins hold together
            PIN.getAndAdd(this, 1);
            dev().pinnedFrames(pages);
            lruUpdate();
        } else {
            PIN.getAndAdd(this, 1);
        }
    }

    void unpinLocked() {
        assertLocked();
        if (state == FREED) {
            throw freed();
        }
        int p;
        while (true) {
            p = pinCount;
            int mine = p - (vmapCount > 0 ? 1 : 0); // the pin all vmaps hold is not the caller's
            if (mine <= 0) {
                throw new IllegalStateException(vmapCount > 0
                        ? "unpin() of the pin the open vmaps hold: close the vmaps instead"
                        : "unpin() without a matching pin()");
            }
            if (PIN.compareAndSet(this, p, p - 1)) {
                break;
            }
        }
        if (p == 1) {
            dev().pinnedFrames(-pages);
            putPagesLocked(true);
            lruUpdate();
        }
    }

    // ---- vmap ------------------------------------------------------------------------------

    /**
     * Maps the object contiguously; all vmaps share one mapping and hold one pin. No lock and no
     * syscall when already vmapped; no syscall when a cached mapping survives.
     *
     * @return the mapping's segment
     */
    public MemorySegment vmap() {
        for (int v = vmapCount, w; v > 0; v = w) {
            w = (int) VMAP.compareAndExchange(this, v, v + 1);
            if (w == v) {
                // read after the CAS: the mapping cannot change while the count stays above zero
                // (read before, an unmap and remap in between could hand out the old one)
                Vmapping m = mapping;
                if (m == null) { // the last reference went meanwhile: dying() unmapped it
                    throw freed();
                }
                markAccessed();
                return m.segment();
            }
        }
        return lockedCall(Vmaps::vmapLocked);
    }

    /** Closes one vmap; the last one drops the vmaps' pin (the mapping stays cached). */
    public void vunmap() {
        for (int v = vmapCount; v > 1; ) {
            int w = (int) VMAP.compareAndExchange(this, v, v - 1);
            if (w == v) {
                return;
            }
            v = w;
        }
        vunmapSlow();
    }

    /**
     * Unmaps the cached mapping. Reservation held, or the object unreachable (free), or dying:
     * racing callers may both unmap, which is idempotent.
     */
    void teardownMapping() {
        Vmapping m = mapping;
        if (m != null) {
            mapping = null;
            m.unmap();
        }
    }

    private void vunmapSlow() {
        boolean locked;
        try {
            locked = begin();
        } catch (IllegalStateException freedOrClosed) {
            return; // freed with the view open, or the manager closed: the mapping is torn down already
        }
        try {
            Vmaps.vunmapLocked(this);
        } finally {
            end(locked);
        }
    }

    /** Drops a cached mapping of an object that is not vmapped (benchmarks measure cold vmaps). */
    public void dropCachedMapping() {
        locked(o -> {
            if (o.vmapCount == 0) {
                o.teardownMapping();
            }
        });
    }

    // ---- read / write ----------------------------------------------------------------------

    /** Copies object bytes [offset, offset + dst.byteSize()) into dst; holes read as zero. */
    public void read(long offset, MemorySegment dst) {
        locked(o -> Backing.readLocked(o, offset, dst));
    }

    /** Copies src into object bytes [offset, offset + src.byteSize()); all or nothing. */
    public void write(long offset, MemorySegment src) {
        locked(o -> Backing.writeLocked(o, offset, src));
    }

    // ---- madvise ---------------------------------------------------------------------------

    /** @return retained: false once purged (and nothing changes) */
    public boolean madvise(Madvise advice) {
        return lockedCall(o -> o.madviseLocked(advice));
    }

    private boolean madviseLocked(Madvise advice) {
        assertLocked();
        if (state == PURGED) {
            return false;
        }
        if (advice == Madvise.DONTNEED) {
            if (pinCount > 0) {
                throw new IllegalStateException("madvise(DONTNEED) on a pinned object");
            }
            dontNeed = true;
        } else {
            dontNeed = false;
        }
        lruUpdate();
        return true;
    }

    // ---- reclaim ---------------------------------------------------------------------------

    @Override
    protected boolean reclaimGet() {
        return tryGet();
    }

    @Override
    protected void reclaimPut() {
        put();
    }

    @Override
    protected boolean reclaimTryLock() {
        return resv.tryLock();
    }

    @Override
    protected void reclaimUnlock() {
        resv.unlock();
    }

    @Override
    protected int reclaimLocked(int mode) {
        assertLocked();
        int st = state;
        if (pinCount != 0 || vmapCount != 0 || resv.isBusy()) {
            return 0;
        }
        if (mode == PURGE) {
            return dontNeed && (st == RESIDENT || st == EVICTED) ? Backing.purgeLocked(this) : 0;
        }
        return !dontNeed && st == RESIDENT ? Backing.evictLocked(this) : 0;
    }

    /** Stores a flat table, in the contiguous form when it allows (reservation held). */
    void setTable(int[][] flat) {
        int base = PageTables.compactBase(flat);
        table = base == PageTables.NONE ? flat : null;
        tableBase = base;
    }

    /** Drops the table: no backing (reservation held, or the object unreachable). */
    void clearTable() {
        table = null;
        tableBase = PageTables.NONE;
    }

    /** Puts the object on the LRU list its state calls for (at the most recently used end). */
    void lruUpdate() {
        int st = state;
        byte list;
        if (st == FREED) {
            list = Lru.NONE;
        } else if (pinCount > 0 || st == UNPOPULATED || st == PURGED) {
            list = Lru.UNEVICTABLE;
        } else if (dontNeed) {
            list = Lru.PURGEABLE;
        } else if (st == EVICTED) {
            list = Lru.UNEVICTABLE;
        } else {
            list = useCount > 0 ? Lru.ACTIVE : Lru.INACTIVE;
        }
        dev().lru().update(this, list, st == RESIDENT ? backed : 0);
    }

    /** Puts a new object on the LRU (its creator, before publishing it). */
    void register() {
        dev().lru().update(this, Lru.UNEVICTABLE, 0);
    }

    // ---- free ------------------------------------------------------------------------------

    /** The last reference is gone: release everything. Takes no reservation lock. */
    @Override
    void free() {
        if (!dev().gate().enter()) {
            return; // the manager is closing: close() releases every object
        }
        try {
            release(false);
        } finally {
            dev().gate().exit();
        }
    }

    /**
     * Releases the object: counts to the sentinel, off the LRU, mapping torn down, frames and
     * slots freed (unless the whole manager is closing). Runs once; nobody else can reach the
     * object (no references left, or the manager's gate closed).
     */
    void release(boolean closing) {
        int st = state;
        if (st == FREED) {
            return;
        }
        state = FREED;
        int pins = (int) PIN.getAndSet(this, DEAD);
        int vmaps = (int) VMAP.getAndSet(this, DEAD);
        int uses = (int) USE.getAndSet(this, DEAD);
        if (!closing && (pins > 0 || vmaps > 0 || uses > 0)) {
            LOG.log(System.Logger.Level.WARNING, "buffer object " + handle + " of client '" + file.name()
                    + "' freed with " + pins + " pins, " + vmaps + " vmaps and " + uses
                    + " page uses outstanding (leaked); open vmaps are invalidated");
        }
        dev().lru().remove(this);
        teardownMapping();
        if (pins > 0) {
            dev().pinnedFrames(-pages);
        }
        if (!closing) {
            Backing.freeUnits(this, st);
        }
        dev().listeners(this, null);
        clearTable();
        backed = 0;
    }

    @Override
    public String toString() {
        return "GemObject[" + handle + " of " + file.name() + ", " + pages + " pages, " + residency()
                + ", refs " + refCount() + ", use " + pagesUseCount() + ", pin " + pinCount()
                + ", vmap " + vmapCount() + (dontNeed ? ", DONTNEED" : "") + "]";
    }
}
