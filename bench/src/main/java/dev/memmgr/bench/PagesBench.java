package dev.memmgr.bench;

import dev.memmgr.BufferObject;
import dev.memmgr.Client;
import dev.memmgr.MemoryManager;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The lock-free fast paths of page counts, one thread: {@code getPages}+{@code putPages} and
 * {@code pin}+{@code unpin} on a resident object that is already used and pinned (so the counts
 * move 1 -&gt; 2 -&gt; 1 and no transition happens), next to the floor: an {@link AtomicInteger}
 * increment then decrement. Target (DESIGN.md section 5): at most 1.5 x {@code atomicPair},
 * and 0 bytes allocated per operation ({@code -prof gc}: gc.alloc.rate.norm).
 *
 * <p>{@code casPair} is a second floor: the same counter moved the way the fast paths must move
 * theirs, conditionally (increment if positive, decrement if above one: a load and a
 * {@code cmpxchg} each, as the kernel's refcount_inc_not_zero and refcount_dec_not_one), where
 * {@code atomicPair} is two unconditional {@code xadd}s.
 *
 * <p>{@link PagesContendedBench} runs the same three with two threads on one object.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx1g"})
public class PagesBench {
    /** A field, as the counts are fields of the buffer object. */
    final AtomicInteger counter = new AtomicInteger(1);
    MemoryManager mm;
    BufferObject bo;

    @Setup(Level.Trial)
    public void setUp() {
        mm = MemoryManager.builder().capacity(64L << 20).backgroundReclaim(false).build();
        Client client = mm.openClient("bench");
        bo = client.create(64 << 10);
        bo.getPages(); // resident and used: getPages/putPages stay on the fast path
        bo.pin();      // pinned: pin/unpin stay on the fast path
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        mm.close();
    }

    @Benchmark
    public int atomicPair() {
        counter.incrementAndGet();
        return counter.decrementAndGet();
    }

    /** The conditional floor: increment if positive, decrement if above one, by CAS. */
    @Benchmark
    public int casPair() {
        for (int c = counter.get(); c > 0; ) {
            int w = counter.compareAndExchange(c, c + 1);
            if (w == c) {
                break;
            }
            c = w;
        }
        for (int c = counter.get(); c > 1; ) {
            int w = counter.compareAndExchange(c, c - 1);
            if (w == c) {
                return w;
            }
            c = w;
        }
        return 0;
    }

    @Benchmark
    public void getPutPages() {
        bo.getPages();
        bo.putPages();
    }

    @Benchmark
    public void pinUnpin() {
        bo.pin();
        bo.unpin();
    }
}
