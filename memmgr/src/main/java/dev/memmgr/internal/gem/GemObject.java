package dev.memmgr.internal.gem;

import dev.memmgr.BufferObject;
import dev.memmgr.Madvise;
import dev.memmgr.PurgedException;
import dev.memmgr.Residency;
import dev.memmgr.internal.mem.Vmapping;
import dev.memmgr.internal.obs.LeakSites;
import dev.memmgr.internal.obs.Units;
import dev.memmgr.internal.reclaim.Lru;
import dev.memmgr.internal.reclaim.LruNode;
import dev.memmgr.internal.resv.Resv;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * A buffer object (drm_gem_shmem_object): its lifetime, its counts, its state and page table,
 * and the template every slow-path operation runs in.
 *
 * <p><b>DOC: Lifetime.</b> {@code refs} packs two counts in one long: the high half counts
 * lifetime references (the handle, retains and lookups, a GPU VM's binding), the low half
 * transient ones taken by operations in flight and by the shrinker. A transient reference is
 * only taken while a lifetime one exists (kref_get_unless_zero). When the last lifetime reference
 * goes the object is <em>dying</em>: its view is torn down at once and operations waiting for its
 * reservation give up with IllegalStateException; it is freed when the transient ones are gone
 * too, by the thread that drops the last, which takes no lock (nobody else can reach it; seed
 * 000). {@link Extras#userRefs} counts retains and lookups alone, so that an unbalanced release
 * is refused and changes nothing. Rare state lives in {@link Extras}, so a plain object stays
 * small; the handle's sign bit says it was closed.
 *
 * <p><b>DOC: Operations.</b> A slow-path operation takes a transient reference, then the
 * reservation (unless the calling thread holds it: a user who locked {@code resv()} may call
 * operations inside), then enters the device {@link Gate}; it fails with IllegalStateException
 * when the object is dying or the manager closed, before touching anything. It ends in the reverse
 * order, after moving the object on the LRU once if its state or counts changed.
 *
 * <p><b>DOC: State.</b> {@link #transition} is the only writer of the state and the page table
 * (and so of the backed count, which is the table's); it checks the transition against the table
 * of {@link BoState}. Population, swap-in, eviction, purge and free compute a new table elsewhere
 * ({@link Backing}) and install it here.
 *
 * <p><b>DOC: Counts.</b> pinCount &gt; 0 implies pagesUseCount &gt; 0 implies every page backed
 * (resident, or evicted for weak uses only); all pins hold one use, all vmaps one pin. The
 * lock-free fast paths ({@link Counts}) only move a count that stays above its transition point;
 * every transition (0 to 1, 1 to 0) happens with the reservation held. Page uses and pins that
 * several threads take at once spread over per-thread cells ({@link Stripes}); the field stays
 * above zero while they are open, so "held" is still "field &gt; 0", and a locked decrement
 * folds them back first. Freeing sets the counts to a negative sentinel so that fast paths fail
 * over to the slow path, which reports it.
 *
 * <p><b>Locking.</b> Methods named {@code ...Locked} need the reservation held by the calling
 * thread and assert it. Order: reservation, then LRU lock, frame allocator lock, swap allocator
 * lock (docs/locking.md). The shrinker only try-locks.
 */
public final class GemObject extends LruNode {
    static final System.Logger LOG = System.getLogger("dev.memmgr");
    private static final long LIFETIME = 1L << 32;
    private static final long TRANSIENT_MASK = LIFETIME - 1;
    private static final int DEAD = Integer.MIN_VALUE / 2;
    private static final int HANDLE_CLOSED = Integer.MIN_VALUE;

    private static final VarHandle REFS;
    private static final VarHandle HANDLE;
    private static final VarHandle EXTRAS;
    static final VarHandle USE;
    static final VarHandle PIN;
    static final VarHandle VMAP;
    static final VarHandle USE_STRIPES;
    static final VarHandle PIN_STRIPES;
    private static final VarHandle MAPPING;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            REFS = l.findVarHandle(GemObject.class, "refs", long.class);
            HANDLE = l.findVarHandle(GemObject.class, "handleWord", int.class);
            EXTRAS = l.findVarHandle(GemObject.class, "extras", Extras.class);
            USE = l.findVarHandle(GemObject.class, "useCount", int.class);
            PIN = l.findVarHandle(GemObject.class, "pinCount", int.class);
            VMAP = l.findVarHandle(GemObject.class, "vmapCount", int.class);
            USE_STRIPES = l.findVarHandle(GemObject.class, "useStripes", Stripes.class);
            PIN_STRIPES = l.findVarHandle(GemObject.class, "pinStripes", Stripes.class);
            MAPPING = l.findVarHandle(GemObject.class, "mapping", Vmapping.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final GemFile file;
    private final int pages;
    /** The handle, with {@link #HANDLE_CLOSED} set once it is closed (handles are positive). */
    private volatile int handleWord;
    private final Resv resv;
    private final BufferObject facade;

    private volatile long refs = LIFETIME; // the handle's reference
    private volatile int useCount;
    private volatile int pinCount;
    private volatile int vmapCount;
    /** Cells of the page uses and pins once contended ({@link Stripes}); installed and dropped under the reservation. */
    private volatile Stripes useStripes;
    private volatile Stripes pinStripes;
    /** Written only by {@link #transition}, with the reservation held (or by the free path). */
    private volatile BoState state = BoState.UNPOPULATED;
    /** Written only by {@link #transition}; null without backing. */
    private volatile PageTable table;
    /** DONTNEED; reservation. */
    private volatile boolean dontNeed;
    /** The LRU placement is stale (a transition happened); reservation. */
    private boolean lruDirty;
    /** The cached vmap: kept after the last view closes, torn down before frames go. */
    private volatile Vmapping mapping;
    /** What most objects never need (import, leak sites, label, retains, sharing); null until needed. */
    private volatile Extras extras;

    /**
     * @param resv the reservation: a new one, a GPU VM's for the VM's local objects, or the
     *     exporter's for an import
     * @param imported the exporter's side of an import, or null
     */
    GemObject(GemFile file, int pages, int handle, Resv resv, ImportedPages imported,
              Function<GemObject, BufferObject> facadeFactory) {
        this.file = file;
        this.pages = pages;
        this.handleWord = handle;
        this.resv = resv;
        LeakSites sites = file.device().leakDetection() ? new LeakSites() : null;
        this.extras = imported != null || sites != null ? new Extras(imported, sites) : null;
        this.facade = facadeFactory.apply(this);
    }

    // ---- identity --------------------------------------------------------------------------

    public GemDevice dev() {
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
        return handleWord & ~HANDLE_CLOSED;
    }

    /** @return the side record of rare state, made now if the object has none (see {@link Extras}) */
    Extras extras() {
        Extras x = extras;
        if (x != null) {
            return x;
        }
        Extras made = new Extras(null, null);
        Extras won = (Extras) EXTRAS.compareAndExchange(this, (Extras) null, made);
        return won == null ? made : won;
    }

    /** @return the exporter's side of an import, or null (lock-free) */
    private ImportedPages imp() {
        Extras x = extras;
        return x == null ? null : x.imported;
    }

    /** @return the reservation; works in every state, freed included (amendment of section 3) */
    public Resv resv() {
        return resv;
    }

    /** @return the public object this one stands behind */
    public BufferObject facade() {
        return facade;
    }

    /** @return the label, "" when none was given; answers in every state */
    public String label() {
        Extras x = extras;
        return x == null ? "" : x.label;
    }

    /**
     * Sets the label. Lock-free (one volatile write).
     *
     * @throws IllegalStateException if the object is freed or dying, or the manager closed
     */
    public void label(String l) {
        checkAlive();
        if (l.isEmpty() && extras == null) {
            return; // "" is every object's label until it is given another
        }
        extras().label = l;
    }

    /** @return the creation and use sites, or null without leak detection */
    LeakSites sites() {
        Extras x = extras;
        return x == null ? null : x.sites;
    }

    /** Records where a count was taken, with leak detection on (a small method: fast paths inline it). */
    private void took(LeakSites.Use use, boolean wasFirst) {
        Extras x = extras;
        if (x != null && x.sites != null) {
            x.sites.took(use, wasFirst);
        }
    }

    /** @return how messages name the object: "buffer object 3 of client 'ui'", and its label if any */
    public String describe() {
        String l = label();
        return "buffer object " + handle() + " of client '" + file.name() + "'" + (l.isEmpty() ? "" : " labelled '" + l + "'");
    }

    // ---- lifetime (any thread, lock-free) --------------------------------------------------

    /** @return lifetime references: the open handle plus retains and lookups not yet released */
    public int refCount() {
        return state == BoState.FREED ? 0 : (int) (refs >>> 32);
    }

    /** @return whether the object is freed or about to be (no lifetime reference left) */
    public boolean isDying() {
        return refs >>> 32 == 0 || state == BoState.FREED;
    }

    /** retain(): a lifetime reference the caller gives back with {@link #releaseUser()}. */
    public void retainUser() {
        Extras x = extras();
        retainLifetime();
        Extras.USER_REFS.getAndAdd(x, 1);
    }

    /**
     * A lifetime reference held by the library itself (a GPU VM binding, an access in flight);
     * dropped by {@link #dropLifetime}. Lock-free.
     *
     * @throws IllegalStateException if the object is freed or dying
     */
    public void retainLifetime() {
        for (long r = refs; ; ) {
            if (r >>> 32 == 0 || state == BoState.FREED) {
                throw freed();
            }
            long w = (long) REFS.compareAndExchange(this, r, r + LIFETIME);
            if (w == r) {
                return;
            }
            r = w;
        }
    }

    /** release(): gives back a reference from retain or lookup; frees the object at zero. */
    public void releaseUser() {
        Extras x = extras;
        for (int u = x == null ? 0 : x.userRefs; ; ) {
            if (isDying()) {
                throw freed();
            }
            if (u <= 0) {
                throw new IllegalStateException("release() without a matching retain() or lookup()");
            }
            int w = (int) Extras.USER_REFS.compareAndExchange(x, u, u - 1);
            if (w == u) {
                break;
            }
            u = w;
        }
        dropLifetime();
    }

    /** Closes the handle and drops its reference; idempotent (never drops twice). */
    public void closeHandle() {
        int h = handleWord;
        if (h > 0 && HANDLE.compareAndSet(this, h, h | HANDLE_CLOSED)) {
            file.forgetHandle(this);
            dropLifetime();
        }
    }

    /** @return whether the handle is still open */
    public boolean isHandleOpen() {
        return handleWord > 0;
    }

    /** Drops a reference of {@link #retainLifetime()}; the last one frees the object (no lock). */
    public void dropLifetime() {
        long r = (long) REFS.getAndAdd(this, -LIFETIME) - LIFETIME;
        if (r == 0) {
            free();
        } else if (r >>> 32 == 0) {
            dying();
        }
    }

    /** A transient reference (kref_get_unless_zero); false once no lifetime reference is left. */
    boolean tryGet() {
        for (long r = refs; ; ) {
            if (r >>> 32 == 0 || state == BoState.FREED) {
                return false;
            }
            long w = (long) REFS.compareAndExchange(this, r, r + 1);
            if (w == r) {
                return true;
            }
            r = w;
        }
    }

    /** Drops a transient reference; the last one of a dying object frees it. */
    void put() {
        long r = (long) REFS.getAndAdd(this, -1L) - 1L;
        assert (r & TRANSIENT_MASK) != TRANSIENT_MASK : "transient reference underflow";
        if (r == 0) {
            free();
        }
    }

    /**
     * The last lifetime reference went while operations (or the shrinker) still hold transient
     * ones: what the user can see of the object goes now (its view), and operations waiting for
     * the reservation give up. No lock; may race with those operations.
     */
    private void dying() {
        teardownMapping();
        resv.wakeWaiters();
    }

    /** The last reference is gone: release everything. Takes no reservation lock (seed 000). */
    private void free() {
        Gate gate = dev().gate();
        if (!gate.enter()) {
            return; // the manager is closing: its teardown releases every object
        }
        try {
            release(false);
        } finally {
            gate.exit();
        }
    }

    IllegalStateException freed() {
        return new IllegalStateException("buffer object " + handle() + " (" + file.name() + ") is freed");
    }

    /** @throws IllegalStateException if the object is freed or dying, or the manager closed (no lock) */
    public void checkAlive() {
        if (isDying()) {
            throw freed();
        }
        dev().checkOpen();
    }

    // ---- the operation template ------------------------------------------------------------

    /**
     * Starts a slow-path operation: a transient reference, the reservation (unless this thread
     * holds it) and the device gate.
     *
     * @return whether the reservation was locked here (to unlock in {@link #end(boolean)})
     * @throws IllegalStateException if the object is freed or dying, or the manager closed
     */
    boolean begin() {
        if (!tryGet()) {
            throw freed();
        }
        boolean locked = false;
        try {
            Gate gate = dev().gate();
            if (!resv.isHeldByCurrentThread()) {
                if (!resv.tryLock() && !resv.lockUnless(() -> isDying() || gate.isClosed())) { // lambda only when contended
                    throw isDying() ? freed() : GemDevice.closedException();
                }
                locked = true;
            }
            if (isDying()) {
                throw freed();
            }
            if (!gate.enter()) {
                throw GemDevice.closedException();
            }
        } catch (RuntimeException | Error e) {
            if (locked) {
                resv.unlock();
            }
            put();
            throw e;
        }
        return locked;
    }

    void end(boolean locked) {
        try {
            syncLruLocked();
        } finally {
            dev().gate().exit();
            if (locked) {
                resv.unlock();
            }
            put();
        }
    }

    /** Runs a slow-path step in the operation template (see {@link #begin()}). */
    void locked(Consumer<GemObject> step) {
        boolean locked = begin();
        try {
            step.accept(this);
        } finally {
            end(locked);
        }
    }

    /**
     * Runs a step of a layer above (a GPU VM) in the operation template: with a transient
     * reference, the reservation (unless this thread holds it) and inside the device gate.
     *
     * @throws IllegalStateException if the object is freed or dying, or the manager closed
     */
    public <R> R withLock(Function<GemObject, R> step) {
        return lockedCall(step);
    }

    /** {@link #locked(Consumer)} for a step with a result. */
    <R> R lockedCall(Function<GemObject, R> step) {
        boolean locked = begin();
        try {
            return step.apply(this);
        } finally {
            end(locked);
        }
    }

    void assertLocked() {
        assert resv.isHeldByCurrentThread() : "reservation not held";
    }

    // ---- state -----------------------------------------------------------------------------

    BoState state() {
        return state;
    }

    /** @return the page table (a snapshot without the reservation), null without backing */
    PageTable table() {
        return table;
    }

    /**
     * The one writer of state and page table. Checks the transition against {@link BoState}'s
     * table and the table against the state, installs both and marks the LRU placement stale
     * (the operation moves the object once, at its end). Reservation held, or the object
     * unreachable (free path, manager teardown).
     *
     * @throws IllegalStateException on a transition the table forbids (a bug: nothing changes)
     */
    void transition(BoState to, PageTable t) {
        BoState from = state;
        if (!from.canBecome(to)) {
            throw new IllegalStateException("buffer object " + handle() + ": illegal transition " + from + " -> " + to);
        }
        if (to.hasTable() != (t != null) || (t != null && t.pages() != pages)) {
            throw new IllegalStateException("buffer object " + handle() + ": " + to + " with page table " + t);
        }
        table = t;
        state = to;
        lruDirty = true;
    }

    public Residency residency() {
        ImportedPages imp = imp();
        if (imp != null && state != BoState.FREED) {
            try {
                return imp.residency();
            } catch (IllegalStateException exporterGone) {
                return Residency.UNPOPULATED;
            }
        }
        return state.residency();
    }

    // ---- sharing ---------------------------------------------------------------------------

    /** @return whether this object was imported from another manager */
    public boolean isImported() {
        return imp() != null;
    }

    /** @return the exporter's side of an import, or null */
    public ImportedPages imported() {
        return imp();
    }

    /** @return shared: exported, imported, or with handles in more than one client */
    public boolean isShared() {
        Extras x = extras;
        return x != null && (x.exports > 0 || x.imported != null || x.extraHandles > 0);
    }

    /** Counts DmaBufs of this object made (+1) and gone (-1); under the dma-buf layer's lock. */
    public void exportsChanged(int delta) {
        extras().exports += delta;
    }

    /** @return the dma-buf layer's open export of this object, or null; under that layer's lock */
    public Object openExport() {
        Extras x = extras;
        return x == null ? null : x.openExport;
    }

    /** Sets the dma-buf layer's open export of this object; under that layer's lock. */
    public void openExport(Object e) {
        extras().openExport = e;
    }

    /** @return whether a DmaBuf of this object is alive */
    public boolean isExported() {
        Extras x = extras;
        return x != null && x.exports > 0;
    }

    /** Counts a handle of another client (same-manager import); called under that client's monitor. */
    void extraHandle(int delta) {
        extras().extraHandles += delta;
    }

    /** @return backed pages (frames when resident, slots when evicted); a snapshot */
    public int backedPages() {
        PageTable t = table;
        return t == null || !state.hasTable() ? 0 : t.backed();
    }

    public boolean isResident() {
        return state == BoState.RESIDENT;
    }

    public boolean isEvicted() {
        return state == BoState.EVICTED;
    }

    public boolean isFreed() {
        return state == BoState.FREED;
    }

    /** @return resident with every page backed (what a page use, pin or vmap needs) */
    boolean isFullyResident() {
        PageTable t = table;
        return state == BoState.RESIDENT && t != null && t.backed() == pages;
    }

    public boolean isDontNeed() {
        return dontNeed;
    }

    void checkContentLocked() {
        assertLocked();
        if (state == BoState.PURGED) {
            throw new PurgedException("buffer object " + handle() + " was purged: its content is gone");
        }
        if (state == BoState.FREED) {
            throw freed();
        }
    }

    /** Marks the LRU placement stale after a count transition (reservation held). */
    void lruChanged() {
        lruDirty = true;
    }

    /** Moves the object on the reclaim lists once if a transition made its placement stale. Reservation held. */
    void syncLruLocked() {
        if (!lruDirty) {
            return;
        }
        lruDirty = false;
        BoState st = state;
        byte cls;
        if (st == BoState.FREED) {
            cls = Lru.NONE;
        } else if (pinCount > 0 || imp() != null || st == BoState.UNPOPULATED || st == BoState.PURGED) {
            cls = Lru.UNEVICTABLE;
        } else if (dontNeed) {
            cls = Lru.PURGEABLE; // resident or evicted: purging frees frames or slots
        } else {
            cls = st == BoState.RESIDENT ? Lru.RESIDENT : Lru.EVICTED;
        }
        int backed = backedPages();
        dev().lru().place(this, cls, useCount > 0, st == BoState.RESIDENT ? backed : 0, st == BoState.EVICTED ? backed : 0);
    }

    /**
     * Records a use for reclaim: sets the accessed bit, and under ARC offers the first use since
     * the object last moved as a hit. Any thread, no lock, allocation-free.
     */
    public void touch() {
        if (markAccessed() && isOnReclaimList()) {
            dev().lru().offer(this);
        }
    }

    // ---- counts ----------------------------------------------------------------------------

    public int pagesUseCount() {
        return Math.max(0, useCount + cells(useStripes));
    }

    public int pinCount() {
        return Math.max(0, pinCount + cells(pinStripes));
    }

    private static int cells(Stripes s) {
        return s == null ? 0 : s.sum();
    }

    /**
     * Spreads a contended count over cells ({@link Stripes}): called by a thread that lost a
     * compare-and-set on the count's field and then took a hold there, so the field is above zero.
     * Only if the reservation is free (or the caller's): cells open and close under it. Lock-free
     * callers only; never blocks.
     */
    void stripe(VarHandle count, VarHandle stripes) {
        boolean mine = resv.isHeldByCurrentThread();
        if (!mine && !resv.tryLock()) {
            return; // busy: the next lost race tries again
        }
        try {
            if (stripes.getVolatile(this) == null && (int) count.getVolatile(this) > 0) {
                stripes.setVolatile(this, new Stripes());
                if ((int) count.getVolatile(this) <= 0) {
                    foldStripes(count, stripes); // freed meanwhile (release takes no lock)
                }
            }
        } finally {
            if (!mine) {
                resv.unlock();
            }
        }
    }

    /**
     * Closes a count's cells and adds their holds to its field, so that the field is the exact
     * count. Reservation held, or the object unreachable (release).
     *
     * @return the holds the cells had
     */
    private int foldStripes(VarHandle count, VarHandle stripes) {
        Stripes s = (Stripes) stripes.getAndSet(this, (Stripes) null);
        if (s == null) {
            return 0;
        }
        int n = s.close();
        if (n > 0) {
            count.getAndAdd(this, n);
        }
        return n;
    }

    // The lock-free moves of the two counts that may be striped: in the calling thread's cell when
    // the count has cells, else on the field (Counts); a race lost on the field stripes the count.
    // One method per count, so that the VarHandles are constants where they are used.

    private boolean takeUse() {
        Stripes s = useStripes;
        if (s != null) {
            if (!isFullyResident()) {
                return false;
            }
            if (s.take()) {
                return true;
            }
        }
        int r = Counts.incNotZero(USE, this, true);
        if (r == Counts.CONTENDED && s == null) {
            stripe(USE, USE_STRIPES);
        }
        return r != Counts.FAILED;
    }

    private boolean dropUse() {
        Stripes s = useStripes;
        if (s != null && s.drop(false)) {
            return true;
        }
        return Counts.decNotOne(USE, this) || s != null && s.drop(true);
    }

    private boolean takePin() {
        Stripes s = pinStripes;
        if (s != null && s.take()) {
            return true;
        }
        int r = Counts.incNotZero(PIN, this, false);
        if (r == Counts.CONTENDED && s == null) {
            stripe(PIN, PIN_STRIPES);
        }
        return r != Counts.FAILED;
    }

    private boolean dropPin() {
        Stripes s = pinStripes;
        if (s != null && s.drop(false)) {
            return true;
        }
        return Counts.decNotOne(PIN, this) || s != null && s.drop(true);
    }

    /** @return whether a count has open cells (tests) */
    boolean isStriped(boolean pins) {
        Stripes s = pins ? pinStripes : useStripes;
        return s != null && !s.isClosed();
    }

    public int vmapCount() {
        return Math.max(0, vmapCount);
    }

    /** Takes a weak page use; populates or swaps in. Lock-free when used, resident and backed. */
    public void getPages() {
        if (takeUse()) {
            touch();
            took(LeakSites.Use.PAGE_USE, false);
            return;
        }
        locked(GemObject::getPagesLocked);
        took(LeakSites.Use.PAGE_USE, true);
    }

    /** Drops a weak page use; content stays. Lock-free while the count stays above zero. */
    public void putPages() {
        if (dropUse()) {
            return;
        }
        locked(o -> o.putPagesLocked(false));
    }

    void getPagesLocked() {
        checkContentLocked();
        touch();
        if (imp() != null) {
            imp().getPages(); // every use: an eviction may have unmapped the attachment (no-op when mapped)
        } else if (useCount == 0 || !isFullyResident()) {
            Backing.ensureResidentLocked(this, 0, pages);
        }
        if ((int) USE.getAndAdd(this, 1) == 0 && !dev().lru().isArc()) {
            lruDirty = true; // LRU's lists tell used objects from unused ones; ARC's do not
        }
    }

    /** @param forPins drop the use held by the pins (unpin to zero) rather than a user's */
    private void putPagesLocked(boolean forPins) {
        assertLocked();
        if (state == BoState.FREED) {
            throw freed();
        }
        if (useStripes != null) {
            foldStripes(USE, USE_STRIPES); // the exact count: this may be a transition, or unbalanced
        }
        int floor = forPins ? 0 : (pinCount > 0 ? 1 : 0); // the use all pins hold is not the user's
        int was = Counts.decAbove(USE, this, floor);
        if (was <= floor) {
            throw new IllegalStateException("putPages() without a matching getPages()");
        }
        if (was == 1) {
            lruDirty |= !dev().lru().isArc(); // as in getPagesLocked
            if (imp() != null) {
                imp().putPages();
            }
        }
    }

    /** Takes a hard pin; populates or swaps in. Lock-free when already pinned. */
    public void pin() {
        if (takePin()) {
            touch();
            took(LeakSites.Use.PIN, false);
            return;
        }
        locked(GemObject::pinLocked);
        took(LeakSites.Use.PIN, true);
    }

    /** Drops a pin. Lock-free while the count stays above zero. */
    public void unpin() {
        if (dropPin()) {
            return;
        }
        locked(GemObject::unpinLocked);
    }

    void pinLocked() {
        checkContentLocked();
        if (dontNeed) {
            throw new IllegalStateException("pin of a DONTNEED object: a pinned object may not be purgeable");
        }
        if (imp() != null) { // an import pins its exporter: check it before anything moves
            GemObject exporter = imp().exporter();
            exporter.checkContentLocked(); // the import shares its reservation
            if (exporter.dontNeed) {
                throw new IllegalStateException(
                        "pin of an import whose exporter is DONTNEED: a pinned object may not be purgeable");
            }
        }
        touch();
        if (pinCount == 0) {
            getPagesLocked(); // the one use all pins hold together
            if (imp() != null) {
                try {
                    imp().pin();
                } catch (RuntimeException | Error e) {
                    putPagesLocked(true);
                    throw e;
                }
            } else {
                dev().pinnedFrames(pages);
            }
            PIN.getAndAdd(this, 1);
            lruDirty = true;
        } else {
            PIN.getAndAdd(this, 1);
        }
    }

    void unpinLocked() {
        assertLocked();
        if (state == BoState.FREED) {
            throw freed();
        }
        if (pinStripes != null) {
            foldStripes(PIN, PIN_STRIPES);
        }
        int floor = vmapCount > 0 ? 1 : 0; // the pin all vmaps hold is not the caller's
        int was = Counts.decAbove(PIN, this, floor);
        if (was <= floor) {
            throw new IllegalStateException(vmapCount > 0
                    ? "unpin() of the pin the open vmaps hold: close the vmaps instead"
                    : "unpin() without a matching pin()");
        }
        if (was == 1) {
            if (imp() != null) {
                imp().unpin();
            } else {
                dev().pinnedFrames(-pages);
            }
            putPagesLocked(true);
            lruDirty = true;
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
        if (imp() == null && Counts.incNotZero(VMAP, this, false) != Counts.FAILED) {
            // read after the increment: the mapping cannot change while the count stays above
            // zero, except that dying() tears it down
            Vmapping m = mapping;
            if (m == null) {
                vunmap(); // undo, through the slow path if it was the last
                throw freed();
            }
            touch();
            took(LeakSites.Use.VMAP, false);
            return m.segment();
        }
        MemorySegment s = lockedCall(Vmaps::vmapLocked);
        took(LeakSites.Use.VMAP, true);
        return s;
    }

    /** Closes one vmap; the last one drops the vmaps' pin (the mapping stays cached). */
    public void vunmap() {
        if (imp() == null && Counts.decNotOne(VMAP, this)) {
            return;
        }
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

    Vmapping mapping() {
        return mapping;
    }

    /** Installs a new mapping (reservation held, none installed). */
    void setMappingLocked(Vmapping m) {
        assertLocked();
        if (!MAPPING.compareAndSet(this, (Vmapping) null, m)) {
            throw new IllegalStateException("buffer object " + handle() + " is already mapped");
        }
    }

    /**
     * Tears the cached mapping down (never fails). Reservation held, or dying, or unreachable:
     * racing callers are fine, only one gets the mapping.
     */
    void teardownMapping() {
        if (mapping == null) {
            return; // installed only under the reservation (or by nobody, once freed)
        }
        Vmapping m = (Vmapping) MAPPING.getAndSet(this, (Vmapping) null);
        if (m != null) {
            m.unmap();
        }
    }

    /** Tears the cached mapping down without ever unmapping its range ({@link Vmapping#abandon}). Unreachable object. */
    private void abandonMapping() {
        Vmapping m = (Vmapping) MAPPING.getAndSet(this, (Vmapping) null);
        if (m != null) {
            m.abandon();
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

    /**
     * Tears the cached mapping down if no vmap and no attachment uses it, so that views of it die
     * (the leaked view of a freed import). Reservation held (asserted).
     */
    public void dropIdleMappingLocked() {
        assertLocked();
        if (vmapCount == 0 && attachMaps() == 0) {
            teardownMapping();
        }
    }

    /** @return the mapped dma-buf attachments using the mapping (reservation held) */
    int attachMapsLocked() {
        return attachMaps();
    }

    private int attachMaps() {
        Extras x = extras;
        return x == null ? 0 : x.attachMaps;
    }

    /**
     * A dma-buf attachment maps the object: a static one pins it, a dynamic one takes a page use;
     * either way the object is made resident and mapped. Reservation held (asserted).
     *
     * @return the segment of the object's mapping, shared with its vmaps
     * @throws PurgedException if the object was purged
     * @throws IllegalStateException if a static map is asked of a DONTNEED object
     */
    public MemorySegment attachMapLocked(boolean pin) {
        checkContentLocked();
        if (pin) {
            pinLocked();
        } else {
            getPagesLocked();
        }
        try {
            Vmaps.ensureMappedLocked(this);
        } catch (RuntimeException | Error e) {
            if (pin) {
                unpinLocked();
            } else {
                putPagesLocked(false);
            }
            throw e;
        }
        extras().attachMaps++;
        return mapping.segment();
    }

    /** Undoes {@link #attachMapLocked}: drops the pin or the page use. Reservation held (asserted). */
    public void attachUnmapLocked(boolean pin) {
        assertLocked();
        if (attachMaps() <= 0) {
            throw new IllegalStateException("attachment unmap without a map");
        }
        extras.attachMaps--;
        if (state == BoState.FREED) {
            return;
        }
        if (pin) {
            unpinLocked();
        } else {
            putPagesLocked(false);
        }
        Vmaps.idleIfUnusedLocked(this);
    }

    int incVmapLocked() {
        assertLocked();
        return (int) VMAP.getAndAdd(this, 1);
    }

    /** @return the count before, or &lt;= 0 when there was nothing to drop */
    int decVmapLocked() {
        assertLocked();
        return Counts.decAbove(VMAP, this, 0);
    }

    // ---- read / write / madvise ------------------------------------------------------------

    /** Copies object bytes [offset, offset + dst.byteSize()) into dst; holes read as zero. */
    public void read(long offset, MemorySegment dst) {
        if (dst.byteSize() == 0) {
            checkAlive();
            return;
        }
        Backing.checkUserSegment(dst, "destination");
        if (imp() != null) {
            locked(o -> o.imp().read(offset, dst));
            return;
        }
        locked(o -> Backing.readLocked(o, offset, dst));
    }

    /** Copies src into object bytes [offset, offset + src.byteSize()); all or nothing. */
    public void write(long offset, MemorySegment src) {
        if (src.byteSize() == 0) {
            checkAlive();
            return;
        }
        Backing.checkUserSegment(src, "source");
        if (imp() != null) {
            locked(o -> o.imp().write(offset, src));
            return;
        }
        locked(o -> Backing.writeLocked(o, offset, src));
    }

    /**
     * Makes an evicted object resident again (a GPU VM's validate); does nothing to a resident or
     * unpopulated one.
     *
     * @throws PurgedException if it was purged
     */
    public void swapIn() {
        if (imp() != null) {
            imp().exporter().swapIn();
            return;
        }
        locked(o -> {
            o.checkContentLocked();
            if (o.state == BoState.EVICTED) {
                Backing.ensureResidentLocked(o, 0, 0);
            }
        });
    }

    /** @return retained: false once purged (and nothing changes) */
    public boolean madvise(Madvise advice) {
        return lockedCall(o -> o.madviseLocked(advice));
    }

    private boolean madviseLocked(Madvise advice) {
        assertLocked();
        if (imp() != null) {
            return imp().madvise(advice);
        }
        if (state == BoState.PURGED) {
            return false;
        }
        boolean dn = advice == Madvise.DONTNEED;
        if (dn && pinCount > 0) {
            throw new IllegalStateException("madvise(DONTNEED) on a pinned object");
        }
        if (dontNeed != dn) {
            dontNeed = dn;
            lruDirty = true;
        }
        return true;
    }

    // ---- reclaim (the shrinker's narrow interface) -----------------------------------------

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
        if (resv.isBusy()) {
            return SKIP_BUSY;
        }
        try {
            return mode == PURGE ? Backing.purgeLocked(this) : Backing.evictLocked(this);
        } finally {
            syncLruLocked();
        }
    }

    @Override
    protected boolean reclaimAwaitIdle(long nanos) {
        return resv.awaitIdle(dev.memmgr.internal.resv.Usage.BOOKKEEP, java.time.Duration.ofNanos(nanos));
    }

    /**
     * @return whether the shrinker may take the frames now (reservation held): alive, not pinned
     *     or vmapped, not busy, in the state and madvise the mode needs; checked again after the
     *     eviction listeners ran, since they may call back into the object
     */
    boolean reclaimableLocked(int mode) {
        assertLocked();
        if (isDying() || pinCount != 0 || vmapCount != 0 || resv.isBusy() || dev().gate().isClosed()) {
            return false;
        }
        BoState st = state;
        if (mode == PURGE) {
            return dontNeed && (st == BoState.RESIDENT || st == BoState.EVICTED);
        }
        return !dontNeed && st == BoState.RESIDENT;
    }

    // ---- free ------------------------------------------------------------------------------

    /**
     * Puts a new object on the LRU (its creator, right after publishing its handle; an operation
     * through the handle may have placed it already). Inside the device gate.
     */
    void register() {
        if (state != BoState.FREED) {
            dev().lru().addIfAbsent(this, Lru.UNEVICTABLE, 0);
        }
    }

    /**
     * Releases the object: counts to the sentinel, off the LRU, mapping torn down, frames and
     * slots freed (unless the whole manager is closing, when the memfd and swap file go as a
     * whole), waiters woken. Runs once; takes no lock: nobody else can reach the object (no
     * references left, or the manager's gate closed with nobody inside).
     */
    void release(boolean closing) {
        BoState st = state;
        if (st == BoState.FREED) {
            return;
        }
        PageTable t = table;
        transition(BoState.FREED, null);
        lruDirty = false;
        // the sentinel first, then the cells: a stripe() racing this sees the one or closes its own
        int pins = (int) PIN.getAndSet(this, DEAD);
        if (pinStripes != null) {
            pins += foldStripes(PIN, PIN_STRIPES);
        }
        int vmaps = (int) VMAP.getAndSet(this, DEAD);
        int uses = (int) USE.getAndSet(this, DEAD);
        if (useStripes != null) {
            uses += foldStripes(USE, USE_STRIPES);
        }
        if (!closing && (pins > 0 || vmaps > 0 || uses > 0)) {
            String msg = describe() + " freed with " + pins + " pins, " + vmaps + " vmaps and " + uses
                    + " page uses outstanding (leaked); open vmaps are invalidated";
            if (sites() == null) {
                LOG.log(System.Logger.Level.WARNING, msg);
            } else {
                LOG.log(System.Logger.Level.WARNING, msg + "; where it was created and the counts were taken:",
                        sites().leakedUses(Math.max(0, pins), Math.max(0, vmaps), Math.max(0, uses)));
            }
        }
        GemDevice dev = dev();
        dev.lru().remove(this);
        if (closing && attachMaps() > 0) {
            abandonMapping(); // importers (a driver) hold its addresses: never unmap them under them
        } else {
            teardownMapping();
        }
        if (pins > 0 && imp() == null) {
            dev.pinnedFrames(-pages);
        }
        if (!closing && t != null) {
            Backing.freeUnits(dev, st, t);
        }
        dev.removeListeners(this);
        resv.wakeWaiters();
        if (imp() != null) {
            file.forgetImport(this);
            imp().released(); // never blocks: it defers what needs the exporter's lock
        }
    }

    /** What BufferObject.toString() shows: public names and units only. */
    @Override
    public String toString() {
        String l = label();
        return "BufferObject[handle " + handle() + " of client '" + file.name() + "'" + (l.isEmpty() ? "" : ", label '" + l + "'")
                + ", " + Units.bytes(size()) + ", " + (isFreed() ? "freed" : residency().toString())
                + ", refs " + refCount() + ", page uses " + pagesUseCount() + ", pins " + pinCount()
                + ", vmaps " + vmapCount() + (dontNeed ? ", DONTNEED" : "") + "]";
    }
}
