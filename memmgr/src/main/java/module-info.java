/**
 * memmgr: a software GPU memory manager. Buffer objects whose pages live off-heap, pin and use
 * counts, CPU mapping views, LRU reclaim and swap.
 *
 * <p>Only {@code dev.memmgr} is exported; everything under {@code dev.memmgr.internal} is the
 * implementation and may change at any time.
 */
module dev.memmgr {
    requires org.agrona;
    requires jdk.jfr;            // JFR events (category "memmgr")
    requires java.management;    // MXBeans of named managers

    exports dev.memmgr;
}
