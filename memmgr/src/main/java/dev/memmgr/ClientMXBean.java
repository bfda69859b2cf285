package dev.memmgr;

/**
 * The management interface of a {@link Client} of a named {@link MemoryManager}: its
 * {@link ClientStats}, one attribute per component (bytes), read afresh on every access.
 * Registered in the platform MBeanServer as
 * {@code dev.memmgr:type=Client,manager=<manager>,name=<client>} while the client is open (see
 * {@link MemoryManager.Builder#name(String)} for names that are taken).
 */
public interface ClientMXBean {
    /**
     * Returns {@link ClientStats#total()}.
     *
     * @return size of every object with a handle in the client
     */
    long getTotal();

    /**
     * Returns {@link ClientStats#shared()}.
     *
     * @return size of the objects shared with other clients
     */
    long getShared();

    /**
     * Returns {@link ClientStats#resident()}.
     *
     * @return bytes of frames holding content
     */
    long getResident();

    /**
     * Returns {@link ClientStats#purgeable()}.
     *
     * @return bytes of frames of DONTNEED objects, not pinned and not active
     */
    long getPurgeable();

    /**
     * Returns {@link ClientStats#active()}.
     *
     * @return size of the objects with an unsignaled fence
     */
    long getActive();

    /**
     * Returns {@link ClientStats#evicted()}.
     *
     * @return bytes of content in swap
     */
    long getEvicted();
}
