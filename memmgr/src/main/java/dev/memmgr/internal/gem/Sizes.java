package dev.memmgr.internal.gem;

/** Byte counts as people read them in messages: B, KiB, MiB, GiB with one decimal. Stateless. */
final class Sizes {
    private Sizes() {
    }

    static String text(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(java.util.Locale.ROOT, "%.1f %s", v, units[u]);
    }
}
