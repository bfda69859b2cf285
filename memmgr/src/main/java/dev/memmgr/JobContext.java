package dev.memmgr;

/** What a running {@link GpuKernel} may ask of its job. */
public interface JobContext {
    /**
     * Returns the job's GPU VM: locked, validated (every evicted object swapped back in) and
     * fenced before the kernel started; the kernel reads and writes through it.
     *
     * @return the job's VM, or null for a job without one
     */
    GpuVm vm();

    /**
     * Returns whether the job was cancelled: it ran past the scheduler's timeout (its finished
     * fence has signaled with a TimeoutException already) or the scheduler was closed. A kernel
     * should stop early when it sees this.
     *
     * @return whether the job was cancelled
     */
    boolean isCancelled();
}
