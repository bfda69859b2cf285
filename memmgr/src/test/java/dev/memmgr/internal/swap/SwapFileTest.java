package dev.memmgr.internal.swap;

import static dev.memmgr.internal.swap.Pages.extents;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memmgr.MemmgrExtension;
import dev.memmgr.MemoryManager;
import dev.memmgr.internal.mem.ExtentList;
import dev.memmgr.internal.mem.PhysMem;
import dev.memmgr.internal.sys.LibC;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(MemmgrExtension.class)
class SwapFileTest {
    private static final int PAGE = 4096;

    @TempDir
    Path dir;
    private PhysMem mem;

    @BeforeEach
    void setUp() {
        mem = PhysMem.create(4L << 20, PAGE);
    }

    @AfterEach
    void tearDown() {
        mem.close();
    }

    private long entries(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.count();
        }
    }

    /** Writes and reads back a few pages, to show the file works. */
    private void use(SwapSpace swap) {
        ExtentList slots = new ExtentList();
        assertTrue(swap.allocate(3, slots));
        ExtentList frames = extents(5, 3);
        Pages.fill(mem, frames, 42);
        swap.write(frames, slots);
        Pages.zero(mem, frames);
        swap.read(slots, frames);
        assertNull(Pages.mismatch(mem, frames, 42));
    }

    @Test
    void createTempLeavesNoFileInTheDirectory() throws IOException {
        try (SwapSpace swap = SwapSpace.createTemp(dir, 1L << 20, mem)) {
            assertEquals(0, entries(dir), "unlinked at once");
            assertEquals(256, swap.capacitySlots());
            LibC.FileStat st = LibC.fstat(swap.fd());
            assertEquals(1L << 20, st.size());
            assertEquals(0, st.blocks(), "sparse");
            use(swap);
            assertEquals(0, entries(dir));
        }
        assertEquals(0, entries(dir));
    }

    @Test
    void createAtCreatesA0600FileAndDeletesItOnClose() throws IOException {
        Path file = dir.resolve("swap.bin");
        SwapSpace swap = SwapSpace.createAt(file, 1L << 20, mem);
        try {
            assertTrue(Files.isRegularFile(file));
            assertEquals(EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE),
                    Files.getPosixFilePermissions(file));
            assertEquals(1L << 20, Files.size(file));
            use(swap);
        } finally {
            swap.close();
        }
        assertFalse(Files.exists(file));
        swap.close(); // idempotent: nothing to delete twice
    }

    @Test
    void createAtOnAnExistingFileEmptiesItAndKeepsItTruncated() throws IOException {
        Path file = dir.resolve("existing.swap");
        byte[] old = new byte[3 * PAGE];
        java.util.Arrays.fill(old, (byte) 0x77);
        Files.write(file, old);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        SwapSpace swap = SwapSpace.createAt(file, 64L * PAGE, mem);
        try {
            assertEquals(64L * PAGE, Files.size(file));
            byte[] head = new byte[16];
            try (var in = Files.newInputStream(file)) {
                assertEquals(16, in.readNBytes(head, 0, 16));
            }
            assertArrayEquals(new byte[16], head, "old content dropped");
            use(swap);
        } finally {
            swap.close();
        }
        assertTrue(Files.exists(file), "a file we did not create is kept");
        assertEquals(0, Files.size(file));
    }

    @Test
    void theOpenedFileIsCheckedOnItsDescriptor() throws IOException {
        Path created = dir.resolve("new.swap");
        try (SwapSpace swap = SwapSpace.createAt(created, 1L << 20, mem)) {
            LibC.FileStat st = LibC.fstat(swap.fd());
            assertTrue(st.isRegularFile());
            assertEquals(0600, st.permissions(), Integer.toOctalString(st.mode()));
        }
        Path existing = dir.resolve("private.swap");
        Files.write(existing, new byte[PAGE]);
        Files.setPosixFilePermissions(existing, PosixFilePermissions.fromString("rw-------"));
        try (SwapSpace swap = SwapSpace.createAt(existing, 1L << 20, mem)) {
            assertEquals(0600, LibC.fstat(swap.fd()).permissions());
            use(swap);
        }
    }

    @Test
    void anExistingFileOthersCanAccessIsRefusedAndLeftAsItWas() throws IOException {
        Path file = dir.resolve("shared.swap");
        byte[] old = new byte[2 * PAGE + 5];
        java.util.Arrays.fill(old, (byte) 0x3C);
        Files.write(file, old);
        for (String perms : new String[] {"rw-r--r--", "rw-rw----", "rw----r--", "rw-----w-", "rw---x---", "rw-rw-rw-"}) {
            Set<PosixFilePermission> wide = PosixFilePermissions.fromString(perms);
            Files.setPosixFilePermissions(file, wide);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> SwapSpace.createAt(file, 1L << 20, mem), perms);
            assertTrue(e.getMessage().contains("permissions 0" + Integer.toOctalString(octal(wide))), e.getMessage());
            assertArrayEquals(old, Files.readAllBytes(file), "content and size unchanged: " + perms);
            assertEquals(wide, Files.getPosixFilePermissions(file), "permissions unchanged");
            assertEquals(0, descriptorsOf(file), "no descriptor left open: " + perms);
        }
    }

    @Test
    void theManagerRefusesASwapFileOthersCanRead() throws IOException {
        Path file = dir.resolve("world-readable.swap");
        Files.write(file, new byte[PAGE]);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        MemoryManager.Builder builder = MemoryManager.builder().capacity(1L << 20).swapFile(file, 1L << 20)
                .backgroundReclaim(false);
        assertThrows(IllegalArgumentException.class, builder::build);
        assertEquals(PAGE, Files.size(file));
        assertEquals(0, descriptorsOf(file));
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        try (MemoryManager m = builder.build()) {
            assertEquals(1L << 20, m.stats().swapCapacity());
        }
    }

    private static int octal(Set<PosixFilePermission> perms) {
        int mode = 0;
        for (PosixFilePermission p : perms) {
            mode |= 1 << (8 - p.ordinal()); // OWNER_READ is 0400 ... OTHERS_EXECUTE is 01
        }
        return mode;
    }

    /** @return how many of this process's descriptors are open on {@code file} */
    private static long descriptorsOf(Path file) throws IOException {
        Path real = file.toRealPath();
        long n = 0;
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : (Iterable<Path>) fds::iterator) {
                try {
                    if (Files.readSymbolicLink(fd).equals(real)) {
                        n++;
                    }
                } catch (IOException closedMeanwhile) {
                    // the listing's own descriptor, or one closed by another thread since
                }
            }
        }
        return n;
    }

    @Test
    void bytesAreRoundedDownToWholePages() throws IOException {
        Path file = dir.resolve("rounded");
        try (SwapSpace swap = SwapSpace.createAt(file, 3L * PAGE - 1, mem)) {
            assertEquals(2, swap.capacitySlots());
            assertEquals(2L * PAGE, swap.capacityBytes());
            assertEquals(2L * PAGE, Files.size(file));
            assertEquals(2, swap.freeSlots());
        }
        try (SwapSpace swap = SwapSpace.createTemp(dir, PAGE, mem)) {
            assertEquals(1, swap.capacitySlots());
        }
    }

    @Test
    void badArgumentsAreRejectedAndCreateNothing() throws IOException {
        Path file = dir.resolve("never");
        assertThrows(NullPointerException.class, () -> SwapSpace.createTemp(null, 1L << 20, mem));
        assertThrows(NullPointerException.class, () -> SwapSpace.createTemp(dir, 1L << 20, null));
        assertThrows(NullPointerException.class, () -> SwapSpace.createAt(null, 1L << 20, mem));
        assertThrows(NullPointerException.class, () -> SwapSpace.createAt(file, 1L << 20, null));
        for (long bytes : new long[] {PAGE - 1, 0, -1, -PAGE, Long.MIN_VALUE, ((long) Integer.MAX_VALUE + 1) * PAGE}) {
            assertThrows(IllegalArgumentException.class, () -> SwapSpace.createTemp(dir, bytes, mem));
            assertThrows(IllegalArgumentException.class, () -> SwapSpace.createAt(file, bytes, mem));
        }
        assertEquals(0, entries(dir));
    }

    @Test
    void unusablePathsThrowSwapIoException() throws IOException {
        SwapIoException e = assertThrows(SwapIoException.class,
                () -> SwapSpace.createTemp(dir.resolve("missing"), 1L << 20, mem));
        assertTrue(e.getMessage().contains("ENOENT"), e.getMessage());
        Path sub = Files.createDirectory(dir.resolve("sub"));
        e = assertThrows(SwapIoException.class, () -> SwapSpace.createAt(sub, 1L << 20, mem));
        assertTrue(e.getMessage().contains("EISDIR"), e.getMessage());
        assertTrue(Files.isDirectory(sub));
    }
}
