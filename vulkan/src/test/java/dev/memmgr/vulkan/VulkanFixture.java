package dev.memmgr.vulkan;

import static org.junit.jupiter.api.Assertions.fail;

import dev.memmgr.Client;
import dev.memmgr.MemoryManager;
import dev.memmgr.vulkan.tools.ComputeKernel;
import dev.memmgr.vulkan.tools.TextureRenderer;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * The fixture of one Vulkan test (from {@link VulkanExtension}): the shared device, managers
 * (4 KiB pages, the default swap, no background reclaim) and clients closed when the test ends,
 * pipelines built once per test, and the library's log captured: a WARNING fails the test. At the
 * end it waits for the GPU, closes the imports the test left open (a failure: tests close them),
 * then the managers.
 */
final class VulkanFixture {
    /** Page size of every manager built here. */
    static final int PAGE = 4096;
    /** The longest a test waits for the GPU or another thread. */
    static final Duration DEADLINE = Duration.ofSeconds(20);
    /** How long a test waits for something that is expected NOT to happen. */
    static final Duration SHORT_WAIT = Duration.ofMillis(100);

    private final VulkanDevice device;
    private final List<MemoryManager> managers = new ArrayList<>();
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private final Logger logger = Logger.getLogger("dev.memmgr");
    private final List<LogRecord> warnings = new ArrayList<>();
    private final Handler handler = new Handler() {
        @Override
        public void publish(LogRecord r) {
            if (r.getLevel().intValue() >= Level.WARNING.intValue()) {
                synchronized (warnings) {
                    warnings.add(r);
                }
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };
    private ComputeKernel kernel;
    private TextureRenderer renderer;

    VulkanFixture(VulkanDevice device) {
        this.device = device;
    }

    VulkanDevice device() {
        return device;
    }

    /** A manager of {@code capacity} bytes, 4 KiB pages, a temporary swap file of twice that. */
    MemoryManager manager(long capacity) {
        MemoryManager mm = MemoryManager.builder().capacity(capacity).pageSize(PAGE).backgroundReclaim(false).build();
        managers.add(mm);
        return mm;
    }

    Client client(MemoryManager mm, String name) {
        return mm.openClient(name); // closed with its manager
    }

    ComputeKernel kernel() {
        if (kernel == null) {
            kernel = new ComputeKernel(device);
            closeables.add(kernel);
        }
        return kernel;
    }

    TextureRenderer renderer() {
        if (renderer == null) {
            renderer = new TextureRenderer(device);
            closeables.add(renderer);
        }
        return renderer;
    }

    void start() {
        logger.addHandler(handler);
    }

    /** @return what went wrong, or null */
    AssertionError finish() {
        List<Throwable> problems = new ArrayList<>();
        try {
            device.waitIdle();
        } catch (RuntimeException e) {
            problems.add(e);
        }
        List<HostImport> left = device.imports();
        for (HostImport i : left) {
            try {
                i.close();
            } catch (RuntimeException e) {
                problems.add(e);
            }
        }
        if (!left.isEmpty()) {
            problems.add(new AssertionError("the test left " + left.size() + " import(s) open: " + left));
        }
        for (AutoCloseable c : closeables.reversed()) {
            try {
                c.close();
            } catch (Exception e) {
                problems.add(e);
            }
        }
        for (MemoryManager mm : managers.reversed()) {
            try {
                mm.close();
            } catch (RuntimeException e) {
                problems.add(e);
            }
        }
        logger.removeHandler(handler);
        synchronized (warnings) {
            for (LogRecord r : warnings) {
                problems.add(new AssertionError("unexpected WARNING logged by the library: " + r.getMessage(),
                        r.getThrown()));
            }
        }
        if (problems.isEmpty()) {
            return null;
        }
        Throwable first = problems.get(0);
        AssertionError e = first instanceof AssertionError a ? a : new AssertionError("fixture teardown", first);
        for (Throwable t : problems.subList(1, problems.size())) {
            e.addSuppressed(t);
        }
        return e;
    }

    // ---- content helpers -------------------------------------------------------------------------

    /** @return {@code n} pseudo-random ints from the seed */
    static int[] ints(long seed, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] a = new int[n];
        for (int i = 0; i < n; i++) {
            a[i] = r.nextInt();
        }
        return a;
    }

    /** @return {@code n} pseudo-random bytes from the seed */
    static byte[] bytes(long seed, int n) {
        byte[] a = new byte[n];
        new SplittableRandom(seed).nextBytes(a);
        return a;
    }

    /** Ints as native-order bytes (the GPU's view of a buffer of uints on this machine). */
    static MemorySegment segmentOf(int[] a) {
        MemorySegment s = MemorySegment.ofArray(new byte[a.length * 4]);
        MemorySegment.copy(a, 0, s, ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.nativeOrder()), 0, a.length);
        return s;
    }

    /** @return the native-order ints of {@code n * 4} bytes of the object from 0 */
    static int[] readInts(dev.memmgr.BufferObject bo, int n) {
        MemorySegment s = MemorySegment.ofArray(new byte[n * 4]);
        bo.read(0, s);
        int[] a = new int[n];
        MemorySegment.copy(s, ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.nativeOrder()), 0, a, 0, n);
        return a;
    }

    /** Fails naming the first differing element. */
    static void assertInts(int[] expected, int[] actual, String what) {
        if (expected.length != actual.length) {
            fail(what + ": length " + actual.length + ", expected " + expected.length);
        }
        for (int i = 0; i < expected.length; i++) {
            if (expected[i] != actual[i]) {
                fail(what + ": element " + i + " is 0x" + Integer.toHexString(actual[i]) + ", expected 0x"
                        + Integer.toHexString(expected[i]));
            }
        }
    }

    /** Fails naming the first differing pixel. */
    static void assertPixels(byte[] expected, byte[] actual, int width, String what) {
        int i = java.util.Arrays.mismatch(expected, actual);
        if (i >= 0) {
            int px = i / 4;
            fail(what + ": pixel (" + px % width + ", " + px / width + ") channel " + i % 4 + " is "
                    + (actual[i] & 0xff)
                    + ", expected " + (expected[i] & 0xff));
        }
    }
}
