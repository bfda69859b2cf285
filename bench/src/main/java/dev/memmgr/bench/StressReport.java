package dev.memmgr.bench;

import java.io.PrintStream;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * What a stress run counts and what it reports as it goes: operations, expected failures
 * (GpuOutOfMemoryException, PurgedException on purgeable objects), and the failures that make
 * the run fail: corruptions (content not what the model says, or lost without DONTNEED) and
 * unexpected behaviour (an exception or a result the contract does not allow). The first few of
 * each are printed in full; the rest are counted.
 */
final class StressReport {
    private static final int PRINT_LIMIT = 10;

    private final PrintStream out;
    /** Completed workload operations (expected failures included). */
    final LongAdder ops = new LongAdder();
    /** Steps of the final verification (the watchdog watches them too). */
    final LongAdder finalSteps = new LongAdder();
    final LongAdder gpuOutOfMemory = new LongAdder();
    /** PurgedException (or WILLNEED returning false) on objects marked DONTNEED. */
    final LongAdder purgedSeen = new LongAdder();
    final LongAdder recreated = new LongAdder();
    final LongAdder fencesAttached = new LongAdder();
    final LongAdder fencesSignaled = new LongAdder();
    final LongAdder bytesVerified = new LongAdder();
    // the GPU VM workload (StressVm)
    final LongAdder vmMaps = new LongAdder();
    final LongAdder vmUnmaps = new LongAdder();
    /** Reads through a VM whose every byte was checked. */
    final LongAdder vmReads = new LongAdder();
    final LongAdder vmWrites = new LongAdder();
    /** validate() calls under lockAll (one per submission). */
    final LongAdder vmValidates = new LongAdder();
    /** validate() calls that found evicted objects to swap in. */
    final LongAdder vmValidatesEvicted = new LongAdder();
    /** Accesses across unmapped addresses that faulted where and as they must. */
    final LongAdder vmFaults = new LongAdder();
    /** Table objects bound in a VM for one operation. */
    final LongAdder vmBorrowed = new LongAdder();
    /** Handles closed while the object was mapped. */
    final LongAdder vmClosedMapped = new LongAdder();
    /** Objects whose handle was closed, freed by their last unmap. */
    final LongAdder vmFreedByUnmap = new LongAdder();
    /** VMs closed and started anew after an unexpected result (each is also counted as unexpected). */
    final LongAdder vmResets = new LongAdder();
    // the GPU scheduler (StressGpu, StressJobs, VmJob)
    final LongAdder jobsPushed = new LongAdder();
    /** Jobs whose finished fence signaled, whatever the outcome. */
    final LongAdder jobsFinished = new LongAdder();
    /** Jobs that ran past the scheduler's timeout (each also counted as unexpected). */
    final LongAdder jobTimeouts = new LongAdder();
    /** Batches of jobs pushed through the workers' VMs. */
    final LongAdder jobBatches = new LongAdder();
    /** VM jobs that did their work: uploads, copies (source bytes all right), reads (all bytes right). */
    final LongAdder jobUploads = new LongAdder();
    final LongAdder jobCopies = new LongAdder();
    final LongAdder jobReads = new LongAdder();
    /** Jobs that accessed unmapped VA and failed with the page fault they must. */
    final LongAdder jobFaults = new LongAdder();
    /** Bytes checked by kernels (read jobs and copy sources); also in {@link #bytesVerified}. */
    final LongAdder jobBytesVerified = new LongAdder();
    /** CPU reads through a VM, after awaitIdle(WRITE), of what a batch's jobs had just written. */
    final LongAdder jobCpuReads = new LongAdder();
    // VM jobs that failed as they may, by cause
    /** validate() found a purged DONTNEED object in the VM. */
    final LongAdder jobFailedPurged = new LongAdder();
    final LongAdder jobFailedOom = new LongAdder();
    /** Failed unrun with the error of a job they depend on (the scheduler's error propagation). */
    final LongAdder jobFailedDependency = new LongAdder();
    /** The kernel found that an earlier job writing its objects had failed, and did nothing. */
    final LongAdder jobSkipped = new LongAdder();
    /** Fence jobs whose table object was checked to stay resident while the kernel ran (busy: not evicted). */
    final LongAdder jobBusyChecks = new LongAdder();
    /** Busy objects of gated batches, marked DONTNEED, that a reclaim of every purgeable byte left alone. */
    final LongAdder jobBusyProbes = new LongAdder();
    /**
     * Jobs that succeeded though an object resident at their push was evicted before they started
     * (validate swapped it in).
     */
    final LongAdder jobEvictedBeforeRun = new LongAdder();
    private final AtomicLong corruptions = new AtomicLong();
    private final AtomicLong unexpected = new AtomicLong();
    private int printedCorruptions;
    private int printedUnexpected;
    /** Set on OutOfMemoryError and other reasons to stop at once. */
    volatile String abort;

    StressReport(PrintStream out) {
        this.out = out;
    }

    long corruptions() {
        return corruptions.get();
    }

    long unexpected() {
        return unexpected.get();
    }

    long progress() {
        return ops.sum() + finalSteps.sum();
    }

    /** Content is not what the model says (or was lost without DONTNEED). */
    void corruption(String what) {
        corruptions.incrementAndGet();
        synchronized (this) {
            if (printedCorruptions < PRINT_LIMIT) {
                printedCorruptions++;
                out.println("CORRUPTION: " + what);
                if (printedCorruptions == PRINT_LIMIT) {
                    out.println("(further corruptions are counted, not printed)");
                }
            }
        }
    }

    /** A result the contract does not allow. */
    void violation(String what) {
        unexpected(what, null);
    }

    /** An exception (or, with a null throwable, a result) the contract does not allow. */
    void unexpected(String what, Throwable t) {
        unexpected.incrementAndGet();
        if (t instanceof OutOfMemoryError) {
            abort = "OutOfMemoryError";
        }
        synchronized (this) {
            if (printedUnexpected < PRINT_LIMIT) {
                printedUnexpected++;
                out.println("UNEXPECTED: " + what + (t == null ? "" : ": " + t));
                if (t != null) {
                    t.printStackTrace(out);
                }
                if (printedUnexpected == PRINT_LIMIT) {
                    out.println("(further unexpected results are counted, not printed)");
                }
            }
        }
    }

    void fenceSignaled() {
        fencesSignaled.increment();
    }
}
