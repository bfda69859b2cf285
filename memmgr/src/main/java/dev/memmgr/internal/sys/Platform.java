package dev.memmgr.internal.sys;

import dev.memmgr.MemoryManagerException;

/**
 * The platforms memmgr runs on: Linux on x86-64 or aarch64. Everything below this layer assumes
 * their shared asm-generic constants (mmap flags, errno numbers, O_ flags, struct stat offsets of
 * st_size and st_blocks).
 */
public final class Platform {
    private static final String OS = System.getProperty("os.name", "?");
    private static final String ARCH = System.getProperty("os.arch", "?");
    private static final boolean SUPPORTED = OS.equals("Linux")
            && (ARCH.equals("amd64") || ARCH.equals("x86_64") || ARCH.equals("aarch64"));

    private Platform() {
    }

    /** @return whether this JVM runs on a supported platform */
    public static boolean isSupported() {
        return SUPPORTED;
    }

    /**
     * Fails with a clear message where memmgr cannot run.
     *
     * @throws MemoryManagerException on anything but Linux x86-64 or aarch64
     */
    public static void check() {
        if (!SUPPORTED) {
            throw new MemoryManagerException("memmgr runs on Linux x86-64 or aarch64 only; this JVM is on "
                    + OS + "/" + ARCH);
        }
    }
}
