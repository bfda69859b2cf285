package dev.memmgr.internal.swap;

import dev.memmgr.internal.sys.Errno;
import dev.memmgr.internal.sys.ErrnoException;
import dev.memmgr.internal.sys.LibC;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The swap file's descriptor and what to do with the file on close: nothing (an unlinked
 * temporary file vanishes with its last descriptor), delete it (we created it at a chosen
 * path) or truncate it to 0 (it existed before). Whatever the path, the file is private to its
 * owner: created 0600, or refused when it exists with wider permissions.
 *
 * <p>Not thread-safe: opened and closed once by its {@link SwapSpace}, which guards both.
 */
final class SwapFile {
    private static final int MODE_0600 = 0600;
    private static final int CREATE_FLAGS = LibC.O_RDWR | LibC.O_CREAT | LibC.O_EXCL | LibC.O_CLOEXEC;
    private static final int CREATE_ATTEMPTS = 16;

    private final int fd;
    private final String path;
    private final boolean deleteOnClose;
    private final boolean truncateOnClose;

    private SwapFile(int fd, String path, boolean deleteOnClose, boolean truncateOnClose) {
        this.fd = fd;
        this.path = path;
        this.deleteOnClose = deleteOnClose;
        this.truncateOnClose = truncateOnClose;
    }

    /** A new file with a random name in {@code dir}, mode 0600, unlinked at once, sized to {@code bytes}. */
    static SwapFile createTemp(Path dir, long bytes) {
        Path base = dir.toAbsolutePath();
        for (int attempt = 1; ; attempt++) {
            String path = base.resolve("memmgr-swap-" + Long.toHexString(ThreadLocalRandom.current().nextLong()))
                    .toString();
            int fd;
            try {
                fd = LibC.open(path, CREATE_FLAGS, MODE_0600);
            } catch (ErrnoException e) {
                if (e.errno() == Errno.EEXIST && attempt < CREATE_ATTEMPTS) {
                    continue;
                }
                throw new SwapIoException("cannot create a swap file in " + base + ": " + e.getMessage(), e);
            }
            try {
                LibC.unlink(path);
            } catch (ErrnoException e) {
                LibC.close(fd);
                throw new SwapIoException("cannot unlink the new swap file " + path + ": " + e.getMessage(), e);
            }
            return new SwapFile(fd, path, false, false).sized(bytes);
        }
    }

    /**
     * {@code file}, created with mode 0600 when absent (deleted on close), else emptied
     * (truncated to 0 on close, kept); then sized to {@code bytes}. An existing file must be
     * private to its owner: one that group or others may access in any way is refused.
     *
     * @throws IllegalArgumentException when the file exists with permissions wider than 0600
     *     (nothing changed on disk, no descriptor left open)
     */
    static SwapFile createAt(Path file, long bytes) {
        String path = file.toAbsolutePath().toString();
        SwapFile swap;
        try {
            swap = new SwapFile(LibC.open(path, CREATE_FLAGS, MODE_0600), path, true, false);
        } catch (ErrnoException e) {
            if (e.errno() != Errno.EEXIST) {
                throw new SwapIoException("cannot create swap file " + path + ": " + e.getMessage(), e);
            }
            int fd;
            try {
                fd = LibC.open(path, LibC.O_RDWR | LibC.O_CLOEXEC, 0);
            } catch (ErrnoException e2) {
                throw new SwapIoException("cannot open swap file " + path + ": " + e2.getMessage(), e2);
            }
            requirePrivate(fd, path);
            swap = new SwapFile(fd, path, false, true);
        }
        return swap.sized(bytes);
    }

    /**
     * Checks the permissions of the file open as {@code fd} (fstat on the descriptor, not the
     * path: the file checked is the file used) and closes {@code fd} when they are wider than
     * 0600 or cannot be read.
     */
    private static void requirePrivate(int fd, String path) {
        boolean ok = false;
        try {
            int permissions;
            try {
                permissions = LibC.fstat(fd).permissions();
            } catch (ErrnoException e) {
                throw new SwapIoException("cannot stat swap file " + path + ": " + e.getMessage(), e);
            }
            if ((permissions & 077) != 0) {
                throw new IllegalArgumentException("swap file " + path + " has permissions 0"
                        + Integer.toOctalString(permissions) + ": group or others could read every client's"
                        + " evicted data; make it 0600 (chmod 600) or give a path that does not exist yet");
            }
            ok = true;
        } finally {
            if (!ok) {
                LibC.close(fd);
            }
        }
    }

    /** Sizes the file to {@code bytes} (sparse; an existing file is emptied first), or closes it and fails. */
    private SwapFile sized(long bytes) {
        try {
            if (truncateOnClose) {
                LibC.ftruncate(fd, 0); // drop old content
            }
            LibC.ftruncate(fd, bytes);
            return this;
        } catch (ErrnoException e) {
            SwapIoException failure = new SwapIoException("cannot size swap file " + path + " to " + bytes
                    + " bytes: " + e.getMessage(), e);
            try {
                close();
            } catch (SwapIoException suppressed) {
                failure.addSuppressed(suppressed);
            }
            throw failure;
        }
    }

    /** @return the descriptor, open until {@link #close()} */
    int fd() {
        return fd;
    }

    /**
     * Deletes or truncates the file as decided at open, then closes the descriptor (always).
     * Called once.
     *
     * @throws SwapIoException when deleting or truncating fails (a file already gone is fine)
     */
    void close() {
        try {
            if (deleteOnClose) {
                LibC.unlink(path);
            } else if (truncateOnClose) {
                LibC.ftruncate(fd, 0);
            }
        } catch (ErrnoException e) {
            if (!(deleteOnClose && e.errno() == Errno.ENOENT)) {
                throw new SwapIoException("cannot " + (deleteOnClose ? "delete" : "truncate") + " swap file "
                        + path + ": " + e.getMessage(), e);
            }
        } finally {
            LibC.close(fd);
        }
    }
}
