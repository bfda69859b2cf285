package dev.memmgr.internal.obs;

import dev.memmgr.ClientMXBean;
import dev.memmgr.ClientStats;
import dev.memmgr.MemoryManagerMXBean;
import dev.memmgr.MemoryStats;
import java.lang.management.ManagementFactory;
import java.util.Hashtable;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import javax.management.InstanceAlreadyExistsException;
import javax.management.InstanceNotFoundException;
import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.MalformedObjectNameException;
import javax.management.ObjectName;
import javax.management.StandardMBean;

/**
 * The MXBeans of named managers and their clients, in the platform MBeanServer:
 * {@code dev.memmgr:type=MemoryManager,name=<manager>} and
 * {@code dev.memmgr:type=Client,manager=<manager>,name=<client>}. Values that ObjectName does not
 * allow bare (empty, or with one of {@code , = : " * ? \} or a line break) are quoted with
 * {@link ObjectName#quote}.
 *
 * <p><b>Names that are taken.</b> A manager or client whose name is registered already (two
 * clients of one name, or a second manager of a name in the same process) gets the first free
 * name of {@code <name>#2}, {@code <name>#3}, ... in registration order; the MBeanServer decides
 * atomically, so racing registrations get distinct names. Clients of a manager registered as
 * {@code renderer#2} have {@code manager=renderer#2}. The name is free again once its owner is
 * closed.
 *
 * <p>Attributes are read afresh on each access through the suppliers (the stats snapshots,
 * which never block on object locks). Registration happens once per manager and client, off the
 * hot paths. Thread-safe.
 */
public final class Jmx {
    public static final String DOMAIN = "dev.memmgr";
    private static final System.Logger LOG = System.getLogger("dev.memmgr");

    private Jmx() {
    }

    /**
     * Registers the bean of a manager.
     *
     * @return its registration, through which its clients register; null if the MBeanServer
     *     refused (logged at WARNING)
     */
    public static ManagerBeans registerManager(String name, Supplier<MemoryStats> stats) {
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        StandardMBean bean = new StandardMBean(new ManagerBean(stats), MemoryManagerMXBean.class, true);
        Registered r = registerFirstFree(server, bean, name, n -> table("MemoryManager", null, n));
        return r == null ? null : new ManagerBeans(server, r.name, r.objectName);
    }

    /** A manager's registration and those of its clients. */
    public static final class ManagerBeans {
        private final MBeanServer server;
        private final String name;
        private final ObjectName objectName;
        private final Set<ObjectName> clients = ConcurrentHashMap.newKeySet();
        private volatile boolean closed;

        private ManagerBeans(MBeanServer server, String name, ObjectName objectName) {
            this.server = server;
            this.name = name;
            this.objectName = objectName;
        }

        /** @return the name the manager is registered under ({@code name}, or {@code name#N}) */
        public String name() {
            return name;
        }

        public ObjectName objectName() {
            return objectName;
        }

        /**
         * Registers the bean of a client of this manager.
         *
         * @return the client's object name, to give to {@link #unregisterClient}; null if the
         *     manager's beans are closed or the MBeanServer refused (logged at WARNING)
         */
        public ObjectName registerClient(String clientName, Supplier<ClientStats> stats) {
            if (closed) {
                return null;
            }
            StandardMBean bean = new StandardMBean(new ClientBean(stats), ClientMXBean.class, true);
            Registered r = registerFirstFree(server, bean, clientName, n -> table("Client", name, n));
            if (r == null) {
                return null;
            }
            clients.add(r.objectName);
            if (closed) { // the manager closed meanwhile: do not leave the bean behind
                unregisterClient(r.objectName);
                return null;
            }
            return r.objectName;
        }

        /** Unregisters a client's bean; idempotent, null is ignored. */
        public void unregisterClient(ObjectName client) {
            if (client != null && clients.remove(client)) {
                unregister(server, client);
            }
        }

        /** Unregisters the manager's bean and those of its clients still open. Idempotent. */
        public void close() {
            closed = true;
            for (ObjectName c : clients) {
                unregisterClient(c);
            }
            unregister(server, objectName);
        }
    }

    private record Registered(String name, ObjectName objectName) {
    }

    private static Hashtable<String, String> table(String type, String manager, String name) {
        Hashtable<String, String> t = new Hashtable<>();
        t.put("type", type);
        if (manager != null) {
            t.put("manager", value(manager));
        }
        t.put("name", value(name));
        return t;
    }

    /** @return the value as ObjectName takes it: bare when allowed, quoted otherwise */
    static String value(String s) {
        if (s.isEmpty() || s.chars().anyMatch(c -> ",=:\"*?\\\n\r".indexOf(c) >= 0)) {
            return ObjectName.quote(s);
        }
        return s;
    }

    private static Registered registerFirstFree(MBeanServer server, Object bean, String base,
                                                java.util.function.Function<String, Hashtable<String, String>> keys) {
        for (int n = 1; ; n++) {
            String name = n == 1 ? base : base + "#" + n;
            try {
                ObjectName on = new ObjectName(DOMAIN, keys.apply(name));
                server.registerMBean(bean, on);
                return new Registered(name, on);
            } catch (InstanceAlreadyExistsException taken) {
                // try the next suffix
            } catch (MalformedObjectNameException | RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "JMX: cannot register '" + base + "': " + e.getMessage(), e);
                return null;
            } catch (JMException e) {
                LOG.log(System.Logger.Level.WARNING, "JMX: the MBeanServer refused '" + base + "': " + e.getMessage(), e);
                return null;
            }
        }
    }

    private static void unregister(MBeanServer server, ObjectName on) {
        try {
            server.unregisterMBean(on);
        } catch (InstanceNotFoundException gone) {
            // unregistered by someone else: nothing to do
        } catch (JMException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "JMX: cannot unregister " + on + ": " + e.getMessage(), e);
        }
    }

    private static final class ManagerBean implements MemoryManagerMXBean {
        private final Supplier<MemoryStats> stats;

        ManagerBean(Supplier<MemoryStats> stats) {
            this.stats = stats;
        }

        @Override
        public long getCapacity() {
            return stats.get().capacity();
        }

        @Override
        public long getFree() {
            return stats.get().free();
        }

        @Override
        public long getResident() {
            return stats.get().resident();
        }

        @Override
        public long getPinned() {
            return stats.get().pinned();
        }

        @Override
        public long getPurgeable() {
            return stats.get().purgeable();
        }

        @Override
        public long getEvicted() {
            return stats.get().evicted();
        }

        @Override
        public long getSwapCapacity() {
            return stats.get().swapCapacity();
        }

        @Override
        public long getSwapUsed() {
            return stats.get().swapUsed();
        }

        @Override
        public long getEvictions() {
            return stats.get().evictions();
        }

        @Override
        public long getSwapIns() {
            return stats.get().swapIns();
        }

        @Override
        public long getPurges() {
            return stats.get().purges();
        }

        @Override
        public long getBusy() {
            return stats.get().busy();
        }

        @Override
        public long getPeakResident() {
            return stats.get().peakResident();
        }
    }

    private static final class ClientBean implements ClientMXBean {
        private final Supplier<ClientStats> stats;

        ClientBean(Supplier<ClientStats> stats) {
            this.stats = stats;
        }

        @Override
        public long getTotal() {
            return stats.get().total();
        }

        @Override
        public long getShared() {
            return stats.get().shared();
        }

        @Override
        public long getResident() {
            return stats.get().resident();
        }

        @Override
        public long getPurgeable() {
            return stats.get().purgeable();
        }

        @Override
        public long getActive() {
            return stats.get().active();
        }

        @Override
        public long getEvicted() {
            return stats.get().evicted();
        }
    }
}
