package dev.memmgr;

/**
 * The work of a {@link Job}: Java code standing in for a GPU kernel, run by a worker thread of the
 * {@link GpuScheduler}. An exception it throws becomes the error of the job's finished fence.
 */
@FunctionalInterface
public interface GpuKernel {
    /**
     * Runs the job.
     *
     * @param ctx the job's context: its GPU VM, if any, and whether it was cancelled
     * @throws Exception on failure: the job's finished fence signals with it as error
     */
    void run(JobContext ctx) throws Exception;
}
