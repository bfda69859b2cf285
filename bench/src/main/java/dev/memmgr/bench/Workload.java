package dev.memmgr.bench;

import java.util.SplittableRandom;

/**
 * The shape of the stress workload: the kinds of buffers a renderer keeps (one client each),
 * their sizes, and how often each operation is applied to each kind.
 *
 * <p><b>Sizes.</b> Each kind has a range (textures 64 KiB..16 MiB, geometry 4 KiB..4 MiB,
 * staging 256 KiB..8 MiB, cache 4 KiB..2 MiB, all capped at a quarter of the capacity). A size
 * is {@code min * (max/min)^(u^k)} for a uniform u: log-uniform for k = 1 (median the geometric
 * mean of the range, so most buffers are small while the big ones hold most bytes); k &lt; 1
 * shifts weight to the big end. k is chosen once per run so that the expected working set of
 * {@code --objects} buffers is the target (twice the capacity by default): then eviction,
 * swap-in and purge happen all the time whatever the settings.
 */
final class Workload {
    /** Operations on a live object, in the order of the weight tables. */
    enum Op {
        /** read a range or the whole object and verify it */
        READ,
        /** pin, read a few pages through a vmap, unpin (one "frame") */
        FRAME,
        /** write a page range or the whole object with a new stamp */
        WRITE,
        /** vmap, write a page range through the view, close it */
        UPLOAD,
        /** attach a fence that the GPU thread signals soon */
        FENCE,
        /** lookup by handle (same instance), read a page, release */
        LOOKUP,
        /** retain, getPages, read a page, putPages, release */
        PAGES,
        /** DONTNEED, or WILLNEED and then verify everything or find it purged and recreate it */
        MADVISE,
        /** close the handle (sometimes keeping a reference for a last use) */
        CLOSE,
        /** read and verify the whole object */
        VERIFY
    }

    enum Kind {
        //                              weight  min        max        READ FRAME WRITE UPLOAD FENCE LOOKUP PAGES MADV CLOSE VERIFY
        TEXTURES("textures", 35, 64 << 10, 16 << 20, new int[] {28, 28, 4, 5, 10, 6, 6, 2, 3, 2}),
        GEOMETRY("geometry", 25, 4 << 10, 4 << 20, new int[] {20, 18, 18, 10, 12, 6, 6, 2, 4, 2}),
        STAGING("staging", 15, 256 << 10, 8 << 20, new int[] {14, 8, 20, 26, 10, 3, 3, 0, 12, 2}),
        CACHE("cache", 25, 4 << 10, 2 << 20, new int[] {24, 6, 8, 2, 6, 5, 5, 30, 6, 3}),
        /** The workers' GPU VM objects ({@link StressVm}): never in the table (weight 0, no table operations). */
        VM("vm", 0, 4 << 10, 2 << 20, new int[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0});

        final String label;
        final int weight;
        final long min;
        final long max;
        private final int[] opWeights;
        private final int opTotal;

        Kind(String label, int weight, long min, long max, int[] opWeights) {
            this.label = label;
            this.weight = weight;
            this.min = min;
            this.max = max;
            this.opWeights = opWeights;
            int t = 0;
            for (int w : opWeights) {
                t += w;
            }
            this.opTotal = t;
        }

        Op pickOp(SplittableRandom rnd) {
            int r = rnd.nextInt(opTotal);
            Op[] ops = Op.values();
            for (int i = 0; i < opWeights.length; i++) {
                r -= opWeights[i];
                if (r < 0) {
                    return ops[i];
                }
            }
            throw new AssertionError();
        }
    }

    private static final Kind[] KINDS = Kind.values();
    private static final int KIND_TOTAL;

    static {
        int t = 0;
        for (Kind k : KINDS) {
            t += k.weight;
        }
        KIND_TOTAL = t;
    }

    final int pageSize;
    final long maxObject;
    final long targetBytes;
    final double skew;
    final double meanSize;

    /**
     * @param capacity bytes of frames
     * @param pageSize bytes per page
     * @param objects maximum live objects
     * @param targetBytes the working set to aim at
     */
    Workload(long capacity, int pageSize, int objects, long targetBytes) {
        this.pageSize = pageSize;
        this.maxObject = Math.max(pageSize, Math.min(16L << 20, capacity / 4) / pageSize * pageSize);
        this.targetBytes = targetBytes;
        double bestK = 1;
        double bestErr = Double.MAX_VALUE;
        for (double k = 0.10; k <= 3.0001; k += 0.05) {
            double err = Math.abs(objects * mean(k) - targetBytes);
            if (err < bestErr) {
                bestErr = err;
                bestK = k;
            }
        }
        this.skew = bestK;
        this.meanSize = mean(bestK);
    }

    Kind pickKind(SplittableRandom rnd) {
        int r = rnd.nextInt(KIND_TOTAL);
        for (Kind k : KINDS) {
            r -= k.weight;
            if (r < 0) {
                return k;
            }
        }
        throw new AssertionError();
    }

    long min(Kind k) {
        return Math.min(k.min, maxObject);
    }

    long max(Kind k) {
        return Math.min(k.max, maxObject);
    }

    long size(Kind k, SplittableRandom rnd) {
        return size(k, rnd.nextDouble(), skew);
    }

    private long size(Kind k, double u, double s) {
        double lo = min(k);
        double hi = max(k);
        long bytes = (long) (lo * Math.pow(hi / lo, Math.pow(u, s)));
        long pages = Math.max(1, (bytes + pageSize - 1) / pageSize);
        return Math.min(pages * pageSize, max(k));
    }

    /** @return the expected object size for skew s (numerically) */
    private double mean(double s) {
        double sum = 0;
        int n = 2048;
        for (Kind k : KINDS) {
            double m = 0;
            for (int i = 0; i < n; i++) {
                m += size(k, (i + 0.5) / n, s);
            }
            sum += k.weight * (m / n);
        }
        return sum / KIND_TOTAL;
    }
}
