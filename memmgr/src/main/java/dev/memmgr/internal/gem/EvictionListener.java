package dev.memmgr.internal.gem;

/**
 * A weak user of an object's pages (a GPU VM binding, a CPU mapping): told, with the object's
 * reservation held, just before the shrinker takes its frames away (eviction or purge), so it
 * drops whatever points at them. It gets the pages back by asking again (getPages or a swap-in
 * on next use). Must not block and must not lock other reservations.
 */
@FunctionalInterface
public interface EvictionListener {
    /**
     * @param object the object losing its frames
     * @param purged true when the content is destroyed (purge), false when it moves to swap
     */
    void beforeFramesGo(GemObject object, boolean purged);
}
