package dev.memmgr.bench.sim;

import java.util.Arrays;
import java.util.SplittableRandom;

/** Zipf-distributed ranks 0..n-1: P(rank r) proportional to 1 / (r + 1)^s. */
final class Zipf {
    private final double[] cdf;

    Zipf(int n, double s) {
        if (n <= 0) {
            throw new IllegalArgumentException("n must be positive: " + n);
        }
        cdf = new double[n];
        double sum = 0;
        for (int r = 0; r < n; r++) {
            sum += 1 / Math.pow(r + 1, s);
            cdf[r] = sum;
        }
        for (int r = 0; r < n; r++) {
            cdf[r] /= sum;
        }
        cdf[n - 1] = 1;
    }

    int next(SplittableRandom rnd) {
        int i = Arrays.binarySearch(cdf, rnd.nextDouble());
        return i >= 0 ? i : -i - 1;
    }
}
