package dev.memmgr.internal.mem;

import dev.memmgr.internal.sys.Platform;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Test support for threads blocked in the kernel while they hold a segment: the task id of the
 * calling thread, a bounded wait until a task sleeps in read(2) (from
 * {@code /proc/self/task/<tid>/syscall}, which names the system call a task is blocked in and
 * its arguments), and a pipe driven by FFM downcalls that take segments by reference (as a
 * driver's native upload would). Thread-safe.
 */
final class Syscalls {
    /** The number of read(2): 0 on x86-64, 63 on aarch64 (asm-generic). */
    static final int READ = Platform.isAarch64() ? 63 : 0;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle PIPE = handle("pipe", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
    private static final MethodHandle NATIVE_READ = handle("read",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
    private static final MethodHandle NATIVE_WRITE = handle("write",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));

    private Syscalls() {
    }

    private static MethodHandle handle(String name, FunctionDescriptor d) {
        return LINKER.downcallHandle(LINKER.defaultLookup().find(name).orElseThrow(), d);
    }

    /** @return the calling thread's kernel task id */
    static int currentTid() throws IOException {
        return Integer.parseInt(Files.readSymbolicLink(Path.of("/proc/thread-self")).getFileName().toString());
    }

    /**
     * Waits until task {@code tid} is blocked in read(2) (on {@code fd}, unless it is -1).
     *
     * @throws AssertionError when it is not within {@code seconds}
     */
    static void awaitBlockedInRead(int tid, int fd, long seconds) throws IOException {
        Path syscall = Path.of("/proc/self/task/" + tid + "/syscall");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        String last = "";
        while (System.nanoTime() < deadline) {
            last = Files.readString(syscall).trim();
            String[] f = last.split(" ");
            if (f.length > 1 && f[0].equals(Integer.toString(READ))
                    && (fd < 0 || Long.decode(f[1]) == fd)) {
                return;
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
        }
        throw new AssertionError("task " + tid + " did not block in read(2) within " + seconds + " s: " + last);
    }

    /** A pipe(2): {@code fds[0]} reads, {@code fds[1]} writes. */
    static int[] pipe() throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fds = arena.allocate(ValueLayout.JAVA_INT, 2);
            if ((int) PIPE.invokeExact(fds) != 0) {
                throw new IOException("pipe failed");
            }
            return new int[] {fds.getAtIndex(ValueLayout.JAVA_INT, 0), fds.getAtIndex(ValueLayout.JAVA_INT, 1)};
        }
    }

    /** read(fd, into, into.byteSize()) through a downcall that holds {@code into}'s arena while it blocks. */
    static long nativeRead(int fd, MemorySegment into) throws Throwable {
        return (long) NATIVE_READ.invokeExact(fd, into, into.byteSize());
    }

    /** Writes all of {@code bytes} to {@code fd}. */
    static void nativeWrite(int fd, byte[] bytes) throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = arena.allocateFrom(ValueLayout.JAVA_BYTE, bytes);
            long n = (long) NATIVE_WRITE.invokeExact(fd, src, (long) bytes.length);
            if (n != bytes.length) {
                throw new IOException("short write: " + n);
            }
        }
    }
}
