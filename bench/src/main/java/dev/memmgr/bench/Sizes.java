package dev.memmgr.bench;

import java.util.Locale;

/** Byte sizes on command lines ("256m", "1g", "64k", "4096") and in output ("256 MiB"). */
final class Sizes {
    private Sizes() {
    }

    /**
     * @param text digits with an optional k, m, g or t suffix (powers of 1024), case-insensitive
     * @return bytes
     * @throws IllegalArgumentException on anything else
     */
    static long parse(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        if (t.endsWith("ib") || t.endsWith("b")) {
            t = t.substring(0, t.length() - (t.endsWith("ib") ? 2 : 1));
        }
        if (t.isEmpty()) {
            throw new IllegalArgumentException("not a size: '" + text + "'");
        }
        int shift = switch (t.charAt(t.length() - 1)) {
            case 'k' -> 10;
            case 'm' -> 20;
            case 'g' -> 30;
            case 't' -> 40;
            default -> 0;
        };
        String digits = shift == 0 ? t : t.substring(0, t.length() - 1);
        try {
            long v = Long.parseLong(digits.trim());
            if (v < 0 || v > (Long.MAX_VALUE >> shift)) {
                throw new IllegalArgumentException("size out of range: '" + text + "'");
            }
            return v << shift;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a size: '" + text + "'", e);
        }
    }

    /** @return the size in the largest unit that keeps one decimal meaningful, e.g. "1.5 GiB" */
    static String format(long bytes) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = 0;
        while (Math.abs(v) >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return u == 0 ? bytes + " B" : (v == Math.rint(v) ? String.format(Locale.ROOT, "%.0f %s", v, units[u])
                : String.format(Locale.ROOT, "%.1f %s", v, units[u]));
    }
}
