package dev.memmgr.internal.swap;

import dev.memmgr.internal.sys.Errno;
import dev.memmgr.internal.sys.ErrnoException;
import dev.memmgr.internal.sys.LibC;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Fault injection for a {@link SwapSpace}, for tests in any package of the module: installs
 * itself as the space's I/O calls, counts them, fails the next writes or reads with an errno,
 * makes reads end early, and corrupts slots on disk.
 *
 * <p>A {@link SwapSpace#write} or {@link SwapSpace#read} stops at its first failed call, so
 * failing the next N calls fails the next N writes (or reads).
 *
 * <p>Thread-safe: the counters are atomic.
 */
public final class SwapFaults {
    private final SwapSpace space;
    private final SwapIo original;
    private final AtomicInteger failingWrites = new AtomicInteger();
    private final AtomicInteger failingReads = new AtomicInteger();
    private final AtomicInteger endingReads = new AtomicInteger();
    private volatile int writeErrno = Errno.EIO;
    private volatile int readErrno = Errno.EIO;
    private final AtomicLong writeCalls = new AtomicLong();
    private final AtomicLong readCalls = new AtomicLong();
    private final AtomicReference<Runnable> beforeWrite = new AtomicReference<>();

    private final SwapIo faulty = new SwapIo() {
        @Override
        public long pwritev(int fd, long iov, int iovcnt, long offset) {
            writeCalls.incrementAndGet();
            Runnable once = beforeWrite.getAndSet(null);
            if (once != null) {
                once.run();
            }
            if (takeOne(failingWrites)) {
                throw new ErrnoException("pwritev", writeErrno);
            }
            return original.pwritev(fd, iov, iovcnt, offset);
        }

        @Override
        public long preadv(int fd, long iov, int iovcnt, long offset) {
            readCalls.incrementAndGet();
            if (takeOne(failingReads)) {
                throw new ErrnoException("preadv", readErrno);
            }
            if (takeOne(endingReads)) {
                return 0;
            }
            return original.preadv(fd, iov, iovcnt, offset);
        }
    };

    private SwapFaults(SwapSpace space) {
        this.space = space;
        this.original = space.io();
    }

    /**
     * Installs fault injection (and call counting) on a space; no fault is armed yet.
     *
     * @return the handle to arm faults with
     */
    public static SwapFaults install(SwapSpace space) {
        SwapFaults faults = new SwapFaults(space);
        space.io(faults.faulty);
        return faults;
    }

    /** Runs {@code action} once, in the writing thread, just before the next pwritev call. */
    public SwapFaults beforeNextWrite(Runnable action) {
        beforeWrite.set(action);
        return this;
    }

    /** Makes the next {@code n} pwritev calls fail with EIO. */
    public SwapFaults failWrites(int n) {
        return failWrites(n, Errno.EIO);
    }

    /** Makes the next {@code n} pwritev calls fail with {@code errno} (e.g. {@link Errno#ENOSPC}). */
    public SwapFaults failWrites(int n, int errno) {
        writeErrno = errno;
        failingWrites.set(n);
        return this;
    }

    /** Makes the next {@code n} preadv calls fail with EIO. */
    public SwapFaults failReads(int n) {
        return failReads(n, Errno.EIO);
    }

    /** Makes the next {@code n} preadv calls fail with {@code errno}. */
    public SwapFaults failReads(int n, int errno) {
        readErrno = errno;
        failingReads.set(n);
        return this;
    }

    /** Makes the next {@code n} preadv calls return 0, as at end of file: a short read. */
    public SwapFaults shortReads(int n) {
        endingReads.set(n);
        return this;
    }

    /** @return pwritev calls made through this since install */
    public long writeCalls() {
        return writeCalls.get();
    }

    /** @return preadv calls made through this since install */
    public long readCalls() {
        return readCalls.get();
    }

    /** Disarms every fault and puts the original I/O calls back. */
    public void restore() {
        failingWrites.set(0);
        failingReads.set(0);
        endingReads.set(0);
        space.io(original);
    }

    /** Flips every bit of the byte in the middle of a slot, on disk. */
    public void corruptSlot(int slot) {
        corruptSlot(slot, space.pageSize() / 2);
    }

    /**
     * Flips every bit of one byte of a slot on disk, with a real read and write of the file
     * (bypassing the installed I/O calls).
     *
     * @param byteInSlot 0..pageSize-1
     */
    public void corruptSlot(int slot, int byteInSlot) {
        if (space.isClosed()) {
            throw new IllegalStateException("swap space is closed");
        }
        if (slot < 0 || slot >= space.capacitySlots() || byteInSlot < 0 || byteInSlot >= space.pageSize()) {
            throw new IndexOutOfBoundsException("slot " + slot + " byte " + byteInSlot);
        }
        long position = space.slotOffset(slot) + byteInSlot;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment one = arena.allocate(1);
            MemorySegment iov = arena.allocate(LibC.IOVEC_BYTES, 8);
            iov.set(ValueLayout.JAVA_LONG, 0, one.address());
            iov.set(ValueLayout.JAVA_LONG, 8, 1);
            if (LibC.preadv(space.fd(), iov.address(), 1, position) != 1) {
                throw new IllegalStateException("cannot read slot " + slot + " byte " + byteInSlot);
            }
            one.set(ValueLayout.JAVA_BYTE, 0, (byte) ~one.get(ValueLayout.JAVA_BYTE, 0));
            if (LibC.pwritev(space.fd(), iov.address(), 1, position) != 1) {
                throw new IllegalStateException("cannot write slot " + slot + " byte " + byteInSlot);
            }
        }
    }

    private static boolean takeOne(AtomicInteger pending) {
        return pending.getAndUpdate(n -> n > 0 ? n - 1 : 0) > 0;
    }
}
