package dev.memmgr.internal.sched;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import org.agrona.DeadlineTimerWheel;
import org.agrona.collections.Long2ObjectHashMap;

/**
 * The deadlines of running jobs: an Agrona {@link DeadlineTimerWheel} (ticks of 2^24 ns, about 17
 * ms) polled by one thread once a tick. After about a second in which no job ran the thread
 * parks until the next job starts and wakes it, so that jobs started back to back do not each pay
 * for waking it (a deadline set while it ticks is seen at the next tick, within the wheel's
 * resolution anyway). An expired deadline goes to {@link SchedCore#expiredLocked}.
 *
 * <p>Locking: everything here is guarded by the scheduler's lock; {@link #add} and {@link #remove}
 * are called with it held, the thread's loop takes it for each poll.
 */
final class Deadlines {
    private static final int TICK_SHIFT = 24;
    /** Ticks the thread goes on polling with no job running before it parks until woken (about 1 s). */
    private static final int IDLE_TICKS = 64;

    private final SchedCore sched;
    private final ReentrantLock lock;
    private final DeadlineTimerWheel wheel;
    private final Long2ObjectHashMap<JobCore> timers = new Long2ObjectHashMap<>();
    private final DeadlineTimerWheel.TimerHandler onExpiry = this::expired;
    private final Thread thread;
    /** What expired jobs leave to do once the lock is released; set during a poll. */
    private List<Runnable> after;
    /** Whether the thread parks until woken: a job that starts must wake it. */
    private boolean asleep;
    /** Deadlines set so far: the thread is idle while this stays the same and no deadline is pending. */
    private long added;

    Deadlines(SchedCore sched, ReentrantLock lock, String threadName) {
        this.sched = sched;
        this.lock = lock;
        this.wheel = new DeadlineTimerWheel(TimeUnit.NANOSECONDS, System.nanoTime(), 1L << TICK_SHIFT, 1024);
        this.thread = new Thread(this::loop, threadName);
        thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    /**
     * Sets the job's deadline. Lock held.
     *
     * @return whether the thread must be woken ({@link #wake()}, after the lock is released)
     */
    boolean add(JobCore j, long deadline) {
        if (wheel.timerCount() == 0) {
            wheel.currentTickTime(System.nanoTime());
        }
        j.timerId = wheel.scheduleTimer(deadline);
        timers.put(j.timerId, j);
        added++;
        boolean wake = asleep;
        asleep = false;
        return wake;
    }

    /** Drops the job's deadline, if it has one. Lock held. */
    void remove(JobCore j) {
        if (j.timerId >= 0) {
            timers.remove(j.timerId);
            wheel.cancelTimer(j.timerId);
            j.timerId = -1;
        }
    }

    /** Wakes the thread (after {@link #add} said so, or to see the scheduler closed). No lock needed. */
    void wake() {
        LockSupport.unpark(thread);
    }

    private void loop() {
        int idleTicks = 0;
        long seen = 0;
        while (true) {
            List<Runnable> actions = new ArrayList<>(0);
            boolean sleep;
            JobCore first;
            lock.lock();
            try {
                if (sched.isClosedLocked()) {
                    return;
                }
                long now = System.nanoTime();
                after = actions;
                do {
                    wheel.poll(now, onExpiry, Integer.MAX_VALUE);
                } while (now >= wheel.currentTickTime());
                after = null;
                boolean none = wheel.timerCount() == 0;
                if (none) {
                    wheel.currentTickTime(now);
                }
                // idle: no deadline pending and none set since the last tick (short jobs back to
                // back are mostly between deadlines when the thread looks)
                idleTicks = none && added == seen ? idleTicks + 1 : 0;
                seen = added;
                sleep = idleTicks > IDLE_TICKS;
                asleep = sleep;
                first = sched.claimDueLocked();
            } finally {
                lock.unlock();
            }
            actions.forEach(Runnable::run);
            sched.signalDue(first);
            if (sleep) {
                LockSupport.park(this);
            } else {
                LockSupport.parkNanos(this, 1L << TICK_SHIFT);
            }
        }
    }

    /** The wheel's handler: a deadline passed. Lock held (the loop). */
    private boolean expired(TimeUnit unit, long now, long timerId) {
        JobCore j = timers.remove(timerId);
        if (j != null) {
            j.timerId = -1;
            sched.expiredLocked(j, after);
        }
        return true;
    }
}
