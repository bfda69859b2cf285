package dev.memmgr.vulkan.tools;

import static org.lwjgl.system.MemoryStack.stackPush;
import static org.lwjgl.vulkan.VK10.VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
import static org.lwjgl.vulkan.VK10.VK_BUFFER_USAGE_TRANSFER_SRC_BIT;
import static org.lwjgl.vulkan.VK10.VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
import static org.lwjgl.vulkan.VK10.VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
import static org.lwjgl.vulkan.VK10.VK_SHARING_MODE_EXCLUSIVE;
import static org.lwjgl.vulkan.VK10.VK_WHOLE_SIZE;
import static org.lwjgl.vulkan.VK10.vkAllocateMemory;
import static org.lwjgl.vulkan.VK10.vkBindBufferMemory;
import static org.lwjgl.vulkan.VK10.vkCreateBuffer;
import static org.lwjgl.vulkan.VK10.vkDestroyBuffer;
import static org.lwjgl.vulkan.VK10.vkFreeMemory;
import static org.lwjgl.vulkan.VK10.vkGetBufferMemoryRequirements;
import static org.lwjgl.vulkan.VK10.vkGetPhysicalDeviceMemoryProperties;
import static org.lwjgl.vulkan.VK10.vkMapMemory;
import static org.lwjgl.vulkan.VK10.vkUnmapMemory;

import dev.memmgr.BufferObject;
import dev.memmgr.MemoryManager;
import dev.memmgr.vulkan.HostImport;
import dev.memmgr.vulkan.ImportMode;
import dev.memmgr.vulkan.VulkanDevice;
import dev.memmgr.vulkan.VulkanException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.lwjgl.PointerBuffer;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.vulkan.VkBufferCreateInfo;
import org.lwjgl.vulkan.VkDevice;
import org.lwjgl.vulkan.VkMemoryAllocateInfo;
import org.lwjgl.vulkan.VkMemoryRequirements;
import org.lwjgl.vulkan.VkPhysicalDeviceMemoryProperties;
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
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * Upload of {@code size} bytes the application has produced, until a {@code VkBuffer} the GPU can
 * read holds them, two ways, in one run:
 * <ul>
 * <li>{@link #zeroCopyImport}: the bytes were produced in a memmgr object; import it as host
 * memory ({@code HostImport}: export, dynamic attachment, map, {@code vkAllocateMemory} with the
 * host pointer, a VkBuffer created and bound), then close the import. No byte is copied.
 * <li>{@link #stagingCopy}: the bytes were produced in ordinary memory; {@code vkAllocateMemory}
 * host-visible memory, {@code vkMapMemory}, copy the bytes, unmap, create and bind a VkBuffer,
 * then free it all: the classic staging upload.
 * </ul>
 * {@link #persistentStagingCopy} (the copy alone into memory mapped once: the best a staging ring
 * does) is shown for reference. {@link #main} runs all three and prints the ratios.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
    "-Dorg.lwjgl.system.allocator=system"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 500, timeUnit = TimeUnit.MILLISECONDS)
public class VulkanUploadBench {
    private static final int USAGE = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT;

    /** Bytes uploaded. */
    @Param({"65536", "1048576", "16777216"})
    public int size;

    private VulkanDevice dev;
    private MemoryManager mm;
    private BufferObject bo;
    private Arena arena;
    private MemorySegment source;
    private int hostType;
    private long persistentMemory;
    private MemorySegment persistent;

    /** Opens the device and a manager; fills the object and the source with the same bytes. */
    @Setup(Level.Trial)
    public void setUp() {
        dev = VulkanDevice.open();
        mm = MemoryManager.builder().capacity(Math.max(64L << 20, 4L * size)).backgroundReclaim(false).build();
        bo = mm.openClient("bench").create(size);
        byte[] bytes = new byte[size];
        new SplittableRandom(1).nextBytes(bytes);
        bo.write(0, MemorySegment.ofArray(bytes));
        arena = Arena.ofShared();
        source = arena.allocate(size, 4096);
        source.copyFrom(MemorySegment.ofArray(bytes));
        hostType = hostVisibleType(dev);
        persistentMemory = allocate(dev.vkDevice(), size, hostType);
        persistent = map(dev.vkDevice(), persistentMemory, size);
    }

    /** Closes everything. */
    @TearDown(Level.Trial)
    public void tearDown() {
        vkUnmapMemory(dev.vkDevice(), persistentMemory);
        vkFreeMemory(dev.vkDevice(), persistentMemory, null);
        dev.close();
        mm.close();
        arena.close();
    }

    /**
     * Imports the object's pages and binds a buffer to them; closes the import.
     *
     * @return the buffer's handle, for JMH to consume
     */
    @Benchmark
    public long zeroCopyImport() {
        try (HostImport imp = dev.importBuffer(bo, ImportMode.DYNAMIC)) {
            var buf = imp.createBuffer(0, size, USAGE);
            imp.validate();
            bo.resv().lock();
            try {
                return buf.handle();
            } finally {
                bo.resv().unlock();
            }
        }
    }

    /**
     * Allocates host-visible memory, maps it, copies the bytes, unmaps, binds a buffer; frees it all.
     *
     * @return the buffer's handle, for JMH to consume
     */
    @Benchmark
    public long stagingCopy() {
        VkDevice d = dev.vkDevice();
        long memory = allocate(d, size, hostType);
        try {
            MemorySegment m = map(d, memory, size);
            m.copyFrom(source);
            vkUnmapMemory(d, memory);
            long buffer = buffer(d, size);
            check(vkBindBufferMemory(d, buffer, memory, 0), "vkBindBufferMemory");
            vkDestroyBuffer(d, buffer, null);
            return buffer;
        } finally {
            vkFreeMemory(d, memory, null);
        }
    }

    /**
     * Copies the bytes into memory mapped once.
     *
     * @return the mapping's address, for JMH to consume
     */
    @Benchmark
    public long persistentStagingCopy() {
        persistent.copyFrom(source);
        return persistent.address();
    }

    private static int hostVisibleType(VulkanDevice dev) {
        try (MemoryStack s = stackPush()) {
            VkPhysicalDeviceMemoryProperties p = VkPhysicalDeviceMemoryProperties.malloc(s);
            vkGetPhysicalDeviceMemoryProperties(dev.vkPhysicalDevice(), p);
            int need = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
            for (int i = 0; i < p.memoryTypeCount(); i++) {
                if ((p.memoryTypes(i).propertyFlags() & need) == need) {
                    return i;
                }
            }
            throw new IllegalStateException("no host-visible, host-coherent memory type");
        }
    }

    private static long allocate(VkDevice d, long size, int type) {
        try (MemoryStack s = stackPush()) {
            LongBuffer p = s.mallocLong(1);
            check(vkAllocateMemory(d, VkMemoryAllocateInfo.calloc(s).sType$Default().allocationSize(size)
                    .memoryTypeIndex(type), null, p), "vkAllocateMemory");
            return p.get(0);
        }
    }

    private static MemorySegment map(VkDevice d, long memory, long size) {
        try (MemoryStack s = stackPush()) {
            PointerBuffer p = s.mallocPointer(1);
            check(vkMapMemory(d, memory, 0, VK_WHOLE_SIZE, 0, p), "vkMapMemory");
            return MemorySegment.ofAddress(p.get(0)).reinterpret(size);
        }
    }

    private static long buffer(VkDevice d, long size) {
        try (MemoryStack s = stackPush()) {
            LongBuffer p = s.mallocLong(1);
            check(vkCreateBuffer(d, VkBufferCreateInfo.calloc(s).sType$Default().size(size).usage(USAGE)
                    .sharingMode(VK_SHARING_MODE_EXCLUSIVE), null, p), "vkCreateBuffer");
            VkMemoryRequirements req = VkMemoryRequirements.malloc(s);
            vkGetBufferMemoryRequirements(d, p.get(0), req);
            return p.get(0);
        }
    }

    private static void check(int r, String what) {
        if (r != 0) {
            throw new VulkanException(what, r);
        }
    }

    /**
     * Runs the three benchmarks for every size and prints each ratio (staging time over zero-copy
     * time: above 1, zero copy is faster).
     *
     * @param args ignored
     * @throws RunnerException if JMH fails
     */
    public static void main(String[] args) throws RunnerException {
        Collection<RunResult> results = new Runner(new OptionsBuilder()
                .include(VulkanUploadBench.class.getName() + "\\.").build()).run();
        List<String> rows = new ArrayList<>();
        for (String size : new String[] {"65536", "1048576", "16777216"}) {
            RunResult zero = find(results, "zeroCopyImport", size);
            RunResult staging = find(results, "stagingCopy", size);
            RunResult persistent = find(results, "persistentStagingCopy", size);
            rows.add(String.format(Locale.ROOT, "| %s | %s | %s | %s | %.2f ± %.2f | %.2f ± %.2f |", kib(size),
                    score(zero), score(staging), score(persistent), ratio(staging, zero), ratioError(staging, zero),
                    ratio(persistent, zero), ratioError(persistent, zero)));
        }
        System.out.println();
        System.out.println("| size | zeroCopyImport (us/op) | stagingCopy (us/op) | persistentStagingCopy (us/op)"
                + " | stagingCopy / zeroCopyImport | persistentStagingCopy / zeroCopyImport |");
        System.out.println("|---|---|---|---|---|---|");
        rows.forEach(System.out::println);
    }

    private static RunResult find(Collection<RunResult> results, String method, String size) {
        for (RunResult r : results) {
            if (r.getParams().getBenchmark().endsWith("." + method) && size.equals(r.getParams().getParam("size"))) {
                return r;
            }
        }
        throw new IllegalStateException("no result for " + method + " at size " + size);
    }

    private static String score(RunResult r) {
        var p = r.getPrimaryResult();
        return String.format(Locale.ROOT, "%.3g ± %.2g", p.getScore(), p.getScoreError());
    }

    private static double ratio(RunResult a, RunResult b) {
        return a.getPrimaryResult().getScore() / b.getPrimaryResult().getScore();
    }

    /** The ratio's error, from the relative errors of both scores added. */
    private static double ratioError(RunResult a, RunResult b) {
        double ra = rel(a);
        double rb = rel(b);
        return ratio(a, b) * (Double.isNaN(ra) || Double.isNaN(rb) ? 0 : ra + rb);
    }

    private static double rel(RunResult r) {
        return r.getPrimaryResult().getScoreError() / r.getPrimaryResult().getScore();
    }

    private static String kib(String bytes) {
        long b = Long.parseLong(bytes);
        return b >= 1 << 20 ? (b >> 20) + " MiB" : (b >> 10) + " KiB";
    }
}
