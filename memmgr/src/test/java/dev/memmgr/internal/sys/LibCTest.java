package dev.memmgr.internal.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memmgr.MemmgrExtension;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(MemmgrExtension.class)
class LibCTest {
    @Test
    void errnoIsSurfacedWithNameAndMessage() {
        ErrnoException e = assertThrows(ErrnoException.class, () -> LibC.ftruncate(-1, 0));
        assertEquals(Errno.EBADF, e.errno());
        assertEquals("EBADF", e.errnoName());
        assertEquals("ftruncate", e.call());
        assertTrue(e.getMessage().startsWith("ftruncate: EBADF ("), e.getMessage());
        assertTrue(e.getMessage().toLowerCase().contains("bad file"), e.getMessage());
    }

    @Test
    void mmapFailureCarriesEinval() {
        // length 0 is invalid for mmap
        ErrnoException e = assertThrows(ErrnoException.class,
                () -> LibC.mmap(0, 0, LibC.PROT_READ, LibC.MAP_PRIVATE | LibC.MAP_ANONYMOUS, -1, 0));
        assertEquals("EINVAL", e.errnoName());
    }

    @Test
    void fallocateOnAMemfdOutOfRangeFails() {
        int fd = LibC.memfdCreate("t", LibC.MFD_CLOEXEC);
        try {
            ErrnoException e = assertThrows(ErrnoException.class,
                    () -> LibC.fallocate(fd, LibC.FALLOC_FL_PUNCH_HOLE, 0, 4096)); // PUNCH_HOLE needs KEEP_SIZE
            assertEquals("EOPNOTSUPP", e.errnoName());
        } finally {
            LibC.close(fd);
        }
    }

    @Test
    void fstatReportsSizeAndBlocks() {
        int fd = LibC.memfdCreate("t", LibC.MFD_CLOEXEC);
        try {
            LibC.ftruncate(fd, 1 << 20);
            LibC.FileStat st = LibC.fstat(fd);
            assertEquals(1 << 20, st.size());
            assertEquals(0, st.blocks());
        } finally {
            LibC.close(fd);
        }
    }

    @Test
    void fstatReportsTheModeOfTheDescriptor() throws Exception {
        int memfd = LibC.memfdCreate("t", LibC.MFD_CLOEXEC);
        try {
            assertTrue(LibC.fstat(memfd).isRegularFile());
        } finally {
            LibC.close(memfd);
        }
        Path dir = Files.createTempDirectory("libc");
        String path = dir.resolve("f").toString();
        int fd = LibC.open(path, LibC.O_RDWR | LibC.O_CREAT | LibC.O_EXCL | LibC.O_CLOEXEC, 0600);
        try {
            LibC.FileStat st = LibC.fstat(fd);
            assertEquals(0600, st.permissions(), Integer.toOctalString(st.mode()));
            assertEquals(LibC.S_IFREG, st.mode() & LibC.S_IFMT);
            Files.setPosixFilePermissions(Path.of(path),
                    PosixFilePermissions.fromString("rw-r-----"));
            assertEquals(0640, LibC.fstat(fd).permissions(), "read from the descriptor, now");
        } finally {
            LibC.close(fd);
            LibC.unlink(path);
            Files.delete(dir);
        }
        int dirFd = LibC.open(dir.getParent().toString(), 0, 0); // O_RDONLY
        try {
            assertFalse(LibC.fstat(dirFd).isRegularFile(), "a directory");
        } finally {
            LibC.close(dirFd);
        }
    }

    @Test
    void errnoIsAnInternalUncheckedException() {
        assertEquals(RuntimeException.class, ErrnoException.class.getSuperclass());
        assertEquals(RuntimeException.class, UnsupportedPlatformException.class.getSuperclass());
        assertTrue(Platform.isSupported());
        Platform.check();
    }

    @Test
    void errnoNames() {
        assertEquals("ENOSPC", Errno.name(Errno.ENOSPC));
        assertEquals("ENOMEM", Errno.name(12));
        assertEquals("E9999", Errno.name(9999));
        assertEquals("E0", Errno.name(0));
    }
}
