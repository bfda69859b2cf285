package dev.memmgr.internal.mem;

/** Shim until the lower-layer exceptions land. */
public final class MapBudgetException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public MapBudgetException(String message) {
        super(message);
    }
}
