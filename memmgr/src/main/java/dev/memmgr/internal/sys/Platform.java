package dev.memmgr.internal.sys;

/**
 * The platforms memmgr runs on: Linux on x86-64 or aarch64. Everything below this layer assumes
 * their shared asm-generic constants (mmap flags, errno numbers, O_ flags, struct stat offsets of
 * st_size and st_blocks; st_mode is where the two layouts differ, see {@link #isAarch64()}).
 *
 * <p>Stateless; thread-safe.
 */
public final class Platform {
    private static final String OS = System.getProperty("os.name", "?");
    private static final String ARCH = System.getProperty("os.arch", "?");
    private static final boolean AARCH64 = ARCH.equals("aarch64");
    private static final boolean SUPPORTED = OS.equals("Linux")
            && (ARCH.equals("amd64") || ARCH.equals("x86_64") || AARCH64);

    private Platform() {
    }

    /** @return whether this JVM runs on a supported platform */
    public static boolean isSupported() {
        return SUPPORTED;
    }

    /** @return whether this JVM runs on aarch64 (else x86-64, when supported) */
    public static boolean isAarch64() {
        return AARCH64;
    }

    /**
     * Fails with a clear message where memmgr cannot run.
     *
     * @throws UnsupportedPlatformException on anything but Linux x86-64 or aarch64
     */
    public static void check() {
        if (!SUPPORTED) {
            throw new UnsupportedPlatformException("memmgr runs on Linux x86-64 or aarch64 only; this JVM is on "
                    + OS + "/" + ARCH);
        }
    }
}
