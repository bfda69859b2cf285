package dev.memmgr.internal.swap;

import dev.memmgr.internal.mem.ExtentList;
import dev.memmgr.internal.mem.PhysMem;
import dev.memmgr.internal.mem.RunAllocator;
import dev.memmgr.internal.sys.LibC;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.Objects;
import java.util.concurrent.locks.StampedLock;

/**
 * A swap file cut into page-sized slots: slot allocation, writes of frames to slots and reads
 * back, with a CRC32C per slot checked on every read.
 *
 * <p>I/O goes straight between the file and the frames of {@link PhysMem#directMap()} with
 * {@code pwritev}/{@code preadv}: a batch per maximal run of consecutive slots, one iovec per
 * contiguous piece of frames inside it (a run is split only at {@link LibC#IOV_MAX} pieces),
 * moved in chunks that are checksummed in cache by the thread that moves them, large batches
 * shared with a second thread (see {@link IoBatch}).
 *
 * <p>Threading: every method is thread-safe. The slot allocator has its own lock (the innermost
 * of the locking order). {@link #write} and {@link #read} hold no lock of this class while they
 * work, only a shared stamp of the lifecycle lock, so calls on disjoint slots run concurrently;
 * the caller owns the frames and slots it passes and orders a slot's write before its read.
 * {@link #close()} waits for reads and writes in flight (the caller should have none), after
 * which write, read and allocate throw IllegalStateException, free does nothing (teardown may
 * run in any order) and the space counts no slot used.
 *
 * <p>Memory: the slot allocator's bitmaps and the checksums are off the Java heap, in anonymous
 * mappings that cost memory only where slots are used, so a swap of terabytes runs in a small
 * heap; close unmaps them.
 */
public final class SwapSpace implements AutoCloseable {
    private final SwapFile file;
    private final int fd;
    private final PhysMem mem;
    private final int pageShift;
    private final RunAllocator slots;
    private final Checksums sums;
    private final StampedLock lifecycle = new StampedLock();
    private volatile boolean closed;
    private volatile SwapIo io = SwapIo.LIBC;
    private final SwapWorker worker;
    /** The checksum of a page followed by another: predicts a run's checksum from its pages'. */
    private final CrcShift shift;

    private SwapSpace(SwapFile file, PhysMem mem, int slotCount) {
        this.file = file;
        this.fd = file.fd();
        this.mem = mem;
        this.pageShift = mem.pageShift();
        this.slots = new RunAllocator(slotCount, false);
        try {
            this.sums = Checksums.create(slotCount);
        } catch (RuntimeException | Error e) {
            slots.close();
            throw e;
        }
        this.worker = new SwapWorker(mem);
        this.shift = new CrcShift(mem.pageSize());
    }

    /**
     * Creates a swap file in {@code dir} that no other process can open: a new file with a
     * random name, opened {@code O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC} with mode 0600 and unlinked at
     * once, then sized (sparse) to {@code bytes}. Any thread.
     *
     * @param bytes size, rounded down to whole pages of {@code mem}; at least one page
     * @throws IllegalArgumentException when bytes is less than one page or more than 2^31-1 pages
     * @throws SwapIoException when the file cannot be created or sized
     */
    public static SwapSpace createTemp(Path dir, long bytes, PhysMem mem) {
        Objects.requireNonNull(dir, "dir");
        Objects.requireNonNull(mem, "mem");
        int slotCount = slotsFor(bytes, mem.pageSize());
        return open(SwapFile.createTemp(dir, (long) slotCount << mem.pageShift()), slotCount, mem);
    }

    /**
     * Uses {@code file} as the swap file: created with mode 0600 when absent (and deleted on
     * close), otherwise emptied (and truncated to 0 on close, kept); then sized (sparse) to
     * {@code bytes}. Any thread.
     *
     * @param bytes size, rounded down to whole pages of {@code mem}; at least one page
     * @throws IllegalArgumentException when bytes is less than one page or more than 2^31-1 pages
     * @throws SwapIoException when the file cannot be opened or sized
     */
    public static SwapSpace createAt(Path file, long bytes, PhysMem mem) {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(mem, "mem");
        int slotCount = slotsFor(bytes, mem.pageSize());
        return open(SwapFile.createAt(file, (long) slotCount << mem.pageShift()), slotCount, mem);
    }

    private static SwapSpace open(SwapFile file, int slotCount, PhysMem mem) {
        try {
            return new SwapSpace(file, mem, slotCount);
        } catch (RuntimeException | Error e) {
            try {
                file.close();
            } catch (SwapIoException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    private static int slotsFor(long bytes, int pageSize) {
        long count = bytes / pageSize;
        if (count < 1 || count > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("swap size must be between one page (" + pageSize
                    + " bytes) and 2^31-1 pages: " + bytes);
        }
        return (int) count;
    }

    /** @return bytes per slot: the page size of the frames. Any thread. */
    public int pageSize() {
        return mem.pageSize();
    }

    /** @return the number of slots. Any thread. */
    public int capacitySlots() {
        return slots.capacity();
    }

    /** @return the bytes of all slots. Any thread. */
    public long capacityBytes() {
        return (long) slots.capacity() << pageShift;
    }

    /** @return free slots, a snapshot (no lock); all of them once closed. Any thread. */
    public int freeSlots() {
        return closed ? slots.capacity() : slots.freeCount();
    }

    /** @return allocated slots, a snapshot (no lock); none once closed. Any thread. */
    public int usedSlots() {
        return closed ? 0 : slots.capacity() - slots.freeCount();
    }

    /**
     * Allocates {@code n} slots, in one contiguous run when there is one, else in as few runs as
     * possible. Takes the allocator lock. Any thread.
     *
     * @param out receives the slot extents, sorted by start (appended)
     * @return false, with nothing allocated, when fewer than {@code n} slots are free
     * @throws IllegalArgumentException when n &lt;= 0
     * @throws IllegalStateException when the space is closed
     */
    public boolean allocate(int n, ExtentList out) {
        Objects.requireNonNull(out, "out");
        checkOpen();
        return slots.allocate(n, out, null);
    }

    /**
     * Frees slots (their content is no longer kept). All or nothing: when a slot of the
     * list is not allocated nothing is freed. Takes the allocator lock. Any thread; also allowed
     * after close, where it does nothing, so teardown may run in any order.
     *
     * @throws IllegalStateException on a double free (a slot of the list is free)
     * @throws IllegalArgumentException when an extent lies outside the space
     */
    public void free(ExtentList slots) {
        Objects.requireNonNull(slots, "slots");
        if (closed) {
            return;
        }
        try {
            for (int i = 0; i < slots.size(); i++) {
                if (!this.slots.isAllocated(slots.start(i), slots.length(i))) {
                    throw new IllegalStateException("double free: swap slots " + slots.start(i) + "+"
                            + slots.length(i) + " are (partly) free");
                }
            }
            this.slots.free(slots);
        } catch (IllegalStateException e) {
            if (!this.slots.isClosed()) {
                throw e; // a double free, not a race with close
            }
        }
    }

    /**
     * Writes frames to slots: unit k of {@code frames} (frame numbers in the PhysMem) goes to
     * unit k of {@code slots}; both lists hold the same number of units. Records a CRC32C per
     * slot. Never modifies the frames. Any thread; the caller owns the frames and the slots.
     *
     * @throws SwapIoException on an I/O error: the slots stay allocated, their content is
     *     undefined, the caller frees them
     * @throws IllegalArgumentException when the lists differ in units or leave their ranges
     * @throws IllegalStateException when this space or the PhysMem is closed
     */
    public void write(ExtentList frames, ExtentList slots) {
        transfer(frames, slots, true);
    }

    /**
     * Reads slots back into frames (same pairing as {@link #write}), then verifies every page's
     * CRC32C. Any thread; the caller owns the frames and the slots.
     *
     * @throws SwapIoException on an I/O error, a short read or a checksum mismatch (the message
     *     names the slot); the frames' content is then undefined, the slots and their
     *     checksums are untouched
     * @throws IllegalArgumentException when the lists differ in units or leave their ranges
     * @throws IllegalStateException when this space or the PhysMem is closed
     */
    public void read(ExtentList slots, ExtentList frames) {
        transfer(frames, slots, false);
    }

    private void transfer(ExtentList frames, ExtentList slotList, boolean write) {
        Objects.requireNonNull(frames, "frames");
        Objects.requireNonNull(slotList, "slots");
        if (frames.units() != slotList.units()) {
            throw new IllegalArgumentException(frames.units() + " frames for " + slotList.units() + " slots");
        }
        checkRange(frames, mem.frames(), "frame");
        checkRange(slotList, slots.capacity(), "slot");
        long stamp = lifecycle.tryReadLock();
        if (stamp == 0) {
            throw new IllegalStateException("swap space is closing");
        }
        try {
            checkOpen();
            if (mem.isClosed()) {
                throw new IllegalStateException("physical memory is closed");
            }
            if (frames.isEmpty()) {
                return;
            }
            assert allocated(slotList) : "I/O on free swap slots " + slotList;
            try (Arena arena = Arena.ofConfined()) {
                int maxPieces = (int) Math.min(LibC.IOV_MAX, (long) frames.size() + slotList.size());
                run(new IoBatch(io, fd, mem, sums, shift, arena, maxPieces, worker), frames, slotList, write);
            }
        } finally {
            lifecycle.unlockRead(stamp);
        }
    }

    /** Pairs frames with slots, one batch per run of consecutive slots (split when full). */
    private static void run(IoBatch batch, ExtentList frames, ExtentList slotList, boolean write) {
        int fi = 0;
        int fo = 0;
        for (int si = 0; si < slotList.size(); si++) {
            batch.begin(slotList.start(si));
            int left = slotList.length(si);
            while (left > 0) {
                if (batch.isFull()) {
                    flush(batch, write);
                    batch.begin(batch.endSlot());
                }
                int pages = Math.min(frames.length(fi) - fo, left);
                batch.add(frames.start(fi) + fo, pages);
                left -= pages;
                fo += pages;
                if (fo == frames.length(fi)) {
                    fi++;
                    fo = 0;
                }
            }
            flush(batch, write);
        }
    }

    private static void flush(IoBatch batch, boolean write) {
        if (write) {
            batch.write();
        } else {
            batch.read();
        }
    }

    private static void checkRange(ExtentList list, int limit, String unit) {
        for (int i = 0; i < list.size(); i++) {
            if ((long) list.start(i) + list.length(i) > limit) {
                throw new IllegalArgumentException(unit + "s " + list.start(i) + "+" + list.length(i)
                        + " outside [0, " + limit + ")");
            }
        }
    }

    private boolean allocated(ExtentList slotList) {
        for (int i = 0; i < slotList.size(); i++) {
            if (!slots.isAllocated(slotList.start(i), slotList.length(i))) {
                return false;
            }
        }
        return true;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("swap space is closed");
        }
    }

    /** @return whether {@link #close()} has run. Any thread. */
    public boolean isClosed() {
        return closed;
    }

    /**
     * Closes the file: waits for reads and writes in flight, deletes the file if
     * {@link #createAt} created it or truncates it to 0 if it existed before, closes the fd and
     * unmaps the checksums and the slot bitmaps. Idempotent. Any thread.
     *
     * @throws SwapIoException when deleting or truncating the file fails (the fd is closed and
     *     the memory unmapped anyway)
     */
    @Override
    public void close() {
        long stamp = lifecycle.writeLock();
        try {
            if (closed) {
                return;
            }
            closed = true;
        } finally {
            lifecycle.unlockWrite(stamp);
        }
        worker.shutdown();
        try {
            file.close();
        } finally {
            try {
                sums.close();
            } finally {
                slots.close();
            }
        }
    }

    // ---- package-private hooks for tests (SwapFaults) -------------------------------------

    /** @return the file descriptor; valid until close */
    int fd() {
        return fd;
    }

    /** @return the byte offset of a slot in the file */
    long slotOffset(int slot) {
        return (long) slot << pageShift;
    }

    /** @return the thread that shares large batches */
    SwapWorker worker() {
        return worker;
    }

    /** @return the I/O calls in use */
    SwapIo io() {
        return io;
    }

    /** Replaces the I/O calls; affects read and write calls that start afterwards. */
    void io(SwapIo io) {
        this.io = Objects.requireNonNull(io, "io");
    }
}
