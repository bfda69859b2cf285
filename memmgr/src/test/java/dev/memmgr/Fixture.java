package dev.memmgr;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.logging.LogRecord;
import java.util.stream.Stream;

/**
 * The test fixture, one per test, handed to test and lifecycle methods by {@link MemmgrExtension}
 * (declare a {@code Fixture} parameter). It builds managers (small, background reclaim off unless
 * asked, with the default swap, a swap file of a chosen size in the test's own temporary
 * directory, or no swap), opens clients, and closes every manager and client it made when the test
 * ends, passed or failed; it captures what the library logs ({@link #logs()}) and fails the test
 * on a WARNING the test did not expect. Static helpers: content (patterns, fills, reads, exact
 * comparisons naming the first bad byte), object state snapshots, bounded waits and threads.
 */
// Public for the tests of the internal packages; patched into the exported package dev.memmgr
// with the tests, so javac sees JUnit and java.logging types in an "exported" signature: not API.
@SuppressWarnings("exports")
public final class Fixture {
    /** Page size of every manager built here. */
    public static final int PAGE = 4096;
    public static final long KiB = 1L << 10;
    public static final long MiB = 1L << 20;
    /** Capacity of {@link #manager()}: 16 MiB, 4096 pages. */
    public static final long CAPACITY = 16 * MiB;
    /** The longest a test waits for something that is expected to happen (another thread, a pass). */
    public static final Duration DEADLINE = Duration.ofSeconds(10);
    /** How long a test waits for something that is expected NOT to happen (a blocked thread). */
    public static final Duration SHORT_WAIT = Duration.ofMillis(50);
    /** Name of the background reclaim thread (GemDevice). */
    public static final String RECLAIM_THREAD = "memmgr-reclaim";

    private final List<MemoryManager> managers = new ArrayList<>();
    private final List<Client> clients = new ArrayList<>();
    private final List<Workers> workers = new ArrayList<>();
    private final LogCapture logs = new LogCapture();
    private Path tempDir;
    private int swapFiles;

    Fixture() {
    }

    // ---- managers and clients ------------------------------------------------------------------

    /** A 16 MiB manager with 4 KiB pages, the default swap, no background reclaim. */
    public MemoryManager manager() {
        return manager(CAPACITY);
    }

    /** A manager of {@code capacity} bytes with 4 KiB pages, the default swap, no background reclaim. */
    public MemoryManager manager(long capacity) {
        return build(MemoryManager.builder().capacity(capacity).pageSize(PAGE).backgroundReclaim(false));
    }

    /** A manager of {@code capacity} bytes without swap (eviction disabled), no background reclaim. */
    public MemoryManager managerNoSwap(long capacity) {
        return build(MemoryManager.builder().capacity(capacity).pageSize(PAGE).noSwap().backgroundReclaim(false));
    }

    /** A manager with a swap file of {@code swapBytes} in {@link #tempDir()}, no background reclaim. */
    public MemoryManager manager(long capacity, long swapBytes) {
        return build(builder(capacity, swapBytes));
    }

    /**
     * A builder with 4 KiB pages, a new swap file of {@code swapBytes} in {@link #tempDir()} and
     * background reclaim off; build it with {@link #build} so that the manager is closed.
     */
    public MemoryManager.Builder builder(long capacity, long swapBytes) {
        return MemoryManager.builder().capacity(capacity).pageSize(PAGE).swapFile(newSwapPath(), swapBytes)
                .backgroundReclaim(false);
    }

    /** @return a path for a new swap file in {@link #tempDir()} (no file there yet) */
    public Path newSwapPath() {
        return tempDir().resolve("swap-" + swapFiles++);
    }

    /** Builds {@code b}; the manager is closed when the test ends. */
    public MemoryManager build(MemoryManager.Builder b) {
        return track(b.build());
    }

    /** Closes {@code mm} when the test ends (again, if the test closed it: close is idempotent). */
    public MemoryManager track(MemoryManager mm) {
        synchronized (managers) {
            managers.add(mm);
        }
        return mm;
    }

    /** Opens a client of {@code mm}, closed when the test ends. */
    public Client client(MemoryManager mm, String name) {
        Client c = mm.openClient(name);
        synchronized (clients) {
            clients.add(c);
        }
        return c;
    }

    /** @return worker threads, stopped when the test ends if it did not join them */
    public Workers workers() {
        Workers w = new Workers();
        synchronized (workers) {
            workers.add(w);
        }
        return w;
    }

    /** @return this test's own temporary directory, deleted when the test ends */
    public Path tempDir() {
        if (tempDir == null) {
            try {
                tempDir = Files.createTempDirectory("memmgr-test-");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return tempDir;
    }

    // ---- the log -------------------------------------------------------------------------------

    /** @return what the library logged during this test */
    public LogCapture logs() {
        return logs;
    }

    /**
     * Asserts the leak WARNING of the contract for {@code bo}: freed (last reference gone) with
     * pins, vmaps or page uses outstanding, "reports the leak through System.Logger at WARNING".
     * The counts are those {@link BufferObject#pinCount()}, {@link BufferObject#vmapCount()} and
     * {@link BufferObject#pagesUseCount()} showed just before.
     */
    public LogRecord expectLeakWarning(BufferObject bo, int pins, int vmaps, int uses) {
        return logs.expectWarning(leakFragments(bo, pins, vmaps, uses));
    }

    /** The fragments every leak warning for these counts contains (its wording: GemObject.release). */
    static String[] leakFragments(BufferObject bo, int pins, int vmaps, int uses) {
        String client;
        try {
            client = bo.owner().name();
        } catch (IllegalStateException freed) { // the contract does not promise owner() after free
            return new String[] {"buffer object " + bo.handle() + " of client '", pins + " pins", vmaps + " vmaps",
                uses + " page uses", "leak"};
        }
        return leakFragments(bo.handle(), client, pins, vmaps, uses);
    }

    /** As {@link #leakFragments(BufferObject, int, int, int)} for the object of this handle and client. */
    static String[] leakFragments(int handle, String client, int pins, int vmaps, int uses) {
        return new String[] {"buffer object " + handle + " of client '" + client + "'",
            pins + " pins", vmaps + " vmaps", uses + " page uses", "leak"};
    }

    /**
     * Asserts that {@code bo}'s eviction failed and was reported at WARNING with the
     * SwapException as the cause: once per attempt (reclaim may try the object more than once).
     *
     * @return the reports, in order
     */
    public List<LogRecord> expectEvictionFailureWarnings(BufferObject bo) {
        List<LogRecord> rs = logs.expectWarnings("eviction of buffer object " + bo.handle() + " failed");
        for (LogRecord r : rs) {
            assertInstanceOf(SwapException.class, r.getThrown(), "the warning carries the cause");
        }
        return rs;
    }

    // ---- end of test ---------------------------------------------------------------------------

    void start() {
        logs.start();
    }

    /**
     * Closes the managers (which frees their objects without leak warnings: the manager goes), then
     * the clients (no-ops by then), stops workers, removes the temporary directory, stops the
     * capture.
     *
     * @return what went wrong, or null
     */
    AssertionError finish() {
        List<Throwable> problems = new ArrayList<>();
        List<MemoryManager> ms;
        synchronized (managers) {
            ms = new ArrayList<>(managers);
        }
        for (MemoryManager mm : ms.reversed()) {
            closeQuietly(mm, "manager", problems);
        }
        List<Client> cs;
        synchronized (clients) {
            cs = new ArrayList<>(clients);
        }
        for (Client c : cs) {
            closeQuietly(c, "client " + c.name(), problems);
        }
        List<Workers> ws;
        synchronized (workers) {
            ws = new ArrayList<>(workers);
        }
        for (Workers w : ws) {
            List<String> alive = w.stop();
            if (!alive.isEmpty()) {
                problems.add(new AssertionError("worker threads still running after the test: " + alive));
            }
        }
        deleteTempDir(problems);
        logs.stop();
        List<LogRecord> unexpected = logs.unexpected();
        if (!unexpected.isEmpty()) {
            problems.add(new AssertionError("unexpected WARNING(s) logged by the library:" + LogCapture.describe(unexpected)));
        }
        if (problems.isEmpty()) {
            return null;
        }
        AssertionError e = problems.get(0) instanceof AssertionError a ? a
                : new AssertionError("closing the fixture failed", problems.get(0));
        for (Throwable t : problems.subList(1, problems.size())) {
            e.addSuppressed(t);
        }
        return e;
    }

    private static void closeQuietly(AutoCloseable c, String what, List<Throwable> problems) {
        try {
            c.close();
        } catch (Throwable t) {
            problems.add(new AssertionError("closing " + what + " threw " + t, t));
        }
    }

    private void deleteTempDir(List<Throwable> problems) {
        if (tempDir == null) {
            return;
        }
        try (Stream<Path> s = Files.walk(tempDir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            problems.add(e);
        }
    }

    // ---- content -------------------------------------------------------------------------------

    /** @return {@code n} pages in bytes */
    public static long pages(long n) {
        return n * PAGE;
    }

    /** @return a heap segment of {@code n} bytes, each {@code b} */
    public static MemorySegment filled(long n, byte b) {
        byte[] a = new byte[Math.toIntExact(n)];
        Arrays.fill(a, b);
        return MemorySegment.ofArray(a);
    }

    /** @return a heap segment holding {@code a} */
    public static MemorySegment seg(byte[] a) {
        return MemorySegment.ofArray(a);
    }

    /** @return {@code size} pseudo-random bytes determined by {@code seed} (distinct seeds: distinct content) */
    public static byte[] pattern(long seed, long size) {
        byte[] a = new byte[Math.toIntExact(size)];
        new SplittableRandom(seed * 0x9E3779B97F4A7C15L + 12345).nextBytes(a);
        return a;
    }

    /** Writes {@code b} over the whole object. */
    public static void fill(BufferObject bo, byte b) {
        bo.write(0, filled(bo.size(), b));
    }

    /** Writes {@link #pattern(long, long)} over the whole object; @return the bytes written */
    public static byte[] writePattern(BufferObject bo, long seed) {
        byte[] p = pattern(seed, bo.size());
        bo.write(0, MemorySegment.ofArray(p));
        return p;
    }

    /** @return the object's whole content, read with {@link BufferObject#read(long, MemorySegment)} */
    public static byte[] contentOf(BufferObject bo) {
        return contentOf(bo, 0, Math.toIntExact(bo.size()));
    }

    /** @return {@code length} bytes of the object from {@code offset} */
    public static byte[] contentOf(BufferObject bo, long offset, int length) {
        byte[] a = new byte[length];
        bo.read(offset, MemorySegment.ofArray(a));
        return a;
    }

    /** @return the bytes of a segment */
    public static byte[] bytesOf(MemorySegment s) {
        return s.toArray(ValueLayout.JAVA_BYTE);
    }

    /** @return free frames of the manager, counted by the frame allocator (internal) */
    public static int freeFrames(MemoryManager mm) {
        return mm.device().frames().freeFrames();
    }

    /** Asserts every byte of {@code actual} is {@code expected}. */
    public static void assertAllBytes(byte expected, byte[] actual) {
        byte[] e = new byte[actual.length];
        Arrays.fill(e, expected);
        assertArrayEquals(e, actual);
    }

    /** Asserts every byte of {@code actual} is {@code b}, naming the first that is not. */
    public static void assertAllBytes(byte b, byte[] actual, String what) {
        for (int i = 0; i < actual.length; i++) {
            if (actual[i] != b) {
                fail(what + ": byte " + i + " is " + actual[i] + ", expected " + b);
            }
        }
    }

    /** Reads the whole object and compares it with {@code expected}, naming the first bad byte. */
    public static void assertContent(byte[] expected, BufferObject bo, String what) {
        assertBytes(expected, contentOf(bo), what);
    }

    /** Compares two byte arrays, naming the first bad byte and its page (no huge dumps). */
    public static void assertBytes(byte[] expected, byte[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        int i = Arrays.mismatch(expected, actual);
        if (i >= 0) {
            fail(what + ": content differs first at byte " + i + " (page " + i / PAGE + "): expected "
                    + expected[i] + " but was " + actual[i]);
        }
    }

    // ---- object state --------------------------------------------------------------------------

    /** What a test can see of an object without touching it. */
    public record State(Residency residency, int refCount, int pagesUseCount, int pinCount, int vmapCount) {
        /** @return the state of {@code bo} now */
        public static State of(BufferObject bo) {
            return new State(bo.residency(), bo.refCount(), bo.pagesUseCount(), bo.pinCount(), bo.vmapCount());
        }
    }

    /** @return the state of each object */
    public static List<State> states(List<BufferObject> bos) {
        return bos.stream().map(State::of).toList();
    }

    /** @return how many of the objects are in {@code r} */
    public static int count(List<BufferObject> bos, Residency r) {
        return (int) bos.stream().filter(bo -> bo.residency() == r).count();
    }

    // ---- waiting and other threads -------------------------------------------------------------

    /**
     * Polls {@code condition} until it holds, at most {@link #DEADLINE}; fails otherwise. The poll
     * interval only spares the CPU of a small machine: the outcome never depends on it.
     */
    public static void awaitCondition(BooleanSupplier condition, String what) {
        awaitCondition(condition, () -> what);
    }

    /** As {@link #awaitCondition(BooleanSupplier, String)}, the description computed on failure. */
    public static void awaitCondition(BooleanSupplier condition, Supplier<String> what) {
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                fail("timed out after " + DEADLINE + " waiting for: " + what.get());
            }
            LockSupport.parkNanos(200_000);
        }
    }

    /** Awaits a latch that is expected to open, at most {@link #DEADLINE}. */
    public static void await(CountDownLatch latch, String what) {
        try {
            if (!latch.await(DEADLINE.toMillis(), TimeUnit.MILLISECONDS)) {
                fail("timed out after " + DEADLINE + " waiting for: " + what);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fail("interrupted waiting for: " + what);
        }
    }

    /** Waits (bounded) for a future that is expected to complete; rethrows its exception unwrapped. */
    public static <T> T await(Future<T> f) {
        try {
            return f.get(DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException r) {
                throw r;
            }
            if (c instanceof Error err) {
                throw err;
            }
            throw new AssertionError(c);
        } catch (TimeoutException e) {
            return fail("the other thread did not finish within " + DEADLINE);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return fail("interrupted");
        }
    }

    /** Asserts that a future does not complete within {@link #SHORT_WAIT} (the thread is blocked). */
    public static void assertStillBlocked(Future<?> f, String what) {
        try {
            f.get(SHORT_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            fail(what + ": expected the other thread to block, but it finished");
        } catch (TimeoutException expected) {
            // still blocked, as it should
        } catch (ExecutionException e) {
            fail(what + ": expected the other thread to block, but it threw " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fail("interrupted");
        }
    }

    /** Starts {@code task} in a new daemon thread. */
    public static <T> CompletableFuture<T> startInOtherThread(Callable<T> task) {
        CompletableFuture<T> f = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                f.complete(task.call());
            } catch (Throwable e) {
                f.completeExceptionally(e);
            }
        }, "test-other");
        t.setDaemon(true);
        t.start();
        return f;
    }

    /** Starts {@code task} in a new daemon thread. */
    public static CompletableFuture<Void> startInOtherThread(Runnable task) {
        return startInOtherThread(() -> {
            task.run();
            return null;
        });
    }

    /** Runs {@code task} in another thread and returns its result (bounded wait). */
    public static <T> T inOtherThread(Callable<T> task) {
        return await(startInOtherThread(task));
    }

    /** Runs {@code task} in another thread; rethrows what it threw (bounded wait). */
    public static void inOtherThread(Runnable task) {
        await(startInOtherThread(task));
    }

    /** @return live threads with this exact name */
    public static Set<Thread> liveThreadsNamed(String name) {
        Set<Thread> out = new HashSet<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.isAlive() && name.equals(t.getName())) {
                out.add(t);
            }
        }
        return out;
    }
}
