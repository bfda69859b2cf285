package dev.memmgr.internal.gem;

import java.lang.invoke.VarHandle;

/**
 * The lock-free moves of a count that stay clear of its transitions (atomic_inc_not_zero and
 * atomic_add_unless(-1, 1) in the kernel): they succeed only while the count is above the point
 * where a transition, which needs the object's reservation, would have to run. A failure sends
 * the caller to its locked slow path. Used with the int count fields of {@link GemObject}
 * through their VarHandles (constants at every call site, so the JIT folds them). The counts that
 * may be contended (page uses, pins) also go through their {@link Stripes} once a compare-and-set
 * on the field has been lost.
 *
 * <p>Stateless; thread-safe. Allocation-free.
 */
final class Counts {
    private Counts() {
    }

    /** {@link #incNotZero} results: not incremented, incremented, incremented after a lost race. */
    static final int FAILED = 0;
    static final int TAKEN = 1;
    static final int CONTENDED = 2;

    /**
     * Increments the count if it is above zero.
     *
     * @param residentOnly also require the object to be resident with every page backed, checked
     *     again on every retry (a weak page use may only skip the lock when nothing needs
     *     populating or swapping in)
     * @return {@link #FAILED}, {@link #TAKEN}, or {@link #CONTENDED} when it was incremented after
     *     losing a compare-and-set to another thread (the caller may stripe the count)
     */
    static int incNotZero(VarHandle count, GemObject o, boolean residentOnly) {
        int v = (int) count.getVolatile(o);
        int lost = TAKEN;
        while (v > 0) {
            if (residentOnly && !o.isFullyResident()) {
                return FAILED;
            }
            int w = (int) count.compareAndExchange(o, v, v + 1);
            if (w == v) {
                return lost;
            }
            lost = CONTENDED;
            v = w; // compareAndExchange hands back the current count: no reload on a lost race
        }
        return FAILED;
    }

    /** @return whether the count was decremented: only while it stays above zero */
    static boolean decNotOne(VarHandle count, GemObject o) {
        int v = (int) count.getVolatile(o);
        while (v > 1) {
            int w = (int) count.compareAndExchange(o, v, v - 1);
            if (w == v) {
                return true;
            }
            v = w;
        }
        return false;
    }

    /**
     * Decrements a count that is above {@code floor}, for the locked slow paths (which may race
     * with the lock-free ones above).
     *
     * @return the value before the decrement, or a value &lt;= floor (nothing changed)
     */
    static int decAbove(VarHandle count, GemObject o, int floor) {
        int v = (int) count.getVolatile(o);
        while (v > floor) {
            int w = (int) count.compareAndExchange(o, v, v - 1);
            if (w == v) {
                return v;
            }
            v = w;
        }
        return v;
    }
}
