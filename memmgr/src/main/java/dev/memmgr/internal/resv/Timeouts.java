package dev.memmgr.internal.resv;

import java.time.Duration;

/** Timeouts of fence and reservation waits. Stateless; thread-safe. */
public final class Timeouts {
    private Timeouts() {
    }

    /**
     * Converts a timeout for a deadline computation.
     *
     * @param timeout the timeout
     * @return the timeout in nanoseconds: 0 for zero or negative ones, and a quarter of
     *     Long.MAX_VALUE (centuries, and room to add System.nanoTime()) for ones too long for a long
     */
    public static long nanos(Duration timeout) {
        try {
            return Math.max(0, timeout.toNanos());
        } catch (ArithmeticException tooLong) {
            return timeout.isNegative() ? 0 : Long.MAX_VALUE / 4;
        }
    }
}
