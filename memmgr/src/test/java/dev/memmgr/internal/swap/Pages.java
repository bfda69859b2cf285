package dev.memmgr.internal.swap;

import dev.memmgr.internal.mem.ExtentList;
import dev.memmgr.internal.mem.PhysMem;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Test helpers: fill frames with a pattern unique per page, byte and seed, and check it. */
final class Pages {
    private Pages() {
    }

    /** The pattern's long at byte {@code offset} of the {@code k}-th page of a list. */
    static long pattern(long seed, long k, long offset) {
        return (seed * 0x9E3779B97F4A7C15L) ^ (k << 32) ^ offset ^ 0x5A5A_0000_0000_A5A5L;
    }

    /** Fills the frames of a list, in list order, with the pattern of {@code seed}. */
    static void fill(PhysMem mem, ExtentList frames, long seed) {
        long k = 0;
        for (int i = 0; i < frames.size(); i++) {
            for (int f = frames.start(i); f < frames.start(i) + frames.length(i); f++, k++) {
                MemorySegment page = mem.frames(f, 1);
                for (long o = 0; o < page.byteSize(); o += 8) {
                    page.set(ValueLayout.JAVA_LONG, o, pattern(seed, k, o));
                }
            }
        }
    }

    /**
     * Checks every byte of the frames of a list against the pattern of {@code seed}.
     *
     * @return a description of the first difference, or null when all bytes match
     */
    static String mismatch(PhysMem mem, ExtentList frames, long seed) {
        long k = 0;
        for (int i = 0; i < frames.size(); i++) {
            for (int f = frames.start(i); f < frames.start(i) + frames.length(i); f++, k++) {
                MemorySegment page = mem.frames(f, 1);
                for (long o = 0; o < page.byteSize(); o += 8) {
                    long want = pattern(seed, k, o);
                    long got = page.get(ValueLayout.JAVA_LONG, o);
                    if (got != want) {
                        return "page " + k + " (frame " + f + ") byte " + o + ": " + Long.toHexString(got)
                                + " != " + Long.toHexString(want);
                    }
                }
            }
        }
        return null;
    }

    /** Zeroes the frames of a list. */
    static void zero(PhysMem mem, ExtentList frames) {
        for (int i = 0; i < frames.size(); i++) {
            mem.zero(frames.start(i), frames.length(i));
        }
    }

    /** @return a list of the given (start, length) pairs */
    static ExtentList extents(int... startLength) {
        ExtentList list = new ExtentList();
        for (int i = 0; i < startLength.length; i += 2) {
            list.add(startLength[i], startLength[i + 1]);
        }
        return list;
    }
}
