package dev.memmgr;

import dev.memmgr.internal.resv.AcquireContext;
import dev.memmgr.internal.resv.Resv;
import dev.memmgr.internal.resv.WouldDeadlockException;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Locks many reservations at once without deadlock (drm_exec): a wait-die acquire context and
 * the locks it holds. Typical use, before GPU work that uses several buffers:
 *
 * <pre>{@code
 * try (Exec exec = Exec.lockAll(e -> {
 *         e.lock(vmResv);
 *         for (BufferObject bo : buffers) {
 *             e.lock(bo);                 // false for a duplicate: already locked by this Exec
 *         }
 *     })) {
 *     ... validate, add fences ...
 * }                                       // close() unlocks everything
 * }</pre>
 *
 * <p><b>Retry.</b> Every Exec of the process belongs to one wait-die class: each gets a stamp when
 * {@link #lockAll} starts (earlier is older). When {@link #lock(Reservation)} finds its
 * reservation held by an older Exec, or an older one waiting for it first, it throws a
 * {@link RetrySignal} instead of waiting (a younger Exec and plain holders are waited for). The
 * locker must let it through. {@code lockAll} then unlocks everything, waits for the contended
 * reservation (holding nothing, so it cannot deadlock), and runs the locker again, until the
 * locker returns without contention; the Exec keeps its stamp, so it cannot be starved. In each
 * run {@code lock} returns true the first time it is called for a reservation (also for the one
 * waited for, which is already held) and false after that. A reservation waited for that the
 * new run does not lock is unlocked when the locker returns. A locker that catches the signal
 * changes nothing: every later {@code lock} of that run throws it again, and {@code lockAll}
 * retries when the locker returns.
 *
 * <p><b>Failure.</b> A locker that throws anything else: every lock of the Exec is dropped and
 * the exception propagates from {@code lockAll}. An Exec never holds a lock after
 * {@code lockAll} throws.
 *
 * <p><b>Threads.</b> An Exec belongs to the thread that called {@code lockAll}: its locks are
 * held by that thread ({@link Reservation#isHeldByCurrentThread()} is true for them, and
 * operations on the buffers do not lock again), and only that thread may use it; other threads
 * get IllegalStateException (except from {@link #close()} of a closed Exec, which does nothing).
 * A thread uses one Exec at a time: it closes one before starting the next {@code lockAll}, and a
 * locker does not start another (as a task has one acquire context in the kernel: an Exec that
 * waits while its thread holds another Exec's locks can deadlock).
 *
 * <p>Cost: besides the reservations' own lock and unlock, no allocation per lock and no
 * exception when there is no contention; the Exec object itself is the only allocation of an
 * uncontended {@code lockAll} (the acquire context is the thread's, reused).
 */
public final class Exec implements AutoCloseable {
    private static final RetrySignal RETRY = new RetrySignal();
    /** The context's keys are the Reservations (what locked() lists); this gives their Resv back. */
    private static final Function<Object, Resv> RESV_OF = key -> ((Reservation) key).core();

    private final AcquireContext ctx;
    private final Thread thread;
    /** The reservation this run lost to an older Exec, until lockAll backs off; or null. */
    private Reservation contended;
    /** Whether the locker is running (lock is allowed). */
    private boolean running;
    private volatile boolean closed;

    private Exec() {
        ctx = AcquireContext.open(RESV_OF); // the thread's reusable context: see AcquireContext "Reuse"
        thread = Thread.currentThread();
    }

    /**
     * Runs {@code locker}, retrying on contention with older Execs, until it has locked all it
     * wants (see the class comment), and returns the Exec holding those locks.
     *
     * @param locker locks reservations with {@link #lock(Reservation)}; may run several times;
     *     must let {@link RetrySignal} through
     * @return the Exec, holding every reservation the last run of {@code locker} locked
     * @throws NullPointerException if locker is null
     * @throws RuntimeException whatever {@code locker} throws (besides the retry signal), after
     *     every lock is dropped
     */
    public static Exec lockAll(Consumer<Exec> locker) {
        Objects.requireNonNull(locker, "locker");
        Exec exec = new Exec();
        exec.run(locker);
        return exec;
    }

    private void run(Consumer<Exec> locker) {
        while (true) {
            running = true;
            try {
                locker.accept(this);
            } catch (RetrySignal signal) {
                if (contended == null) { // not this Exec's: a locker that started another Exec
                    abort();
                    throw signal;
                }
            } catch (Throwable t) {
                abort();
                throw t;
            } finally {
                running = false;
            }
            Reservation c = contended;
            if (c == null) {
                ctx.releaseUnclaimed();
                return;
            }
            contended = null;
            try {
                ctx.backOff(c.core()); // unlocks everything, waits for c (ww_mutex_lock_slow)
            } catch (Throwable t) {
                abort();
                throw t;
            }
        }
    }

    private void abort() {
        contended = null;
        closed = true;
        ctx.close();
    }

    /**
     * Locks a reservation, inside the locker.
     *
     * @param reservation the reservation to lock
     * @return true if locked by this call (the first call for it in this run of the locker),
     *     false if this Exec already holds it from an earlier call in this run
     * @throws RetrySignal if an older Exec holds it or waits for it first: let it through
     * @throws IllegalStateException if called outside the locker (or from another thread), or if
     *     the calling thread holds the reservation outside this Exec
     * @throws NullPointerException if reservation is null
     */
    public boolean lock(Reservation reservation) {
        Objects.requireNonNull(reservation, "reservation");
        if (Thread.currentThread() != thread || !running) {
            throw new IllegalStateException("Exec.lock outside its locker");
        }
        if (contended != null) {
            throw RETRY;
        }
        try {
            return ctx.lock(reservation.core(), reservation);
        } catch (WouldDeadlockException e) {
            contended = reservation;
            throw RETRY;
        }
    }

    /**
     * Locks a buffer object's reservation, inside the locker: {@code lock(bo.resv())}.
     *
     * @param bo the buffer object
     * @return as {@link #lock(Reservation)}
     * @throws RetrySignal if an older Exec holds the reservation or waits for it first: let it through
     * @throws IllegalStateException as {@link #lock(Reservation)}, or if {@code bo.resv()} throws it
     * @throws NullPointerException if bo is null
     */
    public boolean lock(BufferObject bo) {
        Objects.requireNonNull(bo, "bo");
        return lock(bo.resv());
    }

    /**
     * Returns the reservations this Exec holds, in the order the locker took them in its last
     * run (during a run: those taken so far). Empty once closed.
     *
     * @return an unmodifiable snapshot of the locked reservations
     * @throws IllegalStateException if called by another thread than the one that ran lockAll
     *     (while the Exec is open)
     */
    public List<Reservation> locked() {
        if (closed) {
            return List.of(); // and the context may serve another Exec of this thread by now
        }
        if (Thread.currentThread() != thread) {
            throw new IllegalStateException("Exec used by a thread that does not hold its locks");
        }
        int n = ctx.size();
        Reservation[] a = new Reservation[n];
        for (int i = 0; i < n; i++) {
            a[i] = (Reservation) ctx.key(i);
        }
        return List.of(a);
    }

    /**
     * Unlocks every reservation this Exec holds. Idempotent: closing a closed Exec does nothing.
     *
     * @throws IllegalStateException if called inside the locker, or by another thread than the
     *     one that ran lockAll (while the Exec is open)
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        if (Thread.currentThread() != thread) {
            throw new IllegalStateException("Exec closed by a thread that does not hold its locks");
        }
        if (running) {
            throw new IllegalStateException("Exec closed inside its locker");
        }
        closed = true;
        ctx.close();
    }

    @Override
    public String toString() {
        return "Exec[" + (closed ? "closed" : ctx.size() + " locked") + "]";
    }

    /**
     * The retry signal of {@link Exec#lock(Reservation)}: this Exec lost a reservation to an older
     * one and must back off. Not an error; the locker must let it through to
     * {@link Exec#lockAll}, which retries. Carries no stack trace and no message details.
     */
    public static final class RetrySignal extends RuntimeException {
        private static final long serialVersionUID = 1L;

        private RetrySignal() {
            super("Exec contended by an older Exec: let this through to lockAll, which retries", null, false, false);
        }
    }
}
