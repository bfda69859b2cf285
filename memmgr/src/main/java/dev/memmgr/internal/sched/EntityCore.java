package dev.memmgr.internal.sched;

import java.util.ArrayDeque;

/**
 * One submitter's queue of jobs (drm_sched_entity): jobs start in push order, each only when it
 * is at the head and its dependencies have signaled.
 *
 * <p>Locking: every field is guarded by the scheduler's lock.
 */
public final class EntityCore {
    final SchedCore sched;
    final int priority;
    final long id;
    final ArrayDeque<JobCore> queue = new ArrayDeque<>();
    boolean closed;

    EntityCore(SchedCore sched, int priority, long id) {
        this.sched = sched;
        this.priority = priority;
        this.id = id;
    }

    /** @return the scheduler */
    public SchedCore scheduler() {
        return sched;
    }

    @Override
    public String toString() {
        return "Entity[" + id + " of " + sched.name() + ", priority " + priority + "]";
    }
}
