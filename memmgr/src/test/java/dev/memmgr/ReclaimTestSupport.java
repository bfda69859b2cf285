package dev.memmgr;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * Helpers shared by the reclaim, swap-fault, concurrency and close tests: managers with a swap
 * file of a chosen size, per-object seeded content, exact content checks, snapshots of an
 * object's counters, bounded polling and a small harness of worker threads that collects their
 * failures and is joined with a timeout.
 */
final class ReclaimTestSupport {
    static final int PAGE = 4096;
    static final long KiB = 1L << 10;
    static final long MiB = 1L << 20;
    /** The longest a test waits for something that is expected to happen (another thread, a pass). */
    static final Duration DEADLINE = Duration.ofSeconds(10);
    /** Name of the background reclaim thread (GemDevice). */
    static final String RECLAIM_THREAD = "memmgr-reclaim";

    private ReclaimTestSupport() {
    }

    // ---- managers ----------------------------------------------------------------------------

    /** The managers a test opened, closed after it (in {@code @AfterEach}). */
    static final class Managers implements AutoCloseable {
        private final List<MemoryManager> open = new ArrayList<>();

        /** @return m, to be closed by {@link #close()} */
        MemoryManager track(MemoryManager m) {
            open.add(m);
            return m;
        }

        @Override
        public void close() {
            for (MemoryManager m : open) {
                m.close();
            }
            open.clear();
        }
    }

    /** A builder with 4 KiB pages, a swap file of {@code swapBytes} at {@code swap}, no background reclaim. */
    static MemoryManager.Builder builder(long capacity, Path swap, long swapBytes) {
        return MemoryManager.builder().capacity(capacity).pageSize(PAGE).swapFile(swap, swapBytes)
                .backgroundReclaim(false);
    }

    /** A manager with 4 KiB pages, a swap file of {@code swapBytes} at {@code swap}, no background reclaim. */
    static MemoryManager manager(long capacity, Path swap, long swapBytes) {
        return builder(capacity, swap, swapBytes).build();
    }

    // ---- content -----------------------------------------------------------------------------

    /** @return {@code size} pseudo-random bytes determined by {@code seed} (distinct seeds: distinct content) */
    static byte[] pattern(long seed, long size) {
        byte[] a = new byte[Math.toIntExact(size)];
        new SplittableRandom(seed * 0x9E3779B97F4A7C15L + 12345).nextBytes(a);
        return a;
    }

    /** Writes {@link #pattern(long, long)} over the whole object; @return the bytes written */
    static byte[] writePattern(BufferObject bo, long seed) {
        byte[] p = pattern(seed, bo.size());
        bo.write(0, MemorySegment.ofArray(p));
        return p;
    }

    /** @return the whole content of the object, through {@link BufferObject#read} */
    static byte[] read(BufferObject bo) {
        byte[] a = new byte[Math.toIntExact(bo.size())];
        bo.read(0, MemorySegment.ofArray(a));
        return a;
    }

    /** @return the bytes of a segment */
    static byte[] bytesOf(MemorySegment s) {
        return s.toArray(ValueLayout.JAVA_BYTE);
    }

    /** A heap segment of {@code n} bytes, each {@code b}. */
    static MemorySegment filled(long n, byte b) {
        byte[] a = new byte[Math.toIntExact(n)];
        Arrays.fill(a, b);
        return MemorySegment.ofArray(a);
    }

    /** Reads the whole object and compares it with {@code expected}, naming the first bad byte. */
    static void assertContent(byte[] expected, BufferObject bo, String what) {
        assertBytes(expected, read(bo), what);
    }

    /** Compares two byte arrays, naming the first bad byte and its page (no huge dumps). */
    static void assertBytes(byte[] expected, byte[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        int i = Arrays.mismatch(expected, actual);
        if (i >= 0) {
            fail(what + ": content differs first at byte " + i + " (page " + i / PAGE + "): expected "
                    + expected[i] + " but was " + actual[i]);
        }
    }

    /** Asserts every byte of {@code actual} is {@code b}. */
    static void assertAll(byte b, byte[] actual, String what) {
        for (int i = 0; i < actual.length; i++) {
            if (actual[i] != b) {
                fail(what + ": byte " + i + " is " + actual[i] + ", expected " + b);
            }
        }
    }

    // ---- object state ------------------------------------------------------------------------

    /** What a test can see of an object without touching it. */
    record State(Residency residency, int refCount, int pagesUseCount, int pinCount, int vmapCount) {
        static State of(BufferObject bo) {
            return new State(bo.residency(), bo.refCount(), bo.pagesUseCount(), bo.pinCount(), bo.vmapCount());
        }
    }

    static List<State> states(List<BufferObject> bos) {
        List<State> out = new ArrayList<>(bos.size());
        for (BufferObject bo : bos) {
            out.add(State.of(bo));
        }
        return out;
    }

    /** @return how many of the objects are in {@code r} */
    static int count(List<BufferObject> bos, Residency r) {
        int n = 0;
        for (BufferObject bo : bos) {
            if (bo.residency() == r) {
                n++;
            }
        }
        return n;
    }

    // ---- waiting -----------------------------------------------------------------------------

    /**
     * Polls {@code condition} until it holds, at most {@link #DEADLINE}; fails otherwise. The poll
     * interval only spares the CPU of a small machine: the outcome never depends on it.
     */
    static void awaitCondition(BooleanSupplier condition, String what) {
        awaitCondition(condition, () -> what);
    }

    static void awaitCondition(BooleanSupplier condition, java.util.function.Supplier<String> what) {
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                fail("timed out after " + DEADLINE + " waiting for: " + what.get());
            }
            LockSupport.parkNanos(200_000);
        }
    }

    /** Awaits a latch that is expected to open, at most {@link #DEADLINE}. */
    static void await(CountDownLatch latch, String what) {
        try {
            if (!latch.await(DEADLINE.toMillis(), TimeUnit.MILLISECONDS)) {
                fail("timed out after " + DEADLINE + " waiting for: " + what);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fail("interrupted waiting for: " + what);
        }
    }

    /** @return live threads with this exact name */
    static Set<Thread> liveThreadsNamed(String name) {
        Set<Thread> out = new HashSet<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.isAlive() && name.equals(t.getName())) {
                out.add(t);
            }
        }
        return out;
    }

    // ---- worker threads ----------------------------------------------------------------------

    /** A worker body that may throw anything. */
    @FunctionalInterface
    interface Body {
        void run() throws Exception;
    }

    /**
     * Worker threads started together: failures (any Throwable) are collected, {@link #join()}
     * waits at most {@link #DEADLINE} and fails naming the threads still running with their stacks.
     */
    static final class Workers {
        private final List<Thread> threads = new ArrayList<>();
        private final ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
        private final CountDownLatch go = new CountDownLatch(1);

        /** Adds a daemon thread that waits for {@link #start()} and then runs {@code body}. */
        Workers add(String name, Body body) {
            Thread t = new Thread(() -> {
                try {
                    go.await();
                    body.run();
                } catch (Throwable e) {
                    failures.add(new AssertionError("thread " + Thread.currentThread().getName() + " failed: " + e, e));
                }
            }, name);
            t.setDaemon(true);
            threads.add(t);
            t.start();
            return this;
        }

        /** Lets every thread run at once. */
        Workers start() {
            go.countDown();
            return this;
        }

        /** @return whether a worker has failed so far */
        boolean failed() {
            return !failures.isEmpty();
        }

        /** Joins every thread (bounded), then rethrows the first failure with the others suppressed. */
        void join() {
            long deadline = System.nanoTime() + DEADLINE.toNanos();
            for (Thread t : threads) {
                long left = deadline - System.nanoTime();
                try {
                    if (left > 0) {
                        t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    fail("interrupted joining " + t.getName());
                }
            }
            StringBuilder hung = new StringBuilder();
            for (Thread t : threads) {
                if (t.isAlive()) {
                    hung.append("\n  ").append(t.getName()).append(" (").append(t.getState()).append(")");
                    for (StackTraceElement e : t.getStackTrace()) {
                        hung.append("\n      at ").append(e);
                    }
                }
            }
            rethrowFailures(hung.isEmpty() ? null : "threads still running after " + DEADLINE + ":" + hung);
        }

        private void rethrowFailures(String hung) {
            AssertionError first = null;
            if (hung != null) {
                first = new AssertionError(hung);
            }
            for (Throwable t : failures) {
                if (first == null) {
                    first = t instanceof AssertionError a ? a : new AssertionError(t);
                } else {
                    first.addSuppressed(t);
                }
            }
            if (first != null) {
                throw first;
            }
        }
    }
}
