package dev.memmgr.internal.sched;

import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/**
 * The scheduler's worker threads, the "GPU": every job handed over gets a thread of its own at
 * once, an idle one if there is one (the most recently idle: its caches are warm), else a new one.
 * So a kernel that hangs past its timeout holds only its own thread and the next job runs on
 * another (the worker is "replaced"), and two running kernels never wait for each other's thread.
 *
 * <p>Hand-over: the submitter gives the job to an idle worker under the pool's monitor and unparks
 * it; an idle worker parks at once (no spinning), so a hand-over costs one wake-up, as a
 * single-thread executor's does; a worker that spins or yields while idle is the last to get a
 * core back on a busy machine. A worker idle for {@link #KEEP_ALIVE_NANOS} ends.
 *
 * <p>Locking: {@code idle}, {@code shutdown} and each worker's {@code task} are guarded by this
 * pool's monitor, a leaf (the scheduler calls {@link #submit} without its own lock).
 */
final class WorkerPool {
    static final long KEEP_ALIVE_NANOS = TimeUnit.SECONDS.toNanos(10);

    private final String name;
    private final Consumer<JobCore> body;
    private final AtomicInteger threads = new AtomicInteger();
    /** Parked workers waiting for a job, the most recently idle last. */
    private final ArrayDeque<Worker> idle = new ArrayDeque<>();
    private boolean shutdown;

    /**
     * @param name the prefix of the threads' names
     * @param body what a worker does with a job (runs it); must not throw
     */
    WorkerPool(String name, Consumer<JobCore> body) {
        this.name = name;
        this.body = body;
    }

    /**
     * Hands a job to a worker of its own. No lock held.
     *
     * @return false if the pool is shut down (the job is not run)
     */
    boolean submit(JobCore j) {
        Worker w;
        synchronized (this) {
            if (shutdown) {
                return false;
            }
            w = idle.pollLast();
            if (w != null) {
                w.task = j;
            }
        }
        if (w != null) {
            LockSupport.unpark(w.thread);
        } else {
            Worker fresh = new Worker(j);
            Thread t = new Thread(fresh, name + "-" + threads.incrementAndGet());
            t.setDaemon(true);
            fresh.thread = t;
            t.start();
        }
        return true;
    }

    /** Refuses further jobs; idle workers end, busy ones when their job is done. Idempotent. */
    void shutdown() {
        Worker[] parked;
        synchronized (this) {
            shutdown = true;
            parked = idle.toArray(new Worker[0]);
            idle.clear();
        }
        for (Worker w : parked) {
            LockSupport.unpark(w.thread);
        }
    }

    private final class Worker implements Runnable {
        /** Set before start (fresh workers) or by the hand-over, under the pool's monitor. */
        Thread thread;
        /** The job handed over; guarded by the pool's monitor. */
        JobCore task;

        Worker(JobCore first) {
            this.task = first;
        }

        @Override
        public void run() {
            JobCore j;
            synchronized (WorkerPool.this) {
                j = task;
                task = null;
            }
            while (j != null) {
                body.accept(j);
                j = null; // an idle worker must not keep its last job reachable
                j = next();
            }
        }

        /** Parks until a job is handed over; null when shut down or idle too long. */
        private JobCore next() {
            long deadline = System.nanoTime() + KEEP_ALIVE_NANOS;
            synchronized (WorkerPool.this) {
                if (shutdown) {
                    return null;
                }
                idle.addLast(this);
            }
            while (true) {
                Thread.interrupted(); // an interrupt of the last job's timeout must not cut this wait short
                LockSupport.parkNanos(WorkerPool.this, deadline - System.nanoTime());
                synchronized (WorkerPool.this) {
                    JobCore j = task;
                    if (j != null) {
                        task = null;
                        return j;
                    }
                    if (shutdown || System.nanoTime() - deadline >= 0) {
                        idle.remove(this); // not handed anything: leave (absent already after shutdown)
                        return null;
                    }
                }
            }
        }
    }
}
