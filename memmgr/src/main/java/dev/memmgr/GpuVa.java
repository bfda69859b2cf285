package dev.memmgr;

/**
 * One mapping of a GPU virtual address space (the kernel's {@code drm_gpuva}): the virtual
 * addresses {@code [va, va + range)} show the bytes {@code [offset, offset + range)} of a buffer
 * object, page by page. Mappings of one address space never overlap; two mappings that touch are
 * kept apart (never merged), even when they continue each other in the same object.
 *
 * <p>A value: two {@code GpuVa}s are equal when their addresses, ranges and offsets are equal and
 * they name the same object ({@link BufferObject} compares by identity). The lists of a
 * {@code GpuVm} and the {@link VaOp}s it returns are made of these values; holding one does not
 * keep the mapping alive or pin anything.
 *
 * @param va first virtual address of the mapping, a page multiple
 * @param range length of the mapping in bytes, a page multiple greater than zero
 * @param bo the buffer object whose bytes the mapping shows
 * @param offset the byte of {@code bo} shown at {@code va}, a page multiple; the mapping ends
 *     at or before the end of the object ({@code offset + range <= bo.size()})
 */
public record GpuVa(long va, long range, BufferObject bo, long offset) {
}
