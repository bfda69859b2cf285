package dev.memmgr.internal.sys;

import java.lang.foreign.AddressLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * FFM bindings to the libc calls memmgr needs, with errno captured at the call
 * ({@code Linker.Option.captureCallState("errno")}). Every wrapper returns the call's result on
 * success and throws {@link ErrnoException} (call name, errno name and message) on failure.
 *
 * <p>Locking: none; every method is thread-safe (the errno capture buffer is per thread).
 * Calls that take raw addresses (mmap, munmap, madvise, preadv, pwritev) trust their caller to
 * pass memory it owns; higher layers guarantee that.
 */
public final class LibC {
    public static final int PROT_NONE = 0;
    public static final int PROT_READ = 1;
    public static final int PROT_WRITE = 2;
    public static final int MAP_SHARED = 0x01;
    public static final int MAP_PRIVATE = 0x02;
    public static final int MAP_FIXED = 0x10;
    public static final int MAP_ANONYMOUS = 0x20;
    public static final int MAP_NORESERVE = 0x4000;
    public static final int MAP_POPULATE = 0x8000;
    public static final int MFD_CLOEXEC = 1;
    public static final int FALLOC_FL_KEEP_SIZE = 1;
    public static final int FALLOC_FL_PUNCH_HOLE = 2;
    public static final int MADV_DONTNEED = 4;
    public static final int MADV_REMOVE = 9;
    public static final int O_RDWR = 02;
    public static final int O_CREAT = 0100;
    public static final int O_EXCL = 0200;
    public static final int O_TRUNC = 01000;
    public static final int O_CLOEXEC = 02000000;
    /** The file type bits of st_mode, and the type of a regular file. */
    public static final int S_IFMT = 0170000;
    public static final int S_IFREG = 0100000;
    /** Most iovecs one preadv/pwritev accepts (UIO_MAXIOV). */
    public static final int IOV_MAX = 1024;
    /** Bytes of a struct iovec: {void *iov_base; size_t iov_len}. */
    public static final long IOVEC_BYTES = 16;

    private static final long MAP_FAILED = -1L;
    /** struct stat offsets of st_size and st_blocks, identical on x86-64 and the asm-generic layout of aarch64. */
    private static final long ST_SIZE_OFFSET = 48;
    private static final long ST_BLOCKS_OFFSET = 64;
    /** st_mode follows st_nlink (8 bytes) on x86-64 and precedes it on aarch64 (asm-generic). */
    private static final long ST_MODE_OFFSET = Platform.isAarch64() ? 16 : 24;
    private static final long STAT_BYTES = 256;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LOOKUP = LINKER.defaultLookup();
    private static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE = Linker.Option.captureCallState("errno");
    private static final ThreadLocal<MemorySegment> CAPTURE_BUFFER =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CAPTURE_LAYOUT));

    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG;
    private static final AddressLayout PTR = ValueLayout.ADDRESS;

    private static final MethodHandle MEMFD_CREATE = capturing("memfd_create", FunctionDescriptor.of(INT, PTR, INT));
    private static final MethodHandle FTRUNCATE = capturing("ftruncate", FunctionDescriptor.of(INT, INT, LONG));
    private static final MethodHandle MMAP = capturing("mmap", FunctionDescriptor.of(LONG, LONG, LONG, INT, INT, INT, LONG));
    private static final MethodHandle MUNMAP = capturing("munmap", FunctionDescriptor.of(INT, LONG, LONG));
    private static final MethodHandle FALLOCATE = capturing("fallocate", FunctionDescriptor.of(INT, INT, INT, LONG, LONG));
    private static final MethodHandle MADVISE = capturing("madvise", FunctionDescriptor.of(INT, LONG, LONG, INT));
    private static final MethodHandle PWRITEV = capturing("pwritev", FunctionDescriptor.of(LONG, INT, LONG, INT, LONG));
    private static final MethodHandle PREADV = capturing("preadv", FunctionDescriptor.of(LONG, INT, LONG, INT, LONG));
    private static final MethodHandle FSTAT = capturing("fstat", FunctionDescriptor.of(INT, INT, PTR));
    private static final MethodHandle CLOSE = capturing("close", FunctionDescriptor.of(INT, INT));
    private static final MethodHandle UNLINK = capturing("unlink", FunctionDescriptor.of(INT, PTR));
    private static final MethodHandle OPEN = LINKER.downcallHandle(symbol("open"),
            FunctionDescriptor.of(INT, PTR, INT, INT), CAPTURE, Linker.Option.firstVariadicArg(2));
    private static final MethodHandle STRERROR = LINKER.downcallHandle(symbol("strerror"),
            FunctionDescriptor.of(PTR, INT));

    private LibC() {
    }

    private static MemorySegment symbol(String name) {
        return LOOKUP.find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc has no symbol " + name));
    }

    private static MethodHandle capturing(String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(symbol(name), descriptor, CAPTURE);
    }

    private static int errno(MemorySegment capture) {
        return (int) ERRNO.get(capture, 0L);
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }

    /** @return the C library's message for an errno value */
    public static String strerror(int errno) {
        try {
            MemorySegment s = (MemorySegment) STRERROR.invokeExact(errno);
            return s.equals(MemorySegment.NULL) ? "unknown error" : s.reinterpret(1024).getString(0);
        } catch (Throwable t) {
            return "unknown error";
        }
    }

    /** memfd_create(name, flags): an anonymous memory file. */
    public static int memfdCreate(String name, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = CAPTURE_BUFFER.get();
            int fd = (int) MEMFD_CREATE.invokeExact(capture, arena.allocateFrom(name), flags);
            if (fd < 0) {
                throw new ErrnoException("memfd_create", errno(capture));
            }
            return fd;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** open(path, flags, mode). */
    public static int open(String path, int flags, int mode) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = CAPTURE_BUFFER.get();
            int fd = (int) OPEN.invokeExact(capture, arena.allocateFrom(path), flags, mode);
            if (fd < 0) {
                throw new ErrnoException("open", errno(capture));
            }
            return fd;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** unlink(path). */
    public static void unlink(String path) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = CAPTURE_BUFFER.get();
            int rc = (int) UNLINK.invokeExact(capture, arena.allocateFrom(path));
            if (rc != 0) {
                throw new ErrnoException("unlink", errno(capture));
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** ftruncate(fd, length). */
    public static void ftruncate(int fd, long length) {
        try {
            MemorySegment capture = CAPTURE_BUFFER.get();
            int rc = (int) FTRUNCATE.invokeExact(capture, fd, length);
            if (rc != 0) {
                throw new ErrnoException("ftruncate", errno(capture));
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** mmap(addr, length, prot, flags, fd, offset); returns the mapped address. */
    public static long mmap(long addr, long length, int prot, int flags, int fd, long offset) {
        try {
            MemorySegment capture = CAPTURE_BUFFER.get();
            long result = (long) MMAP.invokeExact(capture, addr, length, prot, flags, fd, offset);
            if (result == MAP_FAILED) {
                throw new ErrnoException("mmap", errno(capture));
            }
            return result;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** munmap(addr, length). */
    public static void munmap(long addr, long length) {
        try {
            MemorySegment capture = CAPTURE_BUFFER.get();
            int rc = (int) MUNMAP.invokeExact(capture, addr, length);
            if (rc != 0) {
                throw new ErrnoException("munmap", errno(capture));
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** fallocate(fd, mode, offset, length). */
    public static void fallocate(int fd, int mode, long offset, long length) {
        try {
            MemorySegment capture = CAPTURE_BUFFER.get();
            int rc = (int) FALLOCATE.invokeExact(capture, fd, mode, offset, length);
            if (rc != 0) {
                throw new ErrnoException("fallocate", errno(capture));
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** madvise(addr, length, advice). */
    public static void madvise(long addr, long length, int advice) {
        try {
            MemorySegment capture = CAPTURE_BUFFER.get();
            int rc = (int) MADVISE.invokeExact(capture, addr, length, advice);
            if (rc != 0) {
                throw new ErrnoException("madvise", errno(capture));
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** pwritev(fd, iov, iovcnt, offset); returns bytes written (may be short). */
    public static long pwritev(int fd, long iov, int iovcnt, long offset) {
        try {
            MemorySegment capture = CAPTURE_BUFFER.get();
            long n = (long) PWRITEV.invokeExact(capture, fd, iov, iovcnt, offset);
            if (n < 0) {
                throw new ErrnoException("pwritev", errno(capture));
            }
            return n;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** preadv(fd, iov, iovcnt, offset); returns bytes read (may be short; 0 at end of file). */
    public static long preadv(int fd, long iov, int iovcnt, long offset) {
        try {
            MemorySegment capture = CAPTURE_BUFFER.get();
            long n = (long) PREADV.invokeExact(capture, fd, iov, iovcnt, offset);
            if (n < 0) {
                throw new ErrnoException("preadv", errno(capture));
            }
            return n;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** fstat(fd): the file's size, allocated 512-byte blocks and mode (type and permissions). */
    public static FileStat fstat(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = CAPTURE_BUFFER.get();
            MemorySegment buf = arena.allocate(STAT_BYTES, 16);
            int rc = (int) FSTAT.invokeExact(capture, fd, buf);
            if (rc != 0) {
                throw new ErrnoException("fstat", errno(capture));
            }
            return new FileStat(buf.get(LONG, ST_SIZE_OFFSET), buf.get(LONG, ST_BLOCKS_OFFSET),
                    buf.get(INT, ST_MODE_OFFSET));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** close(fd). */
    public static void close(int fd) {
        try {
            MemorySegment capture = CAPTURE_BUFFER.get();
            int rc = (int) CLOSE.invokeExact(capture, fd);
            if (rc != 0) {
                throw new ErrnoException("close", errno(capture));
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * The part of struct stat memmgr reads.
     *
     * @param size st_size in bytes
     * @param blocks st_blocks, in 512-byte units: what the file really occupies
     * @param mode st_mode: the file type ({@link #S_IFMT} bits) and the permission bits
     */
    public record FileStat(long size, long blocks, int mode) {
        /** @return bytes allocated to the file (st_blocks * 512) */
        public long allocatedBytes() {
            return blocks * 512;
        }

        /** @return the permission bits, e.g. 0600 (st_mode &amp; 07777) */
        public int permissions() {
            return mode & 07777;
        }

        /** @return whether the file is a regular file */
        public boolean isRegularFile() {
            return (mode & S_IFMT) == S_IFREG;
        }
    }
}
