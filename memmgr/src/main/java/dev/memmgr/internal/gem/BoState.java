package dev.memmgr.internal.gem;

import dev.memmgr.Residency;

/**
 * The states of a buffer object's backing and the legal transitions between them (DESIGN.md
 * section 2). {@link GemObject#transition} is the only place that changes an object's state, and
 * it refuses anything this table does not allow:
 *
 * <pre>
 * from \ to     UNPOPULATED  RESIDENT  EVICTED  PURGED  FREED
 * UNPOPULATED        -          yes       -        -      yes    first write, getPages, pin, vmap
 * RESIDENT           -          yes      yes      yes     yes    (to itself: more pages, compaction)
 * EVICTED            -          yes       -       yes     yes    swap-in, purge
 * PURGED             -           -        -        -      yes    free only
 * FREED              -           -        -        -       -
 * </pre>
 */
enum BoState {
    /** No frames, no slots: reads are zeros. */
    UNPOPULATED,
    /** Content in frames (pages never written may still be holes). */
    RESIDENT,
    /** Content in swap slots, no frames. */
    EVICTED,
    /** Content gone for good (DONTNEED, then reclaimed). */
    PURGED,
    /** Released: no backing, no LRU list; only the counters still answer. */
    FREED;

    private static final boolean[][] LEGAL = new boolean[5][5];

    static {
        allow(UNPOPULATED, RESIDENT, FREED);
        allow(RESIDENT, RESIDENT, EVICTED, PURGED, FREED);
        allow(EVICTED, RESIDENT, PURGED, FREED);
        allow(PURGED, FREED);
    }

    private static void allow(BoState from, BoState... to) {
        for (BoState t : to) {
            LEGAL[from.ordinal()][t.ordinal()] = true;
        }
    }

    /** @return whether the table allows going from this state to {@code to} */
    boolean canBecome(BoState to) {
        return LEGAL[ordinal()][to.ordinal()];
    }

    /** @return whether a state of this kind has a page table (frames or slots) */
    boolean hasTable() {
        return this == RESIDENT || this == EVICTED;
    }

    /** @return the public residency: a freed object reads as UNPOPULATED (no frames, no slots) */
    Residency residency() {
        return switch (this) {
            case RESIDENT -> Residency.RESIDENT;
            case EVICTED -> Residency.EVICTED;
            case PURGED -> Residency.PURGED;
            case UNPOPULATED, FREED -> Residency.UNPOPULATED;
        };
    }
}
