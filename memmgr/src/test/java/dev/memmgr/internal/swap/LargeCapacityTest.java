package dev.memmgr.internal.swap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memmgr.internal.mem.PhysMem;
import java.io.File;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Large capacities cost address space, not heap: a terabyte of frames, a swap of four terabytes
 * and an allocator of 2^30 units are created and used at both ends in a JVM of its own limited
 * to a 64 MiB heap ({@link LargeCapacityMain}); with the former on-heap bitmaps (and an on-heap
 * checksum table) it runs out of memory.
 */
class LargeCapacityTest {
    @TempDir
    Path dir;

    @Test
    void aTerabyteOfFramesAndFourOfSwapRunInA64MiBHeap() throws IOException, InterruptedException, URISyntaxException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String classPath = location(PhysMem.class) + File.pathSeparator + location(LargeCapacityMain.class);
        Process p = new ProcessBuilder(List.of(java, "-Xmx64m", "-XX:+UseSerialGC",
                "--enable-native-access=ALL-UNNAMED", "-cp", classPath, LargeCapacityMain.class.getName(),
                dir.toString())).redirectErrorStream(true).start();
        p.getOutputStream().close();
        boolean exited = p.waitFor(120, TimeUnit.SECONDS);
        if (!exited) {
            p.destroyForcibly();
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(exited, "timed out: " + out);
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.startsWith("OK"), out);
    }

    private static String location(Class<?> c) throws URISyntaxException {
        return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    }
}
