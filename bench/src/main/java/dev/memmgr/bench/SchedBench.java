package dev.memmgr.bench;

import dev.memmgr.Entity;
import dev.memmgr.GpuKernel;
import dev.memmgr.GpuScheduler;
import dev.memmgr.Job;
import dev.memmgr.Priority;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The job scheduler's own cost, with empty kernels.
 *
 * <ul>
 *   <li>{@link #emptyJob}: one entity, push an empty job and wait for its finished fence: the
 *       round trip from the submitting thread to a worker and back, plus the scheduler's
 *       bookkeeping (dispatch, timeout timer, fences).
 *   <li>{@link #executorTask}: the floor, an empty task handed to a single-thread executor and
 *       awaited through its Future: the same two thread hand-overs, nothing else. Target
 *       (DESIGN.md section 5): {@code emptyJob} at most 2 x {@code executorTask}.
 *   <li>{@link #throughput4Entities}: jobs per second through 4 entities on a 64-credit ring,
 *       {@value #BATCH} jobs pushed round-robin, then all awaited.
 * </ul>
 *
 * <p>{@code -prof gc} shows what one job allocates (its fences, the job, the builder and the
 * scheduler's queue entries).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx1g"})
public class SchedBench { // not final: JMH subclasses @State classes
    static final int BATCH = 256;
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final GpuKernel EMPTY = ctx -> { };
    private static final Runnable EMPTY_TASK = () -> { };

    GpuScheduler gpu;
    Entity entity;
    Entity[] four;
    Job[] batch;
    ExecutorService single;

    @Setup(Level.Trial)
    public void setUp() {
        gpu = GpuScheduler.builder("bench").credits(64).build();
        entity = gpu.createEntity(Priority.NORMAL);
        four = new Entity[4];
        for (int i = 0; i < four.length; i++) {
            four[i] = gpu.createEntity(Priority.NORMAL);
        }
        batch = new Job[BATCH];
        single = Executors.newSingleThreadExecutor();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        gpu.close();
        single.shutdownNow();
    }

    @Benchmark
    public boolean emptyJob() {
        Job j = entity.job(EMPTY).push();
        if (!j.finished().await(WAIT)) {
            throw new IllegalStateException("job not finished: " + j);
        }
        return j.finished().error().isEmpty();
    }

    @Benchmark
    public Object executorTask() throws InterruptedException, ExecutionException {
        return single.submit(EMPTY_TASK).get();
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    @OperationsPerInvocation(BATCH)
    public void throughput4Entities() {
        Job[] b = batch;
        for (int i = 0; i < b.length; i++) {
            b[i] = four[i & 3].job(EMPTY).push();
        }
        for (int i = 0; i < b.length; i++) {
            if (!b[i].finished().await(WAIT)) {
                throw new IllegalStateException("job not finished: " + b[i]);
            }
            b[i] = null;
        }
    }
}
