package dev.memmgr;

import dev.memmgr.internal.Access;
import dev.memmgr.internal.gem.DeviceConfig;
import dev.memmgr.internal.gem.GemDevice;
import dev.memmgr.internal.gem.GemFile;
import dev.memmgr.internal.resv.Timeouts;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * A software GPU memory manager: a fixed budget of page frames held off-heap, buffer objects
 * allocated from it by {@link Client clients}, and a shrinker that purges objects marked
 * {@link Madvise#DONTNEED} and evicts idle ones to a swap file when frames run short.
 *
 * <pre>{@code
 * try (MemoryManager mm = MemoryManager.builder().capacity(256 << 20).build();
 *      Client client = mm.openClient("renderer")) {
 *     BufferObject texture = client.create(4 << 20);
 *     texture.write(0, pixels);
 *     try (Vmap view = texture.vmap()) {
 *         upload(view.segment());
 *     }
 * }
 * }</pre>
 *
 * <p>Thread-safe. Reclaim runs in the allocating thread when frames run out (direct reclaim), in
 * a background thread between the low and high watermarks, and on {@link #reclaim(long)}.
 *
 * <p>Runs on Linux x86-64 and aarch64; needs native access ({@code
 * --enable-native-access=dev.memmgr}, or {@code ALL-UNNAMED} on the class path).
 */
public final class MemoryManager implements AutoCloseable {
    static {
        Access.registerDevices(mm -> mm.dev);
    }

    private final GemDevice dev;

    private MemoryManager(GemDevice dev) {
        this.dev = dev;
    }

    /**
     * Returns a builder with the defaults: 256 MiB, 4 KiB pages, a temp swap file of twice the capacity.
     *
     * @return a builder with the defaults: 256 MiB, 4 KiB pages, a temp swap file of twice the capacity
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Returns the version of this library, as its build recorded it: {@code "0.1.0"}, or for a
     * development build {@code "0.1.0-SNAPSHOT"}. Reads the resource {@code
     * dev/memmgr/version.properties} of this module (in the jar, or in the classes directory of a
     * build); needs no manager and no native access.
     *
     * @return the library version, or {@code "unknown"} when the classes were built without their
     *     resources (e.g. by an IDE that skipped Maven's resource filtering)
     */
    public static String version() {
        java.util.Properties p = new java.util.Properties();
        try (java.io.InputStream in = MemoryManager.class.getResourceAsStream("version.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (java.io.IOException e) {
            return "unknown";
        }
        String v = p.getProperty("version", "").strip();
        return v.isEmpty() || v.startsWith("${") ? "unknown" : v;
    }

    /**
     * Opens a client: a namespace of handles to buffer objects, with its own statistics.
     *
     * @param name shown in fdinfo and log messages
     * @return the new client
     * @throws NullPointerException if name is null
     * @throws IllegalStateException if the manager is closed
     */
    public Client openClient(String name) {
        Objects.requireNonNull(name, "name");
        return new Client(this, dev.openFile(name));
    }

    /**
     * Returns the page size in bytes; answers after close too.
     *
     * @return bytes per page; answers after close too
     */
    public int pageSize() {
        return dev.pageSize();
    }

    /**
     * Returns the capacity: bytes of page frames; answers after close too.
     *
     * @return bytes of page frames; answers after close too
     */
    public long capacity() {
        return dev.capacity();
    }

    /**
     * Returns a snapshot of memory use; never blocks on object locks; answers after close too. Its
     * cost grows with the live objects (the {@link MemoryStats#busy() busy} figure asks each
     * object holding frames whether it has unsignaled fences), so call it for figures, not in a
     * tight loop.
     *
     * @return a snapshot of memory use; never blocks on object locks; answers after close too
     */
    public MemoryStats stats() {
        return dev.stats();
    }

    /**
     * Returns the manager's name: the one given to {@link Builder#name(String)} (with {@code #2},
     * {@code #3}... appended when a manager of that name was registered in JMX already), or
     * {@code manager-N} for a manager built without one (N counts the managers of the process). It
     * names the manager in JFR events, dumps, the counters file and leak reports; answers after
     * close too.
     *
     * @return the manager's name
     */
    public String name() {
        return dev.name();
    }

    /**
     * Returns a JSON text of everything the manager holds, like VMA's stats string: the manager
     * ({@code name}, {@code pageSize}, {@code stats}: the {@link MemoryStats} components), then each
     * open client ({@code id}, {@code name}, {@code stats}: the {@link ClientStats} components,
     * {@code objects}: per handle the object's {@code handle}, {@code label}, {@code size} in bytes,
     * {@code residency} as the {@link Residency} name, {@code refCount}, {@code pagesUseCount},
     * {@code pinCount}, {@code vmapCount}, {@code madvise}, {@code busy}, {@code shared},
     * {@code imported} and {@code exported}, and {@code owner}/{@code ownerHandle} for a handle of
     * another client's object; {@code vms}: each GPU VM's {@code name}, {@code start}, {@code size}
     * and {@code mappings}, each with {@code va}, {@code range}, the object's {@code handle} and
     * {@code offset}), then {@code withoutHandle}: objects alive only through references (retains,
     * GPU VM bindings, exports) whose handle was closed.
     *
     * <p>A snapshot: it never blocks on an object's lock; each figure is exact but they are not all
     * read at the same instant. Cost in proportion to the objects and mappings.
     *
     * @return the JSON text (RFC 8259), indented
     * @throws IllegalStateException if the manager is closed
     */
    public String dump() {
        return dev.dump();
    }

    /**
     * Runs the shrinker now, in this thread: purges DONTNEED objects, then evicts idle ones (least
     * recently used first) until {@code bytes} are freed or nothing more can be. Never blocks on
     * an object lock (objects locked by others are skipped).
     *
     * @param bytes how much to free; rounded up to pages
     * @return exactly the bytes of frames freed (may exceed the request: objects go whole)
     * @throws IllegalArgumentException if bytes is negative
     * @throws IllegalStateException if the manager is closed
     */
    public long reclaim(long bytes) {
        return dev.reclaim(bytes);
    }

    /**
     * Frees every object (open vmaps become invalid: access throws IllegalStateException), stops
     * the reclaim thread, deletes the swap file and releases the memory. Operations in progress in
     * other threads finish first; later ones throw IllegalStateException. Idempotent.
     */
    @Override
    public void close() {
        dev.close();
    }

    /**
     * Returns the device behind this manager (internal: tests and benchmarks).
     *
     * @return the device behind this manager (internal: tests and benchmarks)
     */
    GemDevice device() {
        return dev;
    }

    /**
     * Returns the manager's name and figures with units, e.g. {@code MemoryManager['renderer',
     * capacity 256 MiB, free 64 MiB, ...]}.
     *
     * @return the manager's name and figures
     */
    @Override
    public String toString() {
        return "MemoryManager['" + dev.name() + "'" + (dev.isClosed() ? ", closed" : "") + ", " + dev.stats().figures() + "]";
    }

    /**
     * Settings of a {@link MemoryManager}. Setters reject bad values at once with
     * IllegalArgumentException; {@link #build()} checks them together. Not thread-safe.
     */
    public static final class Builder {
        private static final int OS_PAGE_SIZE = 4096;

        private long capacity = 256L << 20;
        private int pageSize = OS_PAGE_SIZE;
        private Path swapFile;
        private long swapBytes;
        private boolean noSwap;
        private double low = 0.05;
        private double high = 0.10;
        private boolean backgroundReclaim = true;
        private Duration evictionWait = Duration.ZERO;
        private ReclaimPolicy reclaimPolicy = ReclaimPolicy.ARC;
        private String name;
        private boolean leakDetection;
        private boolean publishCounters;

        private Builder() {
        }

        /**
         * Sets the bytes of page frames (the hard budget; default 256 MiB).
         *
         * @param bytes bytes of page frames; positive, and a multiple of the page size at build
         * @return this builder
         * @throws IllegalArgumentException if bytes is not positive
         */
        public Builder capacity(long bytes) {
            if (bytes <= 0) {
                throw new IllegalArgumentException("capacity must be positive: " + bytes);
            }
            this.capacity = bytes;
            return this;
        }

        /**
         * Sets the page size (default 4096).
         *
         * @param bytes a power of two, at least the OS page size (4096), at most 1 GiB
         * @return this builder
         * @throws IllegalArgumentException otherwise
         */
        public Builder pageSize(int bytes) {
            if (bytes < OS_PAGE_SIZE || Integer.bitCount(bytes) != 1 || bytes > (1 << 30)) {
                throw new IllegalArgumentException("page size must be a power of two between 4096 and 1 GiB: " + bytes);
            }
            this.pageSize = bytes;
            return this;
        }

        /**
         * Swaps to a chosen file, created owner-only if absent; deleted on close if it was
         * created, truncated to zero if it existed.
         *
         * @param file the file
         * @param bytes its size; rounded down to pages, at least one page at build
         * @return this builder
         * @throws NullPointerException if file is null
         * @throws IllegalArgumentException if bytes is not positive
         */
        public Builder swapFile(Path file, long bytes) {
            Objects.requireNonNull(file, "file");
            if (bytes <= 0) {
                throw new IllegalArgumentException("swap size must be positive: " + bytes);
            }
            this.swapFile = file;
            this.swapBytes = bytes;
            this.noSwap = false;
            return this;
        }

        /**
         * Disables eviction (purge still works).
         *
         * @return this builder
         */
        public Builder noSwap() {
            this.noSwap = true;
            this.swapFile = null;
            this.swapBytes = 0;
            return this;
        }

        /**
         * Sets the watermarks of background reclaim (defaults 0.05 and 0.10).
         *
         * @param low fraction of the capacity under which free frames wake background reclaim
         * @param high fraction of the capacity background reclaim frees up to
         * @return this builder
         * @throws IllegalArgumentException unless {@code 0 <= low <= high <= 1}
         */
        public Builder watermarks(double low, double high) {
            if (!(low >= 0 && low <= high && high <= 1)) {
                throw new IllegalArgumentException("watermarks need 0 <= low <= high <= 1: " + low + ", " + high);
            }
            this.low = low;
            this.high = high;
            return this;
        }

        /**
         * Turns the background reclaim thread on or off (default on).
         *
         * @param on whether a background thread keeps free frames between the watermarks
         * @return this builder
         */
        public Builder backgroundReclaim(boolean on) {
            this.backgroundReclaim = on;
            return this;
        }

        /**
         * Lets an allocation that finds only busy objects in its way (unsignaled fences of GPU
         * work) wait up to this long for one to go idle before it fails with
         * GpuOutOfMemoryException, as TTM's eviction waits for the GPU when allowed. Default zero:
         * busy objects are skipped and the allocation fails at once. The wait happens in the
         * allocating thread, which may hold its object's reservation.
         *
         * @param wait zero or positive
         * @return this builder
         * @throws NullPointerException if wait is null
         * @throws IllegalArgumentException if wait is negative
         */
        public Builder evictionWait(Duration wait) {
            Objects.requireNonNull(wait, "wait");
            if (wait.isNegative()) {
                throw new IllegalArgumentException("eviction wait must not be negative: " + wait);
            }
            this.evictionWait = wait;
            return this;
        }

        /**
         * Sets which idle objects the shrinker evicts first (default {@link ReclaimPolicy#ARC}).
         *
         * @param policy the policy
         * @return this builder
         * @throws NullPointerException if policy is null
         */
        public Builder reclaimPolicy(ReclaimPolicy policy) {
            this.reclaimPolicy = Objects.requireNonNull(policy, "policy");
            return this;
        }

        /**
         * Names the manager, and registers it in the platform MBeanServer: an MXBean
         * {@code dev.memmgr:type=MemoryManager,name=<name>} ({@link MemoryManagerMXBean}: the
         * {@link MemoryStats} components) and one {@code dev.memmgr:type=Client,manager=<name>,name=<client>}
         * per open client ({@link ClientMXBean}: the {@link ClientStats} components), each
         * unregistered when its client or the manager closes. Names that ObjectName does not allow
         * bare are quoted ({@link javax.management.ObjectName#quote}).
         *
         * <p>A name that is registered already, by a second client of the same name or a second
         * open manager of the same name in this process, gets the first free of {@code <name>#2},
         * {@code <name>#3}, ... (see {@link MemoryManager#name()}); nothing fails. A manager built
         * without a name registers nothing.
         *
         * @param name the manager's name; not blank
         * @return this builder
         * @throws NullPointerException if name is null
         * @throws IllegalArgumentException if name is blank
         */
        public Builder name(String name) {
            Objects.requireNonNull(name, "name");
            if (name.isBlank()) {
                throw new IllegalArgumentException("name must not be blank");
            }
            this.name = name;
            return this;
        }

        /**
         * Turns leak detection on or off (default off). On: every object remembers the stack of its
         * creation and of its first and last pin, vmap and page use (a stack walk each, so it costs);
         * closing a client or the manager reports at WARNING, through the System.Logger
         * {@code "dev.memmgr"}, each object whose handle was never closed, with its label and
         * creation stack; an object freed with pins, vmaps or page uses outstanding is reported with
         * the stacks that took them. Off: nothing is recorded and only the leaked-uses WARNING
         * (without stacks) remains.
         *
         * @param on whether to record creation and use sites and report leaks with them
         * @return this builder
         */
        public Builder leakDetection(boolean on) {
            this.leakDetection = on;
            return this;
        }

        /**
         * Publishes the manager's figures, and each client's, for other processes (default off):
         * resident, evicted, purgeable, busy, pinned, swap use, and the totals of evictions,
         * swap-ins and purges, as counters in the process's memory-mapped counters file (Agrona's
         * counters layout), which {@code bin/memmgr top} reads. The file is
         * {@code <java.io.tmpdir>/memmgr-counters-<user>/<pid>.dat} (the system property
         * {@code memmgr.counters.dir} names another directory), owner-only, shared by the managers
         * of the process and deleted when the last of them closes. A daemon thread,
         * {@code memmgr-counters}, updates it every 250 ms; operations on objects pay nothing. If the
         * file cannot be made, the manager works without it and says so at WARNING.
         *
         * @param on whether to publish
         * @return this builder
         */
        public Builder publishCounters(boolean on) {
            this.publishCounters = on;
            return this;
        }

        /**
         * Creates the manager: the memfd of frames, the swap file, the reclaim thread.
         *
         * @return a new manager
         * @throws IllegalArgumentException if the capacity is not a multiple of the page size,
         *     exceeds 2^31 - 1 pages, or the swap file is smaller than one page
         * @throws MemoryManagerException if the OS refuses (the message names the call and errno),
         *     or the platform is not Linux x86-64 or aarch64
         */
        public MemoryManager build() {
            if (capacity % pageSize != 0) {
                throw new IllegalArgumentException("capacity " + capacity + " is not a multiple of the page size " + pageSize);
            }
            if (capacity / pageSize > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("capacity " + capacity + " exceeds 2^31 - 1 pages");
            }
            if (!noSwap && swapFile != null && swapBytes < pageSize) {
                throw new IllegalArgumentException("swap of " + swapBytes + " bytes is smaller than a page");
            }
            return new MemoryManager(GemDevice.create(new DeviceConfig(capacity, pageSize, swapFile, swapBytes,
                    noSwap, low, high, backgroundReclaim, Timeouts.nanos(evictionWait), name, leakDetection,
                    publishCounters, reclaimPolicy == ReclaimPolicy.ARC)));
        }
    }
}
