package dev.memmgr.internal.sched;

import dev.memmgr.internal.resv.FenceCore;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A job scheduler (drm_gpu_scheduler): one ring whose worker threads stand in for the GPU.
 *
 * <p><b>DOC: Scheduling.</b> Each entity is a FIFO; only its head job may start, and only once
 * its dependencies have signaled. Ready heads wait in one queue per priority, ordered by push;
 * the scheduler starts the first ready job of the highest priority whenever the credits in flight
 * leave room for it (a job that does not fit holds back the others, as drm_sched does, so big jobs
 * are not starved). A job whose dependency failed, or whose entity was closed, completes without
 * running when it is picked. Dispatch runs in whichever thread made a job ready or freed credits
 * (a push, a signal, a kernel's end, a timeout), under the scheduler lock, and queues what it
 * decided in {@code due}: jobs to start, jobs completed unrun. Their fences are signaled after the
 * lock is released, since callbacks may push more jobs, by one thread at a time in queue order
 * ({@link #signalDue}): so the scheduled fences of an entity's jobs signal in push order, whichever
 * threads dispatched them, and a long chain of jobs failing one after the other unwinds in a loop,
 * not a recursion. A kernel's own finished fence is signaled by its worker directly. Fence
 * callbacks that throw are reported and change nothing ({@link #signal}); callbacks must not wait
 * for other jobs to be scheduled (the thread signaling them may be the one running the callback).
 *
 * <p><b>DOC: Timeouts.</b> A running job has a deadline in {@link Deadlines} (an Agrona timer
 * wheel and its thread). When it expires, the job's finished fence signals at once with a
 * TimeoutException, its credits are released, its context reports cancelled, and its worker
 * thread is interrupted (under the lock, while the kernel certainly has not finished) and left to
 * end on its own; the next job runs on another worker ({@link WorkerPool} gives every job a thread
 * of its own).
 *
 * <p><b>Locking.</b> One lock per scheduler (a leaf: nothing else is locked under it, and no
 * fence is signaled under it; the only outside call made under it is a timeout's interrupt)
 * guards the entities' queues, the ready queues, the credits, the deadlines and the jobs'
 * states; the worker pool has its own monitor, a leaf too, taken without this lock.
 */
public final class SchedCore implements AutoCloseable {
    static final int PRIORITIES = 4;
    private static final AtomicInteger IDS = new AtomicInteger();
    private static final System.Logger LOG = System.getLogger("dev.memmgr");

    private final String name;
    private final int creditLimit;
    private final long timeoutNanos;
    private final ReentrantLock lock = new ReentrantLock();
    private final List<PriorityQueue<JobCore>> ready = new ArrayList<>(PRIORITIES);
    private final Set<EntityCore> entities = new HashSet<>();
    private final Set<JobCore> running = new HashSet<>();
    /** Jobs of closed entities still waiting for dependencies: killed when they signal, or cancelled by close(). */
    private final Set<JobCore> killedWaiting = new HashSet<>();
    /**
     * Jobs whose fences are due, in dispatch order: started ones (scheduled fence, then a worker)
     * and ones completed unrun (scheduled, then finished with {@link JobCore#unrunError}).
     */
    private final ArrayDeque<JobCore> due = new ArrayDeque<>();
    /** Whether a thread is signaling the jobs of {@link #due} (one at a time, so in order). */
    private boolean signaling;
    private final WorkerPool workers;
    private final Deadlines deadlines;
    private int inFlight;
    private long seq;
    private long entityIds;
    private boolean closed;

    /**
     * @param credits the most credits in flight, &gt;= 1
     * @param timeoutNanos how long a kernel may run, &gt; 0
     */
    public SchedCore(String name, int credits, long timeoutNanos) {
        this.name = name;
        this.creditLimit = credits;
        this.timeoutNanos = timeoutNanos;
        for (int p = 0; p < PRIORITIES; p++) {
            ready.add(new PriorityQueue<>((a, b) -> Long.compare(a.seq, b.seq)));
        }
        int id = IDS.incrementAndGet();
        this.workers = new WorkerPool("memmgr-sched-" + name, this::run);
        this.deadlines = new Deadlines(this, lock, "memmgr-sched-" + name + "-timeouts-" + id);
        deadlines.start();
    }

    public String name() {
        return name;
    }

    public int creditLimit() {
        return creditLimit;
    }

    /** @return credits of the jobs running now (a snapshot) */
    public int inFlight() {
        lock.lock();
        try {
            return inFlight;
        } finally {
            lock.unlock();
        }
    }

    /**
     * @param priority 0 (highest) .. 3
     * @throws IllegalStateException once closed
     */
    public EntityCore createEntity(int priority) {
        lock.lock();
        try {
            checkOpenLocked();
            EntityCore e = new EntityCore(this, priority, ++entityIds);
            entities.add(e);
            return e;
        } finally {
            lock.unlock();
        }
    }

    /** @return whether {@link #close()} was called; lock held */
    boolean isClosedLocked() {
        return closed;
    }

    private void checkOpenLocked() {
        if (closed) {
            throw new IllegalStateException("scheduler '" + name + "' is closed");
        }
    }

    // ---- push --------------------------------------------------------------------------------

    /**
     * Queues a job at the tail of its entity (drm_sched_entity_push_job); from here on nothing can
     * fail. It cannot start before {@link #arm} registers its dependencies (the count of pending
     * dependencies starts at one, arm's own). Never blocks on anything but the scheduler lock.
     *
     * @throws IllegalStateException if the entity or the scheduler is closed (nothing queued)
     * @throws IllegalArgumentException if credits is not 1..creditLimit
     */
    public JobCore enqueue(EntityCore e, int credits, JobCore.Work work, FenceCore scheduled, FenceCore finished) {
        if (credits < 1 || credits > creditLimit) {
            throw new IllegalArgumentException("a job takes 1 to " + creditLimit + " credits: " + credits);
        }
        lock.lock();
        try {
            checkOpenLocked();
            if (e.closed) {
                throw new IllegalStateException("entity " + e.id + " of scheduler '" + name + "' is closed");
            }
            JobCore j = new JobCore(e, ++seq, credits, work, scheduled, finished);
            e.queue.add(j);
            return j;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Registers a queued job's dependencies; once they have signaled (at once if they have), the
     * job is ready when it is its entity's head. Called once per job, after {@link #enqueue}.
     */
    public void arm(JobCore j, List<FenceCore> deps) {
        j.pending.addAndGet(deps.size());
        for (FenceCore f : deps) {
            f.onSignal(() -> depSignaled(j, f));
        }
        depSignaled(j, null); // arm's own count
    }

    private void depSignaled(JobCore j, FenceCore f) {
        if (f != null) {
            Throwable err = f.error();
            if (err != null && j.depError == null) {
                j.depError = err;
            }
        }
        if (j.pending.decrementAndGet() != 0) {
            return;
        }
        JobCore first;
        lock.lock();
        try {
            if (j.state != JobCore.State.QUEUED) {
                return; // cancelled meanwhile
            }
            if (j.killed) {
                killedWaiting.remove(j);
                completeLocked(j, new CancellationException("entity closed before the job ran"));
            } else if (j.entity.queue.peek() == j) {
                makeReadyLocked(j);
                dispatchLocked();
            }
            first = claimDueLocked();
        } finally {
            lock.unlock();
        }
        signalDue(first);
    }

    // ---- dispatch ----------------------------------------------------------------------------

    /**
     * Puts an entity's head whose dependencies have signaled in its ready queue, unless it is
     * there already: the head leaving ({@link #advanceLocked}) and the last dependency signaling
     * ({@link #depSignaled}) may both see it ready, when the signal's count drops to zero before
     * its thread takes the lock that the dispatch holds. Lock held.
     */
    private void makeReadyLocked(JobCore j) {
        if (!j.inReady) {
            j.inReady = true;
            ready.get(j.entity.priority).add(j);
        }
    }

    private JobCore bestReadyLocked() {
        for (PriorityQueue<JobCore> q : ready) {
            JobCore j = q.peek();
            if (j != null) {
                return j;
            }
        }
        return null;
    }

    /** Starts ready jobs while credits allow. Lock held; their fences are due (see {@link #signalDue}). */
    private void dispatchLocked() {
        while (!closed) {
            JobCore j = bestReadyLocked();
            if (j == null) {
                return;
            }
            boolean failed = j.depError != null;
            if (!failed && inFlight + j.credits > creditLimit) {
                return; // the best job waits for credits, and the others behind it
            }
            ready.get(j.entity.priority).poll();
            j.inReady = false;
            advanceLocked(j.entity, j);
            if (failed) {
                completeLocked(j, j.depError);
                continue;
            }
            inFlight += j.credits;
            j.state = JobCore.State.RUNNING;
            running.add(j);
            due.add(j);
        }
    }

    /**
     * Lock held: claims the signaling of due jobs if no thread is doing it.
     *
     * @return the first due job, for {@link #signalDue} after the lock is released; null if
     *     nothing is due or another thread signals (it will take this thread's jobs too)
     */
    JobCore claimDueLocked() {
        if (signaling || due.isEmpty()) {
            return null;
        }
        signaling = true;
        return due.poll();
    }

    /**
     * Signals due jobs one after the other, from {@code j} (claimed by {@link #claimDueLocked}),
     * until none is left: a started job's scheduled fence, then its hand-over to a worker; a job
     * completed unrun, its scheduled then its finished fence. No lock held.
     *
     * <p>One thread at a time, in dispatch order, so the scheduled fences of an entity's jobs
     * signal in push order whichever threads dispatched them. And iteratively: a callback that
     * dispatches more (a finished fence whose dependent fails unrun, whose dependent fails...)
     * only queues them for this loop, so a chain of any length unwinds without recursion. The
     * next job is taken from the queue before the current one is handed to its worker, so that
     * the worker, which takes the lock at once, does not find it held by this loop.
     */
    void signalDue(JobCore j) {
        if (j == null) {
            return;
        }
        boolean done = false;
        try {
            while (j != null) {
                boolean unrun = j.unrunError != null;
                signal(j.scheduled, null);
                if (unrun) {
                    signal(j.finished, j.unrunError);
                }
                JobCore next;
                lock.lock();
                try {
                    next = due.poll();
                    if (next == null) {
                        signaling = false;
                    }
                } finally {
                    lock.unlock();
                }
                if (!unrun) {
                    handOver(j);
                }
                j = next;
            }
            done = true;
        } finally {
            if (!done) { // never expected: signal() contains what callbacks throw
                lock.lock();
                try {
                    signaling = false;
                } finally {
                    lock.unlock();
                }
            }
        }
    }

    /** Hands a started job (its scheduled fence signaled) to a worker. No lock held. */
    private void handOver(JobCore j) {
        if (!workers.submit(j)) { // closed meanwhile
            finish(j, new CancellationException("scheduler '" + name + "' closed before the job ran"));
        }
    }

    /** The entity's head left: make the next one ready if its dependencies have signaled. */
    private void advanceLocked(EntityCore e, JobCore head) {
        if (e.queue.peek() == head) {
            e.queue.poll();
        }
        JobCore next = e.queue.peek();
        if (next != null && next.pending.get() == 0 && !next.killed) {
            makeReadyLocked(next);
        }
    }

    /** Completes a job that did not run: its scheduled, then finished fence (with the error) are due. Lock held. */
    private void completeLocked(JobCore j, Throwable error) {
        j.state = JobCore.State.DONE;
        j.unrunError = error;
        due.add(j);
    }

    // ---- running -----------------------------------------------------------------------------

    private void run(JobCore j) {
        boolean wake;
        lock.lock();
        try {
            if (j.state != JobCore.State.RUNNING) {
                return; // the scheduler closed between dispatch and start
            }
            j.thread = Thread.currentThread();
            wake = deadlines.add(j, System.nanoTime() + timeoutNanos);
        } finally {
            lock.unlock();
        }
        if (wake) {
            deadlines.wake();
        }
        Throwable error = null;
        try {
            j.work.run(j);
        } catch (Throwable t) {
            error = t;
        }
        finish(j, error);
    }

    private void finish(JobCore j, Throwable error) {
        boolean mine;
        JobCore first;
        lock.lock();
        try {
            mine = j.state == JobCore.State.RUNNING;
            if (mine) {
                j.state = JobCore.State.DONE;
                running.remove(j);
                inFlight -= j.credits;
                deadlines.remove(j);
                j.thread = null;
                dispatchLocked();
            }
            first = claimDueLocked();
        } finally {
            lock.unlock();
        }
        Thread.interrupted(); // a timeout's interrupt that the kernel did not consume (it came before the lock)
        if (mine) {
            signal(j.finished, error);
        }
        signalDue(first);
    }

    /**
     * Signals one of a job's fences. A callback that throws (someone's onSignal action) is reported
     * and changes nothing here: the other callbacks have run (the fence runs them all), and the
     * scheduler goes on with its own work, which must not be cut short (a start not handed to a
     * worker would hold its credits forever; a pusher must not see an exception after its job was
     * queued). No lock held.
     */
    private static void signal(FenceCore f, Throwable error) {
        try {
            if (error == null) {
                f.signal();
            } else {
                f.signal(error);
            }
        } catch (RuntimeException | Error e) {
            LOG.log(System.Logger.Level.WARNING, "a callback of a job's fence threw: " + e, e);
        }
    }

    // ---- timeouts ----------------------------------------------------------------------------

    /**
     * A running job's deadline passed ({@link Deadlines}): its finished fence signals with a
     * TimeoutException (in {@code after}, once the lock is released), its credits come back, its
     * context reports cancelled, its worker is interrupted. Lock held.
     */
    void expiredLocked(JobCore j, List<Runnable> after) {
        if (j.state != JobCore.State.RUNNING) {
            return;
        }
        j.state = JobCore.State.DONE;
        j.cancelled = true;
        running.remove(j);
        inFlight -= j.credits;
        Thread t = j.thread;
        j.thread = null;
        new dev.memmgr.internal.obs.Events.JobTimeout().end(name, j.seq, timeoutNanos);
        if (t != null) {
            // Under the lock: the worker cannot have passed finish(), which takes the lock and then
            // clears the interrupt, so the interrupt reaches this job and never a later one that
            // the same pool thread runs once this kernel returns.
            t.interrupt();
        }
        after.add(() -> signal(j.finished, new TimeoutException("job " + j.seq + " of scheduler '" + name
                + "' ran longer than " + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms")));
        dispatchLocked();
    }

    // ---- close -------------------------------------------------------------------------------

    /**
     * Closes an entity: its queued jobs are killed once their dependencies signal (finished with
     * CancellationException, never run); running ones finish. Idempotent; never blocks on a kernel.
     */
    public void closeEntity(EntityCore e) {
        JobCore first;
        lock.lock();
        try {
            if (e.closed) {
                return;
            }
            e.closed = true;
            entities.remove(e);
            for (JobCore j : e.queue) {
                j.killed = true;
                if (j.inReady) {
                    ready.get(e.priority).remove(j);
                    j.inReady = false;
                }
                if (j.pending.get() == 0 && j.state == JobCore.State.QUEUED) {
                    completeLocked(j, new CancellationException("entity closed before the job ran"));
                } else if (j.state == JobCore.State.QUEUED) {
                    killedWaiting.add(j);
                }
            }
            e.queue.clear();
            first = claimDueLocked();
        } finally {
            lock.unlock();
        }
        signalDue(first);
    }

    /**
     * Closes the scheduler: every job not yet run (jobs of closed entities still waiting for their
     * dependencies too) finishes with CancellationException now; running
     * kernels see their context cancelled and finish on their own. Idempotent; never blocks on a
     * kernel.
     */
    @Override
    public void close() {
        JobCore first;
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            for (EntityCore e : entities) {
                e.closed = true;
                for (JobCore j : e.queue) {
                    if (j.state == JobCore.State.QUEUED) {
                        completeLocked(j, new CancellationException("scheduler '" + name + "' closed before the job ran"));
                    }
                }
                e.queue.clear();
            }
            entities.clear();
            for (JobCore j : killedWaiting) {
                if (j.state == JobCore.State.QUEUED) {
                    completeLocked(j, new CancellationException("scheduler '" + name + "' closed before the job ran"));
                }
            }
            killedWaiting.clear();
            ready.forEach(PriorityQueue::clear);
            for (JobCore j : running) {
                j.cancelled = true;
            }
            first = claimDueLocked();
        } finally {
            lock.unlock();
        }
        deadlines.wake(); // to see the close and end
        workers.shutdown(); // before the starts still due: they are refused and cancel their jobs
        signalDue(first);
    }

    public boolean isClosed() {
        lock.lock();
        try {
            return closed;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String toString() {
        return "GpuScheduler[" + name + ", credits " + creditLimit + "]";
    }
}
