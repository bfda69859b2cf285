package dev.memmgr.internal.swap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.SplittableRandom;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

/**
 * {@link CrcShift} predicts the CRC32C of a concatenation from the parts' checksums, which is
 * what lets a swap-in verify a run of pages in one pass; and any error confined to one page
 * still changes the run's checksum.
 */
class CrcShiftTest {
    private static int crc(byte[] b, int off, int len) {
        CRC32C c = new CRC32C();
        c.update(b, off, len);
        return (int) c.getValue();
    }

    @Test
    void combineEqualsTheChecksumOfTheConcatenation() {
        SplittableRandom rnd = new SplittableRandom(1);
        for (int lengthB : new int[] {1, 3, 8, 255, 4096, 16384, 65536}) {
            CrcShift shift = new CrcShift(lengthB);
            for (int round = 0; round < 20; round++) {
                int lengthA = rnd.nextInt(0, 5000);
                byte[] ab = new byte[lengthA + lengthB];
                rnd.nextBytes(ab);
                int expected = crc(ab, 0, ab.length);
                assertEquals(expected, shift.combine(crc(ab, 0, lengthA), crc(ab, lengthA, lengthB)),
                        "lengthA " + lengthA + " lengthB " + lengthB + " round " + round);
            }
        }
    }

    @Test
    void foldingPageChecksumsPredictsTheRunsChecksum() {
        int page = 4096;
        int pages = 37;
        CrcShift shift = new CrcShift(page);
        byte[] run = new byte[pages * page];
        new SplittableRandom(2).nextBytes(run);
        int folded = 0;
        for (int p = 0; p < pages; p++) {
            folded = shift.combine(folded, crc(run, p * page, page));
        }
        assertEquals(crc(run, 0, run.length), folded);
    }

    @Test
    void anyBitFlippedInOnePageChangesTheRunsChecksum() {
        int page = 512;
        int pages = 6;
        CrcShift shift = new CrcShift(page);
        byte[] run = new byte[pages * page];
        new SplittableRandom(3).nextBytes(run);
        int recorded = 0;
        for (int p = 0; p < pages; p++) {
            recorded = shift.combine(recorded, crc(run, p * page, page));
        }
        for (int bit = 0; bit < run.length * 8; bit += 7) {
            run[bit >>> 3] ^= (byte) (1 << (bit & 7));
            assertNotEquals(recorded, crc(run, 0, run.length), "bit " + bit);
            run[bit >>> 3] ^= (byte) (1 << (bit & 7));
        }
        assertEquals(recorded, crc(run, 0, run.length));
    }

    @Test
    void shiftOfZeroIsZeroAndLengthsMustBePositive() {
        assertEquals(0, new CrcShift(4096).shift(0));
        assertThrows(IllegalArgumentException.class, () -> new CrcShift(0));
        assertThrows(IllegalArgumentException.class, () -> new CrcShift(-1));
    }
}
