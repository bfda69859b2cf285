package dev.memmgr.internal.mem;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.BooleanSupplier;

/**
 * The process's budget of memory-mapping areas for views, so that views never run the process
 * into {@code vm.max_map_count} (where the JVM's own next mmap fails and it dies).
 *
 * <p>Accounting: a {@link Vmapping} holds one area per extent from {@link Vmapping#map} to its
 * teardown; a torn-down range whose arena close is deferred (see {@link Teardown}) holds one
 * until it closes. {@code map} reserves its areas before the first mmap. When the budget is
 * short it first retries deferred closes, then releases idle mappings, least recently idled
 * first: the owner of a mapping marks it idle when its views are closed and it stays cached
 * ({@link #markIdle}, with a {@code tryRelease} callback that tears it down and returns true,
 * or returns false when it cannot now, e.g. the owner's lock is busy) and in use again when it
 * is reused ({@link #markInUse}). A callback that fails leaves its mapping idle, moved to the
 * most recent end; each idle mapping is tried at most once per reservation. When the areas still
 * do not fit, or cannot fit even if every idle mapping went, the reservation throws
 * {@link MapBudgetExceededException} and nothing is mapped.
 *
 * <p>The limit: half of {@code /proc/sys/vm/max_map_count} (read once; 65530 when unreadable),
 * the other half being left to the JVM and the rest of the process; the system property
 * {@code dev.memmgr.mapBudget} (a positive number of areas) overrides it; {@link #setLimit}
 * changes it at run time (tests).
 *
 * <p>Locking: one monitor, a leaf: nothing is called while it is held, in particular the
 * {@code tryRelease} callbacks run outside it (they take the owner's locks and unmap, which
 * comes back here). The idle list is intrusive (links in the Vmapping), so reserving, releasing
 * and marking allocate nothing; only a reservation that must evict calls out. Thread-safe.
 */
public final class MapBudget {
    /** The system property that overrides the default limit. */
    public static final String PROPERTY = "dev.memmgr.mapBudget";
    /** vm.max_map_count's default, used when /proc cannot be read. */
    static final int DEFAULT_MAX_MAP_COUNT = 65530;

    private static volatile MapBudget global;

    // states of a Vmapping towards its budget (Vmapping.budgetState), guarded by the lock
    static final int IN_USE = 0;
    static final int IDLE = 1;
    static final int RELEASING = 2;
    static final int GONE = 3;

    private final Object lock = new Object();
    private int limit;
    private int used;
    private int idleAreas;
    private int idleMappings;
    private int deferredAreas;
    /** The idle list: head is the least recently idled. */
    private Vmapping head;
    private Vmapping tail;

    /**
     * A budget of its own (tests); views use {@link #global()}.
     *
     * @param limit areas, &gt;= 1
     */
    public MapBudget(int limit) {
        this.limit = checkLimit(limit);
    }

    /**
     * @return the process's budget, created on first use
     * @throws IllegalArgumentException when the system property {@value #PROPERTY} is not a positive number
     */
    public static MapBudget global() {
        MapBudget b = global;
        if (b == null) {
            synchronized (MapBudget.class) {
                b = global;
                if (b == null) {
                    b = new MapBudget(defaultLimit(System.getProperty(PROPERTY), readMaxMapCount()));
                    global = b;
                }
            }
        }
        return b;
    }

    /**
     * @return the contents of /proc/sys/vm/max_map_count, or null when it cannot be read. One
     *     read(2) of a buffer large enough: a sysctl answers a read at a non-zero offset with
     *     end of file, so reading it piecemeal would see only its first bytes.
     */
    static String readMaxMapCount() {
        try (InputStream in = Files.newInputStream(Path.of("/proc/sys/vm/max_map_count"))) {
            return new String(in.readNBytes(64), StandardCharsets.US_ASCII);
        } catch (IOException | SecurityException e) {
            return null;
        }
    }

    /**
     * The default limit.
     *
     * @param property the value of {@value #PROPERTY}, or null
     * @param maxMapCount the text of /proc/sys/vm/max_map_count, or null when unreadable
     * @return the property when set, else half of max_map_count (of 65530 when unknown)
     * @throws IllegalArgumentException when the property is set but not a positive int
     */
    static int defaultLimit(String property, String maxMapCount) {
        if (property != null) {
            try {
                return checkLimit(Integer.parseInt(property.trim()));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("system property " + PROPERTY + " must be a positive number of"
                        + " memory-mapping areas: \"" + property + "\"", e);
            }
        }
        int max = DEFAULT_MAX_MAP_COUNT;
        if (maxMapCount != null) {
            try {
                max = Integer.parseInt(maxMapCount.trim());
            } catch (NumberFormatException e) {
                max = DEFAULT_MAX_MAP_COUNT;
            }
        }
        return Math.max(1, max / 2);
    }

    private static int checkLimit(int limit) {
        if (limit <= 0) {
            throw new IllegalArgumentException("the map budget must be positive: " + limit);
        }
        return limit;
    }

    /** @return the limit, in areas */
    public int limit() {
        synchronized (lock) {
            return limit;
        }
    }

    /**
     * Changes the limit. Areas held beyond a lowered limit stay until released; reservations
     * evict idle mappings or fail until the use is under the limit.
     */
    public void setLimit(int limit) {
        checkLimit(limit);
        synchronized (lock) {
            this.limit = limit;
        }
    }

    /** @return the areas held: by open views, idle cached mappings and deferred closes */
    public int used() {
        synchronized (lock) {
            return used;
        }
    }

    /** @return the areas held by idle cached mappings */
    public int idleAreas() {
        synchronized (lock) {
            return idleAreas;
        }
    }

    /** @return the number of idle cached mappings */
    public int idleMappings() {
        synchronized (lock) {
            return idleMappings;
        }
    }

    /** @return the areas held by torn-down ranges waiting for their deferred close */
    public int deferredAreas() {
        synchronized (lock) {
            return deferredAreas;
        }
    }

    /** @return the areas held by mappings in use (not idle, not torn down) */
    public int heldByOpenViews() {
        synchronized (lock) {
            return used - idleAreas - deferredAreas;
        }
    }

    // ---- reservations (Vmapping) -------------------------------------------------------------

    /**
     * Reserves {@code areas}, releasing idle mappings when short (see the class comment). Called
     * with no lock of this class held; the callbacks may take the caller's other locks.
     *
     * @throws MapBudgetExceededException when the areas do not fit; nothing is reserved
     */
    void reserve(int areas) {
        if (areas <= 0) {
            throw new IllegalArgumentException("areas must be positive: " + areas);
        }
        synchronized (lock) {
            if (used + areas <= limit) {
                used += areas;
                return;
            }
        }
        if (Teardown.deferred() > 0) {
            Teardown.retryDeferred();
        }
        int tries;
        synchronized (lock) {
            tries = idleMappings;
        }
        while (true) {
            Vmapping victim;
            BooleanSupplier release;
            synchronized (lock) {
                if (used + areas <= limit) {
                    used += areas;
                    return;
                }
                if (head == null || tries-- <= 0 || areas > limit - (used - idleAreas)) {
                    throw exceededLocked(areas);
                }
                victim = head;
                release = victim.tryRelease; // read under the lock: markInUse and teardown clear it
                unlinkLocked(victim);
                victim.budgetState = RELEASING;
            }
            boolean released = false;
            try {
                released = release.getAsBoolean();
            } finally {
                if (!released) {
                    synchronized (lock) {
                        if (victim.budgetState == RELEASING) { // nobody reused or tore it down meanwhile
                            victim.budgetState = IDLE;
                            linkLocked(victim);
                        }
                    }
                }
            }
        }
    }

    private MapBudgetExceededException exceededLocked(int areas) {
        return new MapBudgetExceededException("a view needs " + areas + " memory-mapping areas but the map budget of "
                + limit + " areas (half of vm.max_map_count, or system property " + PROPERTY + ") has "
                + Math.max(0, limit - used) + " left: " + (used - idleAreas - deferredAreas) + " held by open views, "
                + idleAreas + " by idle cached views that could not be released, " + deferredAreas
                + " by closed views waiting for another thread's I/O", areas);
    }

    /** Gives back areas reserved by {@link #reserve}. */
    void release(int areas) {
        synchronized (lock) {
            used -= areas;
            assert used >= 0 : "map budget released more than reserved: " + used;
        }
    }

    /**
     * The mapping is being torn down (once): takes it off the idle list and releases its areas
     * but one, which the replaced range holds until {@link #deferredClosed()} (at once when its
     * arena closes at once).
     */
    void tornDown(Vmapping m) {
        synchronized (lock) {
            if (m.budgetState == IDLE) {
                unlinkLocked(m);
            }
            m.budgetState = GONE;
            m.tryRelease = null;
            used -= m.areas() - 1;
            deferredAreas++;
        }
    }

    /** A torn-down range's arena is closed (its range unmapped): its last area is released. */
    void deferredClosed() {
        synchronized (lock) {
            deferredAreas--;
            used--;
        }
    }

    // ---- idle list ---------------------------------------------------------------------------

    /**
     * Marks a mapping idle (its views are closed; it stays cached) or, when already idle, most
     * recently idle, with the callback that releases it. No-op once it is torn down.
     *
     * @param tryRelease tears the mapping down (its owner's locks taken with try-lock) and
     *     returns true, or returns false when it cannot now; called with no lock of this class held
     */
    void markIdle(Vmapping m, BooleanSupplier tryRelease) {
        synchronized (lock) {
            if (m.budgetState == GONE) {
                return;
            }
            m.tryRelease = tryRelease;
            if (m.budgetState == IDLE) {
                unlinkLocked(m);
            }
            m.budgetState = IDLE;
            linkLocked(m);
        }
    }

    /** Marks a mapping in use again (a view of it is open). No-op once torn down. */
    void markInUse(Vmapping m) {
        synchronized (lock) {
            if (m.budgetState == IDLE) {
                unlinkLocked(m);
            }
            if (m.budgetState != GONE) {
                m.budgetState = IN_USE;
                m.tryRelease = null;
            }
        }
    }

    /** Appends m at the most recent end; counts it idle. */
    private void linkLocked(Vmapping m) {
        m.lruPrev = tail;
        m.lruNext = null;
        if (tail == null) {
            head = m;
        } else {
            tail.lruNext = m;
        }
        tail = m;
        idleMappings++;
        idleAreas += m.areas();
    }

    /** Takes m off the idle list; it no longer counts as idle. */
    private void unlinkLocked(Vmapping m) {
        if (m.lruPrev == null) {
            head = m.lruNext;
        } else {
            m.lruPrev.lruNext = m.lruNext;
        }
        if (m.lruNext == null) {
            tail = m.lruPrev;
        } else {
            m.lruNext.lruPrev = m.lruPrev;
        }
        m.lruPrev = null;
        m.lruNext = null;
        idleMappings--;
        idleAreas -= m.areas();
    }
}
