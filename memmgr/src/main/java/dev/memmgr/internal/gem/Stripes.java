package dev.memmgr.internal.gem;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * DOC: Striped counts. The holds of one count (an object's page uses or pins) spread over cells
 * on separate cache lines, so that threads taking and dropping holds on one object at once do not
 * move one cache line between their cores. It is the kernel's percpu_ref in the shape of the
 * JDK's LongAdder: a thread works on the cell its probe picks (a per-thread number, moved to
 * another cell when two threads meet on one), and the count is the object's own field (the
 * base) plus the cells.
 *
 * <p>The rules that keep the transitions exact (0 to 1 and 1 to 0 stay under the reservation):
 * <ul>
 * <li>Cells are installed only under the reservation, by a thread that holds a hold in the base
 *     ({@link GemObject} after a lost compare-and-set on the base: the count is contended), so
 *     the base is at least one when they open.</li>
 * <li>While cells are open the base never drops to zero: lock-free decrements of the base stop
 *     at one, and a locked decrement first closes the cells ({@link #close()}: every cell is
 *     swapped for {@link #CLOSED}, its holds are added to the base, and the object forgets the
 *     cells). So "held" is "base &gt; 0", as without cells, and checks of the base alone (the
 *     shrinker's, the LRU's) stay right.</li>
 * <li>A cell is never negative while open: a take adds one to an open cell, a drop removes one
 *     from a cell above zero (any cell: holds are not a thread's own, an unpin in another thread
 *     is legal). A thread whose cells are empty drops from the base or takes the locked path,
 *     which closes the cells and so sees the exact count (an unbalanced drop is refused there).</li>
 * <li>A take that lands in an open cell is counted: either the cell is still open, or the close
 *     that swapped it added it to the base. A closed cell sends the caller to the base.</li>
 * </ul>
 *
 * <p>The cost: one object of about {@code (slots + 1) * 128} bytes per contended count, allocated
 * the first time the count is contended and dropped at the next locked decrement; one thread
 * alone never loses a compare-and-set and never allocates it.
 *
 * <p>Thread-safe; {@link #close()} is called with the owner's reservation held. Allocation-free
 * after the first use of a thread (its probe).
 */
final class Stripes {
    /** A closed cell: lower than any count. */
    static final int CLOSED = Integer.MIN_VALUE;
    /** Ints between two cells: 128 bytes, two cache lines (the adjacent-line prefetcher pairs them). */
    private static final int STRIDE = 32;
    /** Cells: the number of processors rounded up to a power of two, 2 to 16. */
    static final int SLOTS = slots(Runtime.getRuntime().availableProcessors());
    private static final int MASK = SLOTS - 1;
    private static final VarHandle CELL = MethodHandles.arrayElementVarHandle(int[].class);
    private static final AtomicInteger SEEDS = new AtomicInteger();
    private static final ThreadLocal<int[]> PROBE = ThreadLocal.withInitial(
            () -> new int[] {SEEDS.addAndGet(0x61c88647) | 1});

    /** Cell k at (k + 1) * STRIDE: none shares a cache line with the array's header. */
    private final int[] cells = new int[(SLOTS + 1) * STRIDE];

    static int slots(int processors) {
        int n = Integer.highestOneBit(Math.max(2, Math.min(16, processors)) * 2 - 1);
        return Math.max(2, Math.min(16, n));
    }

    private static int index(int slot) {
        return ((slot & MASK) + 1) * STRIDE;
    }

    /** Marsaglia's xorshift: the probe's next cell after a meeting. */
    private static int advance(int p) {
        p ^= p << 13;
        p ^= p >>> 17;
        p ^= p << 5;
        return p;
    }

    /** @return whether one hold was taken in an open cell (false: closed, use the base) */
    boolean take() {
        int[] probe = PROBE.get();
        int p = probe[0];
        for (int tries = 0; tries <= SLOTS; tries++) {
            int i = index(p);
            int v = (int) CELL.getVolatile(cells, i);
            if (v < 0) {
                return false;
            }
            if ((int) CELL.compareAndExchange(cells, i, v, v + 1) == v) {
                return true;
            }
            p = advance(p); // another thread on this cell (or a close): move
            probe[0] = p;
        }
        return false;
    }

    /**
     * Drops one hold from the calling thread's cell, or with {@code anyCell} from the first cell
     * above zero.
     *
     * @return whether a hold was dropped (false: no cell above zero, or closed)
     */
    boolean drop(boolean anyCell) {
        int home = PROBE.get()[0];
        for (int k = 0, n = anyCell ? SLOTS : 1; k < n; k++) {
            int i = index(home + k);
            int v = (int) CELL.getVolatile(cells, i);
            while (v > 0) {
                int w = (int) CELL.compareAndExchange(cells, i, v, v - 1);
                if (w == v) {
                    return true;
                }
                v = w;
            }
            if (v < 0) {
                return false;
            }
        }
        return false;
    }

    /** @return the holds in the cells now (a snapshot; 0 once closed) */
    int sum() {
        int s = 0;
        for (int k = 0; k < SLOTS; k++) {
            s += Math.max(0, (int) CELL.getVolatile(cells, index(k)));
        }
        return s;
    }

    /**
     * Closes every cell: later takes and drops fail over to the base. Idempotent. The owner's
     * reservation held (or the object unreachable, when it is released).
     *
     * @return the holds the cells had, which the caller adds to the base
     */
    int close() {
        int s = 0;
        for (int k = 0; k < SLOTS; k++) {
            int v = (int) CELL.getAndSet(cells, index(k), CLOSED);
            if (v > 0) {
                s += v;
            }
        }
        return s;
    }

    /** @return whether {@link #close()} ran */
    boolean isClosed() {
        return (int) CELL.getVolatile(cells, index(0)) < 0;
    }
}
