package dev.memmgr.vulkan.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The demo's command line (no Vulkan needed: a bad command line is rejected before any device is opened). */
class DemoOptionsTest {
    @Test
    void defaultsAndValues() {
        DemoOptions d = DemoOptions.parse(new String[0]);
        assertEquals(new DemoOptions(1000, 64, 8, 128, 2L << 20, 1), d);
        assertTrue(d.textures() * d.textureBytes() > d.capacity(), "the default streams more than the capacity");
        assertEquals(new DemoOptions(5, 10, 4, 64, 1L << 20, 7),
                DemoOptions.parse(new String[] {"--frames", "5", "--textures=10", "--per-frame", "4", "--texture-size",
                    "64", "--capacity", "1m", "--seed", "7"}));
        assertNull(DemoOptions.parse(new String[] {"--frames", "x", "--help"}), "--help wins");
    }

    @Test
    void badCommandLinesAreRejected() {
        String[][] bad = {
            {"--frames", "0"}, {"--frames"}, {"--frames", "1", "--frames", "2"}, {"--bogus", "1"}, {"stray"},
            {"--textures", "1"}, {"--per-frame", "17"}, {"--textures", "4", "--per-frame", "5"},
            {"--texture-size", "100"}, {"--texture-size", "8"}, {"--capacity", "5000"}, {"--capacity", "12q"},
            {"--capacity", "256k", "--per-frame", "16"}, {"--textures", "1024", "--texture-size", "512"},
            {"--seed", "x"},
        };
        for (String[] args : bad) {
            assertThrows(DemoOptions.BadOptions.class, () -> DemoOptions.parse(args), String.join(" ", args));
        }
    }

    @Test
    void theCommandExitsWithStatus2AndTheUsage() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = VulkanDemo.run(new String[] {"--frames", "-3"}, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(2, rc);
        String e = err.toString(StandardCharsets.UTF_8);
        assertTrue(e.startsWith("vulkan-demo: --frames"), e);
        assertTrue(e.contains("usage: bin/memmgr vulkan-demo"), e);
        assertEquals("", out.toString(StandardCharsets.UTF_8));
        assertEquals(0, VulkanDemo.run(new String[] {"-h"}, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8)));
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("mesa-vulkan-drivers"));
    }
}
