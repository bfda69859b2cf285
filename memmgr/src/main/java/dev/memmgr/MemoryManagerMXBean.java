package dev.memmgr;

/**
 * The management interface of a named {@link MemoryManager} (see
 * {@link MemoryManager.Builder#name(String)}): its {@link MemoryStats}, one attribute per
 * component, read afresh on every access. Registered in the platform MBeanServer as
 * {@code dev.memmgr:type=MemoryManager,name=<name>} while the manager is open; byte figures are
 * bytes, the others counts of objects.
 */
public interface MemoryManagerMXBean {
    /**
     * Returns {@link MemoryStats#capacity()}.
     *
     * @return bytes of page frames
     */
    long getCapacity();

    /**
     * Returns {@link MemoryStats#free()}.
     *
     * @return bytes of free frames
     */
    long getFree();

    /**
     * Returns {@link MemoryStats#resident()}.
     *
     * @return bytes of frames held by buffer objects
     */
    long getResident();

    /**
     * Returns {@link MemoryStats#pinned()}.
     *
     * @return bytes of frames of pinned objects
     */
    long getPinned();

    /**
     * Returns {@link MemoryStats#purgeable()}.
     *
     * @return bytes of frames of DONTNEED objects
     */
    long getPurgeable();

    /**
     * Returns {@link MemoryStats#evicted()}.
     *
     * @return bytes of content evicted to swap
     */
    long getEvicted();

    /**
     * Returns {@link MemoryStats#swapCapacity()}.
     *
     * @return bytes of swap
     */
    long getSwapCapacity();

    /**
     * Returns {@link MemoryStats#swapUsed()}.
     *
     * @return bytes of swap slots in use
     */
    long getSwapUsed();

    /**
     * Returns {@link MemoryStats#evictions()}.
     *
     * @return objects evicted since the manager was built
     */
    long getEvictions();

    /**
     * Returns {@link MemoryStats#swapIns()}.
     *
     * @return objects swapped in since the manager was built
     */
    long getSwapIns();

    /**
     * Returns {@link MemoryStats#purges()}.
     *
     * @return objects purged since the manager was built
     */
    long getPurges();

    /**
     * Returns {@link MemoryStats#busy()}.
     *
     * @return bytes of frames of objects with an unsignaled fence
     */
    long getBusy();

    /**
     * Returns {@link MemoryStats#peakResident()}.
     *
     * @return the highest resident bytes since the manager was built
     */
    long getPeakResident();
}
