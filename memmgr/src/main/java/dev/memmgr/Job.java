package dev.memmgr;

import dev.memmgr.internal.resv.FenceCore;
import dev.memmgr.internal.resv.Usage;
import dev.memmgr.internal.sched.JobCore;
import dev.memmgr.internal.sched.SchedCore;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A pushed job (drm_sched_job): its two fences. {@link #scheduled()} signals when its kernel
 * starts, {@link #finished()} when it is done: with no error when the kernel returned, with the
 * kernel's exception, the error of a failed dependency, a TimeoutException, or a
 * CancellationException (entity or scheduler closed before it ran; its scheduled fence signals
 * too).
 */
public final class Job {
    private final Fence scheduled;
    private final Fence finished;

    private Job(Fence scheduled, Fence finished) {
        this.scheduled = scheduled;
        this.finished = finished;
    }

    /**
     * Returns the fence signaled when the kernel starts (or when the job completes unrun).
     * Scheduled fences of a scheduler signal one at a time, in dispatch order, in whichever
     * thread dispatches: an {@link Fence#onSignal} action on one may push jobs but must not wait
     * for another job of the same scheduler to be scheduled or to finish (the thread that would
     * signal it may be the one running the action).
     *
     * @return the scheduled fence
     */
    public Fence scheduled() {
        return scheduled;
    }

    /**
     * Returns the fence signaled when the job is done, with an error if it failed.
     *
     * @return the finished fence
     */
    public Fence finished() {
        return finished;
    }

    @Override
    public String toString() {
        return "Job[" + (finished.isSignaled() ? "finished" : scheduled.isSignaled() ? "running" : "queued") + "]";
    }

    /**
     * Describes a job before it is pushed ({@link Entity#job(GpuKernel)}). Not thread-safe; used
     * once.
     */
    public static final class Builder {
        /**
         * Serializes pushes of jobs that use objects: a job's implicit dependencies are collected
         * and its fence attached, object by object, in the same step as it is queued in its
         * entity. So all those orders agree: two jobs sharing objects cannot each find the other's
         * fence on a different object (X writes A then B while Y writes B then A: each would wait
         * for the other forever), nor be queued in one entity in the order opposite to their
         * fences (the head waiting for a job behind it). Jobs without objects take no part.
         * Process-wide, since objects and schedulers are shared freely; held for a few fence
         * attachments, and nothing is called under it that could block.
         */
        private static final Object IMPLICIT_SYNC = new Object();
        /** Rounds of lockAll before validate reports an evicted object mapped in the meantime. */
        private static final int PREPARE_ATTEMPTS = 8;

        private final Entity entity;
        private final GpuKernel kernel;
        private GpuVm vm;
        private int credits = 1;
        private final List<FenceCore> deps = new ArrayList<>(2);
        /** Objects the job uses, each with whether it writes it. */
        private final Map<BufferObject, Boolean> objects = new LinkedHashMap<>();
        private boolean pushed;

        Builder(Entity entity, GpuKernel kernel) {
            this.entity = entity;
            this.kernel = kernel;
        }

        /**
         * Runs the job against a GPU VM: before the kernel starts, the scheduler locks the VM and
         * its external objects ({@link GpuVm#lockAll}), swaps evicted objects back in
         * ({@link GpuVm#validate()}), adds the job's finished fence to them, and unlocks; the
         * kernel reads and writes through {@link JobContext#vm()}. A failure there (a purged
         * object, no frames) fails the job without running the kernel.
         *
         * @param vm the VM
         * @return this builder
         * @throws NullPointerException if vm is null
         */
        public Builder vm(GpuVm vm) {
            this.vm = Objects.requireNonNull(vm, "vm");
            return this;
        }

        /**
         * Sets the credits the job takes while it runs (default 1).
         *
         * @param n 1 to the scheduler's credits (checked by {@link #push()})
         * @return this builder
         */
        public Builder credits(int n) {
            this.credits = n;
            return this;
        }

        /**
         * Adds a fence the job waits for: it runs once it has signaled, and fails unrun with its
         * error if it signaled with one.
         *
         * @param f the fence
         * @return this builder
         * @throws NullPointerException if f is null
         */
        public Builder dependency(Fence f) {
            deps.add(Objects.requireNonNull(f, "fence").core());
            return this;
        }

        /**
         * Declares that the job reads an object (implicit sync): it waits for the object's
         * writers (fences of WRITE and KERNEL usage), and its finished fence is added to the
         * object's reservation with READ usage at push.
         *
         * @param bo the object
         * @return this builder
         * @throws NullPointerException if bo is null
         */
        public Builder reads(BufferObject bo) {
            objects.putIfAbsent(Objects.requireNonNull(bo, "bo"), Boolean.FALSE);
            return this;
        }

        /**
         * Declares that the job writes an object (implicit sync): it waits for every fence of the
         * object up to READ usage, and its finished fence is added to the object's reservation
         * with WRITE usage at push.
         *
         * @param bo the object
         * @return this builder
         * @throws NullPointerException if bo is null
         */
        public Builder writes(BufferObject bo) {
            objects.put(Objects.requireNonNull(bo, "bo"), Boolean.TRUE);
            return this;
        }

        /**
         * Queues the job. Nothing can fail after this returns: the job will signal its fences.
         *
         * @return the job
         * @throws IllegalArgumentException if credits is not 1..the scheduler's credits
         * @throws IllegalStateException if the entity or the scheduler is closed, an object of
         *     {@link #reads}/{@link #writes} is freed or its manager closed, or this builder was
         *     pushed already; a refused push changes nothing
         */
        public Job push() {
            if (pushed) {
                throw new IllegalStateException("job already pushed");
            }
            int limit = entity.scheduler().credits();
            if (credits < 1 || credits > limit) {
                throw new IllegalArgumentException("a job takes 1 to " + limit + " credits: " + credits);
            }
            for (BufferObject bo : objects.keySet()) {
                bo.gem().checkAlive(); // a freed object has no fences to wait for or to carry
            }
            Fence scheduled = new Fence();
            Fence finished = new Fence();
            GpuVm jobVm = vm;
            GpuKernel k = kernel;
            JobCore.Work work = core -> {
                if (jobVm != null) {
                    prepare(jobVm, finished);
                }
                k.run(new Context(jobVm, core));
            };
            SchedCore sched = entity.scheduler().core();
            List<FenceCore> all = new ArrayList<>(deps);
            JobCore job;
            if (objects.isEmpty()) {
                job = sched.enqueue(entity.core(), credits, work, scheduled.core(), finished.core());
            } else {
                synchronized (IMPLICIT_SYNC) {
                    job = sched.enqueue(entity.core(), credits, work, scheduled.core(), finished.core());
                    objects.forEach((bo, write) -> bo.gem().resv().addFenceAfter(finished.core(),
                            write ? Usage.WRITE : Usage.READ, write ? Usage.READ : Usage.WRITE, all));
                }
            }
            pushed = true; // only now: a push refused above changed nothing and may be retried
            sched.arm(job, all);
            return new Job(scheduled, finished);
        }

        /**
         * Locks the VM and its external objects, swaps evicted ones in, fences them, unlocks.
         * Mapping takes the object's reservation, not the VM's, so another thread may map an
         * evicted external object after {@code lockAll} listed them: validate would refuse it
         * (not locked), so the locks are dropped and taken again, with it, a few times before
         * validate is left to report it.
         */
        private static void prepare(GpuVm vm, Fence finished) {
            for (int attempt = 1; ; attempt++) {
                try (Exec locked = vm.lockAll()) {
                    if (attempt < PREPARE_ATTEMPTS && !everyEvictedHeld(vm)) {
                        continue;
                    }
                    vm.validate();
                    for (Reservation r : locked.locked()) {
                        r.addFence(finished, FenceUsage.BOOKKEEP);
                    }
                    return;
                }
            }
        }

        /** @return whether the calling thread holds the reservation of every evicted object of the VM */
        private static boolean everyEvictedHeld(GpuVm vm) {
            for (VmBo link : vm.evicted()) {
                if (!link.bo().resv().isHeldByCurrentThread()) {
                    return false;
                }
            }
            return true;
        }
    }

    /** The context a kernel sees. */
    private record Context(GpuVm vm, JobCore core) implements JobContext {
        @Override
        public boolean isCancelled() {
            return core.isCancelled();
        }
    }
}
