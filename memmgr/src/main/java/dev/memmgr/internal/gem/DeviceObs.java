package dev.memmgr.internal.gem;

import dev.memmgr.ClientStats;
import dev.memmgr.MemoryStats;
import dev.memmgr.internal.obs.Counters;
import dev.memmgr.internal.obs.CountersPublisher;
import dev.memmgr.internal.obs.Jmx;
import dev.memmgr.internal.obs.LeakSites;
import dev.memmgr.internal.obs.Units;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import javax.management.ObjectName;

/**
 * What a device shows of itself beyond its statistics (see {@code internal.obs}): its name, its
 * MXBeans (named managers only), its counters in the process's counters file (with
 * {@code publishCounters}), and its leak reports (with {@code leakDetection}). The device calls it
 * when a client opens or closes and when it closes; nothing here runs on an object's paths.
 *
 * <p>Thread-safe: per-client registrations sit in a concurrent map; the beans and the publisher
 * have their own locks (leaves, below every lock of the device).
 */
final class DeviceObs {
    private static final AtomicInteger MANAGERS = new AtomicInteger();

    private final int number;
    private final String name;
    private final boolean leakDetection;
    private final Jmx.ManagerBeans beans;
    private final CountersPublisher publisher;
    private final CountersPublisher.Group managerCounters;
    private final ConcurrentHashMap<GemFile, ClientObs> clients = new ConcurrentHashMap<>();

    private record ClientObs(ObjectName bean, CountersPublisher.Group counters) {
    }

    /** Registers the device's bean and counters as its settings ask; the device is built but not yet used. */
    DeviceObs(GemDevice dev, DeviceConfig c) {
        this.number = MANAGERS.incrementAndGet();
        this.leakDetection = c.leakDetection();
        Jmx.ManagerBeans b = c.name() == null ? null : Jmx.registerManager(c.name(), dev::stats);
        this.beans = b;
        this.name = b != null ? b.name() : c.name() != null ? c.name() : "manager-" + number;
        this.publisher = c.publishCounters() ? CountersPublisher.acquire() : null;
        this.managerCounters = publisher == null ? null
                : publisher.add(new Counters.Key(Counters.SCOPE_MANAGER, number, 0, name, ""), Counters.MANAGER_FIGURES,
                        out -> sampleManager(dev.stats(), out));
    }

    /** @return the name in events, dumps and counters: the one registered in JMX, or manager-N unnamed */
    String name() {
        return name;
    }

    boolean leakDetection() {
        return leakDetection;
    }

    void clientOpened(GemFile f) {
        if (beans == null && publisher == null) {
            return;
        }
        ObjectName bean = beans == null ? null : beans.registerClient(f.name(), f::stats);
        CountersPublisher.Group g = publisher == null ? null
                : publisher.add(new Counters.Key(Counters.SCOPE_CLIENT, number, f.id(), name, f.name()), Counters.CLIENT_FIGURES,
                        out -> sampleClient(f, out));
        clients.put(f, new ClientObs(bean, g));
    }

    void clientClosed(GemFile f) {
        ClientObs o = clients.remove(f);
        if (o != null) {
            close(o);
        }
    }

    private void close(ClientObs o) {
        if (beans != null) {
            beans.unregisterClient(o.bean());
        }
        if (o.counters() != null) {
            o.counters().close();
        }
    }

    /** The device closes: every bean and counter goes, and the publisher is released. Never throws. */
    void close() {
        for (GemFile f : List.copyOf(clients.keySet())) {
            clientClosed(f);
        }
        if (beans != null) {
            beans.close();
        }
        if (managerCounters != null) {
            managerCounters.close();
        }
        if (publisher != null) {
            publisher.release();
        }
    }

    /**
     * Reports, with leak detection on, each object of {@code open} whose own handle was never closed (the
     * client or the whole manager closes with it open), with its creation site.
     *
     * @param when "the client closed" or "the manager closed"
     */
    void reportOpenHandles(List<GemObject> open, String when) {
        if (!leakDetection) {
            return;
        }
        for (GemObject o : open) {
            LeakSites s = o.sites();
            if (s != null && !o.isFreed()) {
                GemObject.LOG.log(System.Logger.Level.WARNING, o.describe() + " (" + Units.bytes(o.size())
                        + ") leaked: its handle was never closed (open when " + when + "); created at:", s.created());
            }
        }
    }

    // ---- samplers of the counters (publisher thread) -----------------------------------------

    private static void sampleManager(MemoryStats s, long[] out) {
        // in the order of Counters.MANAGER_FIGURES
        out[0] = s.capacity();
        out[1] = s.free();
        out[2] = s.resident();
        out[3] = s.peakResident();
        out[4] = s.evicted();
        out[5] = s.purgeable();
        out[6] = s.busy();
        out[7] = s.pinned();
        out[8] = s.swapCapacity();
        out[9] = s.swapUsed();
        out[10] = s.evictions();
        out[11] = s.swapIns();
        out[12] = s.purges();
    }

    /** A client's figures: those of ClientStats, and busy and pinned frames, and its reclaim counts. */
    private static void sampleClient(GemFile f, long[] out) {
        ClientStats cs = f.stats();
        long page = f.device().pageSize();
        long busy = 0;
        long pinned = 0;
        for (GemObject o : f.objectsSnapshot()) {
            if (o.isResident() && !o.isImported()) {
                long frames = o.backedPages() * page;
                if (o.pinCount() > 0) {
                    pinned += frames;
                }
                if (o.resv().isBusy()) {
                    busy += frames;
                }
            }
        }
        // in the order of Counters.CLIENT_FIGURES
        out[0] = cs.total();
        out[1] = cs.resident();
        out[2] = cs.evicted();
        out[3] = cs.purgeable();
        out[4] = busy;
        out[5] = pinned;
        out[6] = cs.evicted();
        out[7] = f.evictions();
        out[8] = f.swapIns();
        out[9] = f.purges();
    }
}
