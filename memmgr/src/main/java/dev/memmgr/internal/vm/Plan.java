package dev.memmgr.internal.vm;

import java.util.List;

/**
 * The op list of one map or unmap request, stamped with the {@link VaSpace} it was planned on
 * and that space's generation at the time. {@link VaSpace#apply} accepts it only while the
 * generation is unchanged, so a plan is applied at most once and never after another change:
 * the stale op lists the kernel's users complained about cannot be applied.
 *
 * <p>Immutable; the ops are in the order they apply.
 *
 * @param <O> the type of the mapped objects
 */
public final class Plan<O> {
    final VaSpace<O> space;
    final long generation;
    private final List<Op<O>> ops;
    /**
     * Where the MAP goes: the mapping it will follow in address order once the ops before it
     * are applied (null: first), found while planning so that applying needs no descent.
     */
    final Mapping<O> mapPred;

    Plan(VaSpace<O> space, long generation, List<Op<O>> ops, Mapping<O> mapPred) {
        this.space = space;
        this.generation = generation;
        this.ops = ops;
        this.mapPred = mapPred;
    }

    /** @return the ops, in order (unmodifiable) */
    public List<Op<O>> ops() {
        return ops;
    }

    /** @return the generation of the space the plan was made at */
    public long generation() {
        return generation;
    }

    /** @return whether the plan still applies: its space has not changed since it was made */
    public boolean isCurrent() {
        return space.generation() == generation;
    }

    @Override
    public String toString() {
        return "Plan@" + generation + ops;
    }
}
