package dev.memmgr.internal.mem;

/**
 * A mapping does not fit the process's budget of memory-mapping areas ({@link MapBudget}), even
 * after every idle cached mapping that could be released was released. Nothing was mapped. The
 * message says how many areas the mapping needs, the budget, and how the budget is held.
 *
 * <p>Internal and unchecked: the gem layer translates it into the public exception.
 * Immutable; thread-safe.
 */
public final class MapBudgetExceededException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int needed;

    MapBudgetExceededException(String message, int needed) {
        super(message);
        this.needed = needed;
    }

    /** @return the areas the mapping needed */
    public int needed() {
        return needed;
    }
}
