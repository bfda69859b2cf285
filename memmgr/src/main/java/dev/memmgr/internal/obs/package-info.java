/**
 * Observability: what the library shows of itself to people and tools, kept apart from what it
 * does. Nothing here knows a buffer object: the layers that do ({@code gem}, {@code vm},
 * {@code sched}) hand this one plain figures and names through small hooks, so data still flows
 * down the layers, and this layer depends only on the JDK and the public records and MXBean
 * interfaces.
 *
 * <ul>
 * <li><b>JFR events</b> ({@link dev.memmgr.internal.obs.Events}, category "memmgr"): made where the
 *     work starts and committed where it ends; with no recording, {@code shouldCommit()} is false
 *     and nothing is built.</li>
 * <li><b>Dumps</b>: {@link dev.memmgr.internal.obs.Json} writes the text {@code gem}'s DeviceDump
 *     walks out of the objects' volatile fields (never an object's lock).</li>
 * <li><b>JMX</b> ({@link dev.memmgr.internal.obs.Jmx}): one MXBean per named manager and per
 *     client, registered when they open and unregistered when they close, attributes read afresh
 *     from the stats snapshots.</li>
 * <li><b>Leak sites</b> ({@link dev.memmgr.internal.obs.LeakSites}): stacks captured at the user's
 *     line where an object was created and its pins, vmaps and page uses taken, when the manager
 *     detects leaks; {@code gem} logs them when a client or the manager closes with handles open,
 *     and when an object is freed with counts outstanding.</li>
 * <li><b>Counters</b> ({@link dev.memmgr.internal.obs.Counters}: place and layout;
 *     {@link dev.memmgr.internal.obs.CountersFile} writes, {@link dev.memmgr.internal.obs.CountersView}
 *     reads, {@link dev.memmgr.internal.obs.CountersPublisher} samples): the figures of publishing
 *     managers in a memory-mapped file per process, in Agrona's counters layout, for
 *     {@code bin/memmgr top} in another process; a daemon thread samples the stats every 250 ms, so
 *     the operations on objects pay nothing.</li>
 * </ul>
 *
 * <p>Locks: every lock here is a leaf below all of the device's (the publisher's class lock, then a
 * group's monitor, then the file's; the leak sites' monitor; the MBeanServer's own), and none is
 * taken on an object's fast paths.
 */
package dev.memmgr.internal.obs;
