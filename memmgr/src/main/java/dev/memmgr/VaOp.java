package dev.memmgr;

/**
 * One step of a change to a GPU virtual address space (the kernel's {@code drm_gpuva_op}), as
 * {@code GpuVm.planMap}, {@code planUnmap}, {@code map} and {@code unmap} return them: the list,
 * applied in order, turns the mappings before the request into the mappings after it.
 *
 * <p>A map request gives, for each existing mapping that overlaps the request, in address
 * order: a {@link Remap} when the mapping sticks out of the request on either side (the parts
 * outside are kept as its {@code prev} and {@code next} pieces), an {@link Unmap} when it lies
 * inside the request; then exactly one {@link Map} of the request itself, last. An unmap request
 * gives the same {@code Remap} and {@code Unmap} steps and never a {@code Map}. Neighbouring
 * mappings are never merged.
 *
 * <p>{@code keep} tells a driver that the page-table entries of the old mapping may stay: it is
 * true, for a map request only, when the old mapping maps the same object with the same
 * distance between object offset and virtual address as the request
 * ({@code old.offset - old.va == request.offset - request.va}), so every address the two share
 * keeps showing the same page. Mapping exactly what is mapped therefore gives
 * {@code Unmap(keep = true)} followed by {@code Map}.
 */
public sealed interface VaOp {
    /**
     * Creates the requested mapping; always the last step of a map request, never part of an
     * unmap request.
     *
     * @param va the new mapping, exactly as requested
     */
    record Map(GpuVa va) implements VaOp {
    }

    /**
     * Removes a mapping that lies wholly inside the request, or names the mapping a
     * {@link Remap} replaces.
     *
     * @param va the existing mapping that goes
     * @param keep whether its page-table entries may be kept (see {@link VaOp}); always false
     *     for an unmap request
     */
    record Unmap(GpuVa va, boolean keep) implements VaOp {
    }

    /**
     * Removes a mapping that the request cuts, and maps again the parts of it outside the
     * request: {@code prev} before the request, {@code next} after it. At least one of the two is
     * present. {@code next} shows the same object bytes it showed before: its offset is the old
     * offset plus the distance from the old start to the end of the request.
     *
     * @param unmap the mapping that goes, with its {@code keep} flag
     * @param prev the kept part below the request ({@code [old.va, request.va)}, same object and
     *     offset as the old mapping), or null when the old mapping starts inside the request
     * @param next the kept part above the request ({@code [request end, old end)}), or null when
     *     the old mapping ends inside the request
     */
    record Remap(Unmap unmap, GpuVa prev, GpuVa next) implements VaOp {
    }
}
