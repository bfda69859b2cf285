package dev.memmgr.bench;

import dev.memmgr.BufferObject;
import dev.memmgr.Client;
import dev.memmgr.Exec;
import dev.memmgr.MemoryManager;
import dev.memmgr.Reservation;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
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
 * Locking many objects at once, uncontended, one thread: {@link Exec#lockAll} of {@value #N}
 * reservations then {@link Exec#close()}, against the floor of {@value #N} plain
 * {@link Reservation#lock()} + {@link Reservation#unlock()} pairs. Target (DESIGN.md section 5):
 * {@code execLockAll} at most 1.5 x {@code plainPairs}.
 *
 * <ul>
 *   <li>{@link #plainPairs}: the floor, lock then unlock, {@value #N} times.
 *   <li>{@link #plainHoldAll}: all {@value #N} locked, then all unlocked (what an Exec does,
 *       without the context): shows the cost of holding many locks at once.
 *   <li>{@link #execLockAll}: {@code Exec.lockAll} locking the {@value #N} reservations, then close.
 *   <li>{@link #execLockAllObjects}: the same through {@link Exec#lock(BufferObject)}, which calls
 *       {@link BufferObject#resv()} (a new Reservation view per call today).
 * </ul>
 *
 * <p><b>Setup.</b> In a running program reservations, threads and each thread's reusable acquire
 * context are long-lived, that is in the old generation. Setup reproduces that (one Exec, then
 * {@code System.gc()}). It matters under G1: a lock's CAS writes its owner token (the Thread, or
 * the thread's acquire context) into the reservation, and a young object written into an old one
 * takes G1's card-marking slow path. Measured without this setup, only the Exec paid it (its
 * context was created after the reservations had been promoted), 1.7x of {@code plainPairs};
 * with a new context per Exec every lock of a long-running program would pay it, which is why
 * Exec reuses the thread's context.
 *
 * <p>Scores are nanoseconds per {@value #N} locks; {@code -prof gc} shows the allocation per
 * operation (none: the Exec is scalar-replaced and the context is the thread's).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx1g"})
public class ExecBench { // not final: JMH subclasses @State classes
    static final int N = 64;

    MemoryManager mm;
    BufferObject[] objects;
    Reservation[] resvs;
    /** Made once: running it allocates nothing. */
    Consumer<Exec> lockResvs;
    Consumer<Exec> lockObjects;

    @Setup(Level.Trial)
    public void setUp() {
        mm = MemoryManager.builder().capacity(16L << 20).backgroundReclaim(false).build();
        Client client = mm.openClient("bench");
        objects = new BufferObject[N];
        resvs = new Reservation[N];
        for (int i = 0; i < N; i++) {
            objects[i] = client.create(4096);
            resvs[i] = objects[i].resv();
        }
        Reservation[] rs = resvs;
        BufferObject[] os = objects;
        lockResvs = e -> {
            for (Reservation r : rs) {
                e.lock(r);
            }
        };
        lockObjects = e -> {
            for (BufferObject bo : os) {
                e.lock(bo);
            }
        };
        Exec.lockAll(lockResvs).close(); // creates this thread's reusable acquire context
        System.gc(); // long-lived: reservations, the thread, its context move to the old generation
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        mm.close();
    }

    @Benchmark
    public void plainPairs() {
        for (Reservation r : resvs) {
            r.lock();
            r.unlock();
        }
    }

    @Benchmark
    public void plainHoldAll() {
        Reservation[] rs = resvs;
        for (Reservation r : rs) {
            r.lock();
        }
        for (int i = rs.length - 1; i >= 0; i--) {
            rs[i].unlock();
        }
    }

    @Benchmark
    public void execLockAll() {
        Exec.lockAll(lockResvs).close();
    }

    @Benchmark
    public void execLockAllObjects() {
        Exec.lockAll(lockObjects).close();
    }
}
