package dev.memmgr.internal.reclaim;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The hits ARC needs, recorded without the LRU lock (Caffeine's read buffer): a few striped,
 * bounded multi-producer rings. A use that sets an object's accessed bit (the first use since
 * the object last moved) offers the object; the shrinker drains the rings under the LRU lock
 * before it scans. A full ring is drained by the offering thread if it can try-lock the LRU
 * lock, else the offer is dropped, which costs little: the bit stays set, and the scan treats a
 * flagged object as used (CAR's rule).
 *
 * <p>Producers: a CAS on their stripe's tail, then a release store into the slot. The consumer
 * (LRU lock held) takes slots from its head until it meets one not written yet. Allocation-free.
 */
final class HitBuffer {
    private static final int STRIPES = 4;
    private static final int SLOTS = 64;
    private static final int MASK = SLOTS - 1;
    private static final VarHandle TAIL;

    static {
        try {
            TAIL = MethodHandles.lookup().findVarHandle(Stripe.class, "tail", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Stripe[] stripes = new Stripe[STRIPES];

    HitBuffer() {
        for (int i = 0; i < STRIPES; i++) {
            stripes[i] = new Stripe();
        }
    }

    /** A ring; padded so that stripes do not share cache lines. */
    @SuppressWarnings("unused")
    private static final class Stripe {
        long p0, p1, p2, p3, p4, p5, p6;
        volatile long tail;
        /** Consumer only (LRU lock). */
        long head;
        long q0, q1, q2, q3, q4, q5, q6;
        final AtomicReferenceArray<LruNode> slots = new AtomicReferenceArray<>(SLOTS);
    }

    /** @return false when the node's stripe is full (nothing recorded) */
    boolean offer(LruNode n) {
        Stripe s = stripes[(int) (Thread.currentThread().threadId() & (STRIPES - 1))];
        long t = s.tail;
        while (true) {
            if (t - s.head >= SLOTS) { // a racy read of head: at worst a spurious "full"
                return false;
            }
            long w = (long) TAIL.compareAndExchange(s, t, t + 1);
            if (w == t) {
                s.slots.setRelease((int) (t & MASK), n);
                return true;
            }
            t = w;
        }
    }

    /** Hands every recorded node to {@code sink}, oldest first per stripe. LRU lock held. */
    void drain(java.util.function.Consumer<LruNode> sink) {
        for (Stripe s : stripes) {
            long t = s.tail;
            long h = s.head;
            for (; h < t; h++) {
                LruNode n = s.slots.getAndSet((int) (h & MASK), null);
                if (n == null) {
                    break; // a producer between its CAS and its store: the rest next time
                }
                sink.accept(n);
            }
            s.head = h;
        }
    }
}
