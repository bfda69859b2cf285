package dev.memmgr.bench;

import java.util.Locale;

/**
 * A log-bucket latency histogram in nanoseconds: 16 linear sub-buckets per power of two, so a
 * bucket is at most 1/16 (6.25 %) of its value wide. {@link #record(long)} does not allocate and
 * takes no lock: one instance per thread, {@link #add(LatencyHistogram) merged} at the end.
 */
final class LatencyHistogram {
    private static final int SUB_BITS = 4;
    private static final int SUB = 1 << SUB_BITS;
    /** Values below SUB have a bucket each; then 16 buckets for each exponent 4..63. */
    private static final int BUCKETS = SUB + (64 - SUB_BITS) * SUB;

    private final long[] counts = new long[BUCKETS];
    private long total;
    private long max;

    /** @param nanos a duration; negative counts as zero */
    void record(long nanos) {
        long v = Math.max(0, nanos);
        counts[index(v)]++;
        total++;
        if (v > max) {
            max = v;
        }
    }

    /** Adds another histogram's counts to this one. */
    void add(LatencyHistogram other) {
        for (int i = 0; i < BUCKETS; i++) {
            counts[i] += other.counts[i];
        }
        total += other.total;
        max = Math.max(max, other.max);
    }

    long count() {
        return total;
    }

    static int index(long v) {
        if (v < SUB) {
            return (int) v;
        }
        int exp = 63 - Long.numberOfLeadingZeros(v); // >= SUB_BITS
        int sub = (int) (v >>> (exp - SUB_BITS)) & (SUB - 1);
        return SUB + (exp - SUB_BITS) * SUB + sub;
    }

    /** @return the smallest value that falls in bucket i */
    static long lowerBound(int i) {
        if (i < SUB) {
            return i;
        }
        int exp = (i - SUB) / SUB + SUB_BITS;
        int sub = (i - SUB) % SUB;
        return (1L << exp) | ((long) sub << (exp - SUB_BITS));
    }

    /** @return the width of bucket i */
    static long width(int i) {
        if (i < SUB) {
            return 1;
        }
        int exp = (i - SUB) / SUB + SUB_BITS;
        return 1L << (exp - SUB_BITS);
    }

    /**
     * @param q a quantile in (0, 1]
     * @return the midpoint of the bucket holding the q-th value (capped at the maximum seen), or 0
     *     when empty
     */
    long quantile(double q) {
        if (total == 0) {
            return 0;
        }
        long rank = Math.max(1, (long) Math.ceil(q * total));
        long seen = 0;
        for (int i = 0; i < BUCKETS; i++) {
            seen += counts[i];
            if (seen >= rank) {
                long mid = lowerBound(i) + (width(i) - 1) / 2;
                return Math.min(mid, max);
            }
        }
        return max;
    }

    /** @return e.g. {@code "pin p50: 850 ns p99: 35.2 us"}, each figure in its own unit */
    String line(String name) {
        return name + " p50: " + duration(quantile(0.50)) + " p99: " + duration(quantile(0.99));
    }

    /**
     * @param nanos a duration
     * @return it in the unit its magnitude asks for, with one decimal from us on: {@code "850 ns"},
     *     {@code "35.2 us"}, {@code "1.3 ms"}, {@code "2.0 s"}; a value that rounds up to 1000 of
     *     a unit is shown in the next one ({@code "1.0 ms"}, not {@code "1000.0 us"})
     */
    static String duration(long nanos) {
        if (nanos < 1_000) {
            return nanos + " ns";
        }
        if (nanos < 999_950) {
            return String.format(Locale.ROOT, "%.1f us", nanos / 1e3);
        }
        if (nanos < 999_950_000) {
            return String.format(Locale.ROOT, "%.1f ms", nanos / 1e6);
        }
        return String.format(Locale.ROOT, "%.1f s", nanos / 1e9);
    }
}
