package dev.memmgr.internal.obs;

/**
 * Byte counts as people read them: {@code "0 B"}, {@code "512 B"}, {@code "4 KiB"},
 * {@code "1.5 MiB"}, {@code "256 MiB"}: binary units, at most one decimal, none when it is zero.
 * What every {@code toString()} of the public records and objects prints. Stateless.
 */
public final class Units {
    private static final String[] UNITS = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};

    private Units() {
    }

    /** @return {@code bytes} in the largest binary unit that keeps it at least 1, with one decimal at most */
    public static String bytes(long bytes) {
        if (bytes < 0) {
            return bytes == Long.MIN_VALUE ? "-8 EiB" : "-" + bytes(-bytes);
        }
        if (bytes < 1024) {
            return bytes + " B";
        }
        int u = 0;
        double v = bytes;
        while (v >= 1024 && u < UNITS.length - 1) {
            v /= 1024;
            u++;
        }
        long tenths = Math.round(v * 10);
        if (tenths >= 10240 && u < UNITS.length - 1) { // 1023.96 KiB rounds to 1 MiB, not "1024 KiB"
            tenths = Math.round(v * 10 / 1024);
            u++;
        }
        return (tenths % 10 == 0 ? Long.toString(tenths / 10) : tenths / 10 + "." + tenths % 10) + " " + UNITS[u];
    }
}
