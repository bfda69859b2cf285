package dev.memmgr;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** {@link MemoryManager#version()}: the version Maven built, read from the filtered resource. */
class VersionTest {
    @Test
    void versionIsTheProjectVersion() {
        // memmgr/pom.xml passes ${project.version} to the test JVM
        String expected = System.getProperty("memmgr.expectedVersion");
        assertNotNull(expected, "run through Maven: surefire sets memmgr.expectedVersion");
        assertEquals(expected, MemoryManager.version());
    }

    @Test
    void versionLooksLikeAVersionAndNeedsNoManager() {
        String v = MemoryManager.version();
        assertTrue(v.matches("\\d+\\.\\d+\\.\\d+(-[0-9A-Za-z.-]+)?"), "not a version: '" + v + "'");
        assertEquals(v, MemoryManager.version(), "stable across calls");
    }
}
