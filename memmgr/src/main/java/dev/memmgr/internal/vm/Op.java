package dev.memmgr.internal.vm;

/**
 * One step of a {@link Plan} (drm_gpuva_op), the internal twin of the public
 * {@link dev.memmgr.VaOp}: the same three kinds with {@link Mapping}s in place of
 * {@link dev.memmgr.GpuVa}s. The mapping an {@link Unmap} names is the very node of the tree the
 * plan was made from; {@link Map} and the pieces of a {@link Remap} are new nodes that
 * {@link VaSpace#apply} inserts.
 *
 * @param <O> the type of the mapped objects
 */
public sealed interface Op<O> {
    /**
     * Inserts the requested mapping; the last step of a map plan.
     *
     * @param va the new mapping
     */
    record Map<O>(Mapping<O> va) implements Op<O> {
    }

    /**
     * Removes a mapping; on its own, one lying inside the request; in a {@link Remap}, the one
     * that is cut.
     *
     * @param va the mapping that goes (a node of the tree)
     * @param keep true, in a map plan only, when the mapping maps the request's object at the
     *     request's distance {@code offset - va}
     */
    record Unmap<O>(Mapping<O> va, boolean keep) implements Op<O> {
    }

    /**
     * Removes a mapping the request cuts and inserts its parts outside the request.
     *
     * @param unmap the mapping that goes
     * @param prev its part below the request, or null
     * @param next its part above the request, or null (at least one of the two is present)
     */
    record Remap<O>(Unmap<O> unmap, Mapping<O> prev, Mapping<O> next) implements Op<O> {
    }
}
