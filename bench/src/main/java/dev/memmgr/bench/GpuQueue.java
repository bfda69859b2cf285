package dev.memmgr.bench;

import dev.memmgr.Fence;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The stress tool's "GPU": a thread that signals submitted fences a little later (each fence
 * carries its due time), in submission order, as a GPU ring completes jobs. Until a fence
 * signals, the objects it is attached to are busy: the shrinker must skip them.
 *
 * <p>The queue is bounded; when it is full the submitter signals the fence itself (as if the job
 * were already done), so workers never block on the GPU.
 */
final class GpuQueue {
    private record Job(Fence fence, long due) {
    }

    private final ArrayBlockingQueue<Job> queue = new ArrayBlockingQueue<>(1024);
    private final StressReport report;
    private final Thread thread;
    private volatile boolean stopping;

    GpuQueue(StressReport report) {
        this.report = report;
        this.thread = new Thread(this::run, "stress-gpu");
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    /** Queues a fence to be signaled after about {@code delayNanos}; never blocks. */
    void submit(Fence fence, long delayNanos) {
        if (stopping || !queue.offer(new Job(fence, System.nanoTime() + delayNanos))) {
            signal(fence);
        }
    }

    private void run() {
        while (true) {
            Job job;
            try {
                job = queue.poll(20, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                break;
            }
            if (job == null) {
                if (stopping) {
                    break;
                }
                continue;
            }
            long wait;
            while (!stopping && (wait = job.due - System.nanoTime()) > 0) {
                LockSupport.parkNanos(wait);
            }
            signal(job.fence);
        }
        drain();
    }

    private void drain() {
        Job job;
        while ((job = queue.poll()) != null) {
            signal(job.fence);
        }
    }

    private void signal(Fence fence) {
        try {
            fence.signal();
        } catch (RuntimeException | Error e) {
            report.unexpected("Fence.signal()", e);
        }
    }

    /** Signals everything still queued and stops the thread (call once no one submits). */
    void stop() throws InterruptedException {
        stopping = true;
        thread.join();
        drain();
    }
}
