package dev.memmgr;

/** Advice on whether a buffer's content is still needed ({@link BufferObject#madvise(Madvise)}). */
public enum Madvise {
    /** The content is needed: the shrinker may evict it to swap but never destroys it. */
    WILLNEED,
    /**
     * The content may be destroyed: under memory pressure the shrinker purges the object (before
     * evicting anything needed) and it becomes {@link Residency#PURGED}, for good.
     */
    DONTNEED
}
