package dev.memmgr.internal.swap;

import dev.memmgr.internal.mem.PhysMem;
import dev.memmgr.internal.sys.LibC;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * A second thread that takes chunks of large swap reads and writes while their caller works on
 * others (see {@link IoBatch}): with a free core, one chunk's copy overlaps another's checksum.
 * One per swap space, started on first use, gone after a second idle; daemon.
 *
 * <p>Thread-safe. Tasks run one at a time, in submission order. A task never blocks its
 * submitter: the submitter claims work from the same counter and never waits for a task to
 * start, only for chunks the worker has claimed to finish.
 */
final class SwapWorker {
    private final ThreadPoolExecutor executor;
    /** The worker thread's own iovec array and checksum state. */
    private final ThreadLocal<IoBatch.Lane> lanes;

    SwapWorker(PhysMem mem) {
        this.lanes = ThreadLocal.withInitial(() -> new IoBatch.Lane(
                Arena.ofAuto().allocate(LibC.IOV_MAX * LibC.IOVEC_BYTES, 8), new PageCrc(mem)));
        this.executor = new ThreadPoolExecutor(1, 1, 1, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "memmgr-swap-worker");
            t.setDaemon(true);
            return t;
        });
        executor.allowCoreThreadTimeOut(true);
    }

    /** A task that works with the worker thread's own {@link IoBatch.Lane}. */
    @FunctionalInterface
    interface Task {
        void run(IoBatch.Lane lane);
    }

    /**
     * Queues a task.
     *
     * @return false when the worker is shut down (the caller does the work itself)
     */
    boolean offer(Task task) {
        try {
            executor.execute(() -> task.run(lanes.get()));
            return true;
        } catch (RejectedExecutionException e) {
            return false;
        }
    }

    /** Stops the thread once queued tasks are done (none are, after the swap space's close). */
    void shutdown() {
        executor.shutdown();
    }
}
