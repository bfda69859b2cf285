package dev.memmgr.bench;

import dev.memmgr.Attachment;
import dev.memmgr.BufferObject;
import dev.memmgr.DmaBuf;
import dev.memmgr.MemoryManager;
import dev.memmgr.Reservation;
import dev.memmgr.Vmap;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Buffer sharing (DESIGN.md 4.4), one thread.
 * <ul>
 * <li>{@code mapMapped}: {@link Attachment#map()} of a dynamic attachment that is already mapped,
 *     the buffer's reservation held by the benchmark thread for the whole iteration (as an
 *     importer holds it around its work): the check that the lock is held, that the exporter is
 *     alive, and the cached segment. Target (section 5): at most 100 ns and 0 bytes allocated
 *     per operation ({@code -prof gc}).</li>
 * <li>{@code evictMapped}, {@code attachments} 1, 16, 64: one eviction ({@code reclaim}) of a
 *     one-page exporter with that many dynamic attachments mapped: every one is told
 *     ({@code moveNotify}, a listener that counts) and unmapped before the page goes to swap.
 *     Before each operation (not timed) every attachment is mapped again, which swaps the page
 *     back in.</li>
 * <li>{@code evictUnattached}: the same eviction with no attachment mapped (the exported object's
 *     listener runs and finds nothing to tell) and no mapping to tear down.</li>
 * <li>{@code evictViewed}: the same with no attachment but a cached mapping (a vmap opened and
 *     closed before each operation), torn down by the eviction as the attachments' mapping is:
 *     the floor of {@code evictMapped}. The cost per notified attachment is
 *     ({@code evictMapped} - {@code evictViewed}) / attachments. Tearing a mapping down (an
 *     munmap and the close of a shared arena, a handshake with every thread) costs tens of
 *     microseconds and varies a lot on a busy machine; compare runs of the same fork length.</li>
 * </ul>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx1g"})
public class DmaBufBench {
    /** A manager for one state (background reclaim off: only the benchmark evicts). */
    static MemoryManager manager() {
        return MemoryManager.builder().capacity(16L << 20).backgroundReclaim(false).build();
    }

    /** A one-page object with content, exported. */
    static BufferObject exported(MemoryManager mm) {
        int page = mm.pageSize();
        BufferObject bo = mm.openClient("bench").create(page);
        bo.write(0, MemorySegment.ofArray(new byte[page]));
        bo.export();
        return bo;
    }

    // Each state owns its manager: JMH is not relied on to hand one instance of a shared state to
    // every fixture (with a manager in a state injected into the others' fixtures, its trial setup
    // ran twice and the benchmark evicted from an empty manager).

    /**
     * A mapped dynamic attachment of a pinned exporter (never evicted), the reservation held by
     * the benchmark thread for each iteration.
     */
    @State(Scope.Thread)
    public static class Held {
        MemoryManager mm;
        Reservation resv;
        Attachment hot;

        @Setup(Level.Trial)
        public void attach() {
            mm = manager();
            BufferObject bo = exported(mm);
            bo.pin();
            DmaBuf buf = bo.export();
            resv = buf.resv();
            hot = buf.attach("hot", a -> { });
        }

        @Setup(Level.Iteration)
        public void lockAndMap() {
            resv.lock();
            hot.map();
        }

        @TearDown(Level.Iteration)
        public void unmapAndUnlock() {
            hot.unmap();
            resv.unlock();
        }

        @TearDown(Level.Trial)
        public void close() {
            mm.close();
        }
    }

    @Benchmark
    public MemorySegment mapMapped(Held h) {
        return h.hot.map();
    }

    /** N dynamic attachments of one exporter, all mapped again before each operation (not timed). */
    @State(Scope.Thread)
    public static class Mapped {
        @Param({"1", "16", "64"})
        public int attachments;

        MemoryManager mm;
        Reservation resv;
        Attachment[] dynamic;
        long notices;

        @Setup(Level.Trial)
        public void attach() {
            mm = manager();
            DmaBuf buf = exported(mm).export();
            resv = buf.resv();
            dynamic = new Attachment[attachments];
            for (int i = 0; i < attachments; i++) {
                dynamic[i] = buf.attach("importer-" + i, a -> notices++);
            }
        }

        @Setup(Level.Invocation)
        public void mapAll() {
            resv.lock();
            try {
                for (Attachment a : dynamic) {
                    a.map(); // the first swaps the page back in
                }
            } finally {
                resv.unlock();
            }
        }

        /** Fails the run unless every operation evicted and told every attachment. */
        @TearDown(Level.Trial)
        public void checkAndClose() {
            long evictions = mm.stats().evictions();
            mm.close();
            if (evictions == 0 || notices != evictions * attachments) {
                throw new IllegalStateException(notices + " notices for " + evictions + " evictions of " + attachments
                        + " attachments: the benchmark did not measure what it says");
            }
        }
    }

    @Benchmark
    public long evictMapped(Mapped m) {
        return m.mm.reclaim(Long.MAX_VALUE); // one page to swap, N notices and unmaps first
    }

    /** The floor: an exported object with no attachment, swapped in again before each operation. */
    @State(Scope.Thread)
    public static class Unattached {
        MemoryManager mm;
        BufferObject bo;

        @Setup(Level.Trial)
        public void create() {
            mm = manager();
            bo = exported(mm);
        }

        @Setup(Level.Invocation)
        public void swapIn() {
            bo.getPages();
            bo.putPages();
        }

        @TearDown(Level.Trial)
        public void checkAndClose() {
            long evictions = mm.stats().evictions();
            mm.close();
            if (evictions == 0) {
                throw new IllegalStateException("no eviction: the benchmark did not measure what it says");
            }
        }
    }

    @Benchmark
    public long evictUnattached(Unattached u) {
        return u.mm.reclaim(Long.MAX_VALUE);
    }

    /**
     * The floor with a mapping: an exported object with no attachment whose mapping is cached (a
     * vmap opened and closed before each operation, which swaps it in): its eviction tears the
     * mapping down as one with mapped attachments does.
     */
    @State(Scope.Thread)
    public static class Viewed {
        MemoryManager mm;
        BufferObject bo;

        @Setup(Level.Trial)
        public void create() {
            mm = manager();
            bo = exported(mm);
        }

        @Setup(Level.Invocation)
        public void viewOnce() {
            try (Vmap v = bo.vmap()) {
                v.segment().get(ValueLayout.JAVA_BYTE, 0);
            }
        }

        @TearDown(Level.Trial)
        public void checkAndClose() {
            long evictions = mm.stats().evictions();
            mm.close();
            if (evictions == 0) {
                throw new IllegalStateException("no eviction: the benchmark did not measure what it says");
            }
        }
    }

    @Benchmark
    public long evictViewed(Viewed v) {
        return v.mm.reclaim(Long.MAX_VALUE);
    }
}
