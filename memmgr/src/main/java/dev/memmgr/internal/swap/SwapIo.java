package dev.memmgr.internal.swap;

import dev.memmgr.internal.sys.LibC;

/**
 * The two positional vector I/O calls a {@link SwapSpace} makes: a seam so tests can inject
 * I/O errors, short transfers and count calls. The contract is the libc one: return the bytes
 * transferred (possibly fewer than asked; 0 from preadv at end of file) or throw
 * {@link dev.memmgr.internal.sys.ErrnoException}.
 *
 * <p>Threading: implementations must be thread-safe; a SwapSpace calls them from any thread,
 * concurrently for disjoint slots.
 */
interface SwapIo {
    /** The real calls: {@link LibC#pwritev} and {@link LibC#preadv}. */
    SwapIo LIBC = new SwapIo() {
        @Override
        public long pwritev(int fd, long iov, int iovcnt, long offset) {
            return LibC.pwritev(fd, iov, iovcnt, offset);
        }

        @Override
        public long preadv(int fd, long iov, int iovcnt, long offset) {
            return LibC.preadv(fd, iov, iovcnt, offset);
        }
    };

    /**
     * pwritev(fd, iov, iovcnt, offset).
     *
     * @param iov address of {@code iovcnt} struct iovec
     * @return bytes written, &gt;= 0
     */
    long pwritev(int fd, long iov, int iovcnt, long offset);

    /**
     * preadv(fd, iov, iovcnt, offset).
     *
     * @param iov address of {@code iovcnt} struct iovec
     * @return bytes read, &gt;= 0; 0 at end of file
     */
    long preadv(int fd, long iov, int iovcnt, long offset);
}
