package dev.memmgr.internal.mem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.BitSet;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The off-heap bitmap against {@link BitSet} on seeded random operations, over sizes that end
 * inside and on the boundaries of a word, of a level-1 summary long (64 words) and of a level-2
 * summary long (4096 words). Rerun a failure with {@code -Dmemmgr.seed=<seed>}.
 */
class BitmapTest {
    private static final int[] SIZES = {1, 2, 63, 64, 65, 127, 4095, 4096, 4097, 64 * 64 * 64 - 3, 64 * 64 * 64,
        64 * 64 * 64 + 5, 64 * 64 * 64 * 3 + 77};

    @Test
    void behavesLikeABitSet() {
        long seed = Long.getLong("memmgr.seed", 0xB17L);
        for (int n : SIZES) {
            try (AnonymousMemory memory = AnonymousMemory.map(Bitmap.bytesFor(n))) {
                Bitmap bits = new Bitmap(memory.segment(), n);
                check(bits, new BitSet(n), n, new Random(seed + n), seed);
            }
        }
    }

    private static void check(Bitmap bits, BitSet model, int n, Random rnd, long seed) {
        String ctx = "n=" + n + " seed=" + seed;
        for (int op = 0; op < 300; op++) {
            int start = rnd.nextInt(n);
            int length = 1 + rnd.nextInt(Math.min(n - start, rnd.nextBoolean() ? 70 : n));
            if (rnd.nextInt(3) == 0) {
                bits.clear(start, length);
                model.clear(start, start + length);
            } else {
                bits.set(start, length);
                model.set(start, start + length);
            }
            for (int q = 0; q < 8; q++) {
                int from = rnd.nextInt(n + 1);
                int limit = from + rnd.nextInt(n - from + 1);
                int one = model.nextSetBit(from);
                int zero = model.nextClearBit(from);
                assertEquals(one < 0 || one >= limit ? limit : one, bits.nextOne(from, limit),
                        ctx + " nextOne(" + from + ", " + limit + ")");
                assertEquals(Math.min(zero, limit), bits.nextZero(from, limit),
                        ctx + " nextZero(" + from + ", " + limit + ")");
            }
            int a = rnd.nextInt(n);
            int len = 1 + rnd.nextInt(n - a);
            int card = model.get(a, a + len).cardinality();
            assertEquals(card, bits.count(a, len), ctx);
            assertEquals(card == len, bits.allOnes(a, len), ctx);
            assertEquals(card == 0, bits.allZeros(a, len), ctx);
        }
        assertEquals(model.nextClearBit(0) >= n ? n : model.nextClearBit(0), bits.nextZero(0, n), ctx);
        // clearing everything brings back an all-zero memory: summaries included
        bits.clear(0, n);
        assertEquals(n, bits.nextOne(0, n), ctx);
        assertEquals(0, bits.nextZero(0, n), ctx);
    }

    @Test
    void searchesCrossLevelTwoSummaryLongs() {
        int n = 64 * 64 * 64 * 64 * 2 + 333; // 33.5 M bits: three level-2 longs
        try (AnonymousMemory memory = AnonymousMemory.map(Bitmap.bytesFor(n))) {
            Bitmap bits = new Bitmap(memory.segment(), n);
            bits.set(5, 1);
            bits.set(n - 10, 3);
            assertEquals(5, bits.nextOne(0, n));
            assertEquals(n - 10, bits.nextOne(6, n));
            assertEquals(n - 11, bits.nextOne(n - 11, n - 11), "limit is exclusive");
            assertEquals(20_000_000, bits.nextOne(6, 20_000_000));
            bits.set(0, 20_000_000);
            assertEquals(20_000_000, bits.nextZero(0, n));
            assertEquals(n - 7, bits.nextZero(n - 10, n));
            bits.set(n - 7, 7);
            assertEquals(20_000_000, bits.nextZero(19_999_000, n - 10));
            assertEquals(20_000_000, bits.nextZero(17, n));
            bits.set(20_000_000, n - 20_000_000);
            assertEquals(n, bits.nextZero(0, n), "all set");
            assertEquals(n - 100, bits.nextZero(n - 100, n - 100));
            bits.clear(16_777_216, 1); // the first bit of the second level-2 long
            assertEquals(16_777_216, bits.nextZero(0, n));
            bits.clear(0, n);
            assertEquals(n, bits.nextOne(0, n));
        }
    }

    @Test
    void aFreshBitmapIsAllZeroMemoryAndSearchesWriteNothing() {
        int n = 1 << 20;
        try (AnonymousMemory memory = AnonymousMemory.map(Bitmap.bytesFor(n))) {
            MemorySegment seg = memory.segment();
            Bitmap bits = new Bitmap(seg, n);
            assertEquals(n, bits.nextOne(0, n));
            assertEquals(0, bits.nextZero(0, n));
            bits.set(0, n);
            assertEquals(n, bits.nextZero(0, n), "bits past n are never reported");
            bits.clear(0, n);
            for (long i = 0; i < seg.byteSize(); i += 8) {
                assertEquals(0L, seg.get(ValueLayout.JAVA_LONG, i), "long " + i / 8);
            }
        }
    }

    @Test
    void sizesAreChecked() {
        try (AnonymousMemory memory = AnonymousMemory.map(64)) {
            assertThrows(IllegalArgumentException.class, () -> new Bitmap(memory.segment(), 0));
            assertThrows(IllegalArgumentException.class, () -> new Bitmap(memory.segment(), 64 * 64 * 2));
            assertTrue(Bitmap.bytesFor(Integer.MAX_VALUE) > (Integer.MAX_VALUE / 8));
        }
        assertThrows(IllegalArgumentException.class, () -> AnonymousMemory.map(0));
    }
}
