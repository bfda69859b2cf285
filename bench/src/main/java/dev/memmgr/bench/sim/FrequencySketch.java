package dev.memmgr.bench.sim;

/**
 * A count-min sketch of 4-bit counters with aging, as TinyLFU uses (Caffeine's FrequencySketch):
 * four rows indexed by independent hashes of the key; an increment bumps the key's counter in
 * every row (saturating at 15), the estimate is the least of the four. After {@code sampleSize}
 * increments every counter is halved (aging), so old popularity fades.
 *
 * <p>Counters are nibbles packed 16 to a long. A port would update them with a plain
 * read-modify-write or a weak CAS and tolerate lost increments (an estimate either way).
 */
final class FrequencySketch {
    private static final long[] SEEDS = {0x9E3779B97F4A7C15L, 0xC2B2AE3D27D4EB4FL, 0x165667B19E3779F9L,
        0xD6E8FEB86659FD93L};

    private final long[][] rows = new long[4][];
    private int mask;
    private int capacity;
    private long sampleSize;
    private long additions;

    FrequencySketch() {
        ensureCapacity(16);
    }

    /**
     * Sizes the sketch for {@code entries} tracked objects, as Caffeine does for a weighted cache
     * (by its entry count): 16 counters per entry (4 rows of 4 x entries, a power of two) and an
     * aging period of 10 increments per entry. Growing discards the counts; never shrinks.
     */
    void ensureCapacity(int entries) {
        if (entries <= capacity) {
            return;
        }
        capacity = Math.max(16, Integer.highestOneBit(entries - 1) << 1); // entries rounded up to a power of two
        int width = 4 * capacity;
        mask = width - 1;
        for (int i = 0; i < rows.length; i++) {
            rows[i] = new long[width / 16];
        }
        sampleSize = 10L * entries;
        additions = 0;
    }

    long sampleSize() {
        return sampleSize;
    }

    void increment(long key) {
        boolean added = false;
        for (int i = 0; i < rows.length; i++) {
            int c = index(key, i);
            long[] row = rows[i];
            int shift = (c & 15) << 2;
            long word = row[c >>> 4];
            if (((word >>> shift) & 15) != 15) {
                row[c >>> 4] = word + (1L << shift);
                added = true;
            }
        }
        if (added && ++additions >= sampleSize) {
            age();
        }
    }

    int frequency(long key) {
        int f = 15;
        for (int i = 0; i < rows.length; i++) {
            int c = index(key, i);
            f = Math.min(f, (int) ((rows[i][c >>> 4] >>> ((c & 15) << 2)) & 15));
        }
        return f;
    }

    /** Halves every counter. */
    private void age() {
        for (long[] row : rows) {
            for (int j = 0; j < row.length; j++) {
                row[j] = (row[j] >>> 1) & 0x7777777777777777L; // each nibble halved
            }
        }
        additions /= 2;
    }

    private int index(long key, int row) {
        long h = (key + 1) * SEEDS[row];
        h ^= h >>> 32;
        h *= 0xFF51AFD7ED558CCDL;
        h ^= h >>> 29;
        return (int) h & mask;
    }
}
