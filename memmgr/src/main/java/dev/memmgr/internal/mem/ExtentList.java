package dev.memmgr.internal.mem;

import java.util.Arrays;

/**
 * A growable list of extents: runs of consecutive units (page frames or swap slots), each a
 * (start, length) pair of ints kept in one primitive array. No object per extent.
 *
 * <p>Not thread-safe: owned by one thread or guarded by its owner's lock.
 */
public final class ExtentList {
    private int[] data;
    private int size;
    private long units;

    public ExtentList() {
        this(4);
    }

    public ExtentList(int initialExtents) {
        data = new int[Math.max(2, initialExtents * 2)];
    }

    /** @return the number of extents */
    public int size() {
        return size;
    }

    /** @return whether there are no extents */
    public boolean isEmpty() {
        return size == 0;
    }

    /** @return the sum of the extents' lengths */
    public long units() {
        return units;
    }

    /** @return the first unit of extent {@code i} */
    public int start(int i) {
        check(i);
        return data[2 * i];
    }

    /** @return the length of extent {@code i} */
    public int length(int i) {
        check(i);
        return data[2 * i + 1];
    }

    /**
     * Appends an extent, merging it into the last one when it continues it.
     *
     * @param start first unit, &gt;= 0
     * @param length number of units, &gt; 0
     */
    public void add(int start, int length) {
        if (start < 0 || length <= 0 || (long) start + length > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("bad extent " + start + "+" + length);
        }
        if (size > 0 && data[2 * size - 2] + data[2 * size - 1] == start) {
            data[2 * size - 1] += length;
        } else {
            if (2 * size + 2 > data.length) {
                data = Arrays.copyOf(data, data.length * 2);
            }
            data[2 * size] = start;
            data[2 * size + 1] = length;
            size++;
        }
        units += length;
    }

    /** Appends every extent of another list. */
    public void addAll(ExtentList other) {
        for (int i = 0; i < other.size; i++) {
            add(other.data[2 * i], other.data[2 * i + 1]);
        }
    }

    /** Removes every extent. */
    public void clear() {
        size = 0;
        units = 0;
    }

    /** Sorts the extents by start and merges the adjacent ones. */
    public void sortAndMerge() {
        if (size < 2) {
            return;
        }
        long[] packed = new long[size];
        for (int i = 0; i < size; i++) {
            packed[i] = ((long) data[2 * i] << 32) | (data[2 * i + 1] & 0xFFFF_FFFFL);
        }
        Arrays.sort(packed);
        clear();
        for (long p : packed) {
            add((int) (p >>> 32), (int) p);
        }
    }

    private void check(int i) {
        if (i < 0 || i >= size) {
            throw new IndexOutOfBoundsException("extent " + i + " of " + size);
        }
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < size; i++) {
            if (i > 0) {
                sb.append(", ");
            }
            sb.append(data[2 * i]).append('+').append(data[2 * i + 1]);
        }
        return sb.append(']').toString();
    }
}
