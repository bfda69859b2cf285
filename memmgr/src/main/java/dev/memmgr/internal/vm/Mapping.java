package dev.memmgr.internal.vm;

/**
 * One mapping of an address space (drm_gpuva): virtual addresses {@code [va, va + range)} show
 * bytes {@code [offset, offset + range)} of {@code obj}. It is also the node of the
 * {@link VaTree} that holds it, so a mapping costs one object (see the package comment for its
 * size).
 *
 * <p>The four mapping fields are final. The tree links belong to the tree and are read and
 * written only under the owner's lock; a mapping that is not in a tree (a piece of a
 * {@link Plan} not yet applied, or one an applied plan removed) has no links and height 0.
 * Mappings compare by identity: an {@link Op} names the very node it removes.
 *
 * @param <O> the type of the mapped objects, compared by identity ({@code ==})
 */
public final class Mapping<O> {
    final long va;
    final long range;
    final long offset;
    final O obj;

    /** AVL links. */
    Mapping<O> parent;
    Mapping<O> left;
    Mapping<O> right;
    /** Neighbours in address order (the kernel's rb.list), for O(1) steps of a range walk. */
    Mapping<O> prev;
    Mapping<O> next;
    /** AVL height: 1 for a leaf, 0 when not in a tree. */
    byte height;

    Mapping(long va, long range, O obj, long offset) {
        this.va = va;
        this.range = range;
        this.obj = obj;
        this.offset = offset;
    }

    /** @return the first virtual address */
    public long va() {
        return va;
    }

    /** @return the length in bytes */
    public long range() {
        return range;
    }

    /** @return the first address after the mapping, {@code va + range} */
    public long end() {
        return va + range;
    }

    /** @return the mapped object */
    public O obj() {
        return obj;
    }

    /** @return the offset in the object of the byte at {@link #va()} */
    public long offset() {
        return offset;
    }

    /** @return whether the mapping is in a tree (read under the owner's lock) */
    boolean linked() {
        return height > 0;
    }

    /**
     * Whether this mapping has the given fields (the object compared by identity).
     *
     * @return true when va, range, object and offset are those given
     */
    public boolean sameAs(long va, long range, Object obj, long offset) {
        return this.va == va && this.range == range && this.obj == obj && this.offset == offset;
    }

    @Override
    public String toString() {
        return "[0x" + Long.toHexString(va) + ", 0x" + Long.toHexString(va + range) + ") -> " + obj + " @0x"
                + Long.toHexString(offset);
    }
}
