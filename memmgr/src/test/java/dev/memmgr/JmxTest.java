package dev.memmgr;

import static dev.memmgr.Fixture.MiB;
import static dev.memmgr.Fixture.PAGE;
import static dev.memmgr.Fixture.fill;
import static dev.memmgr.Fixture.pages;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.lang.reflect.RecordComponent;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import javax.management.JMX;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The MXBeans of DESIGN 4.6, through the platform MBeanServer: a named manager registers
 * {@code dev.memmgr:type=MemoryManager,name=<name>} whose attributes are the MemoryStats
 * components, and one {@code dev.memmgr:type=Client,manager=<name>,name=<client>} per client with
 * the ClientStats components; unregistered on client close and manager close; names that are taken
 * get {@code #2}, {@code #3}; names ObjectName does not allow bare are quoted; unnamed managers
 * register nothing.
 */
@ExtendWith(MemmgrExtension.class)
class JmxTest {
    private static final MBeanServer SERVER = ManagementFactory.getPlatformMBeanServer();

    private static ObjectName managerName(String name) throws Exception {
        return new ObjectName("dev.memmgr:type=MemoryManager,name=" + name);
    }

    private static ObjectName clientName(String manager, String name) throws Exception {
        return new ObjectName("dev.memmgr:type=Client,manager=" + manager + ",name=" + name);
    }

    private static Set<ObjectName> registered() throws Exception {
        return SERVER.queryNames(new ObjectName("dev.memmgr:*"), null);
    }

    /** @return the record's components as attribute names: capacity -> Capacity */
    private static Set<String> attributesOf(Class<? extends Record> record) {
        Set<String> names = new TreeSet<>();
        for (RecordComponent c : record.getRecordComponents()) {
            names.add(Character.toUpperCase(c.getName().charAt(0)) + c.getName().substring(1));
        }
        return names;
    }

    private static Map<String, Object> attributes(ObjectName on, Set<String> names) throws Exception {
        Map<String, Object> out = new LinkedHashMap<>();
        for (String n : names) {
            out.put(n, SERVER.getAttribute(on, n));
        }
        return out;
    }

    private static Map<String, Object> components(Record r) throws Exception {
        Map<String, Object> out = new LinkedHashMap<>();
        for (RecordComponent c : r.getClass().getRecordComponents()) {
            out.put(Character.toUpperCase(c.getName().charAt(0)) + c.getName().substring(1), c.getAccessor().invoke(r));
        }
        return out;
    }

    @Test
    void theManagerBeanIsItsStats(Fixture fx) throws Exception {
        MemoryManager mm = fx.build(fx.builder(4 * MiB, 8 * MiB).name("jmx-stats"));
        ObjectName on = managerName("jmx-stats");
        assertTrue(SERVER.isRegistered(on));
        assertEquals("jmx-stats", mm.name());
        Set<String> names = new TreeSet<>();
        for (MBeanAttributeInfo a : SERVER.getMBeanInfo(on).getAttributes()) {
            names.add(a.getName());
            assertEquals("long", a.getType());
            assertFalse(a.isWritable());
        }
        assertEquals(attributesOf(MemoryStats.class), names, "one attribute per MemoryStats component");

        Client c = fx.client(mm, "load");
        BufferObject a = c.create(MiB);
        fill(a, (byte) 1);
        BufferObject p = c.create(pages(8));
        fill(p, (byte) 2);
        p.pin();
        BufferObject d = c.create(pages(4));
        fill(d, (byte) 3);
        d.madvise(Madvise.DONTNEED);
        mm.reclaim(pages(4)); // purges d
        mm.reclaim(MiB);      // evicts a
        assertEquals(components(mm.stats()), components(mm.stats()), "quiescent: two snapshots agree");
        Map<String, Object> viaJmx = attributes(on, names);
        Map<String, Object> expected = new LinkedHashMap<>(components(mm.stats()));
        assertEquals(new TreeSet<>(expected.keySet()), new TreeSet<>(viaJmx.keySet()));
        expected.forEach((k, v) -> assertEquals(v, viaJmx.get(k), k));

        MemoryManagerMXBean proxy = JMX.newMXBeanProxy(SERVER, on, MemoryManagerMXBean.class);
        assertEquals(mm.stats().evictions(), proxy.getEvictions());
        assertEquals(1, proxy.getPurges());
        assertEquals(pages(8), proxy.getPinned());
        p.unpin();

        mm.close();
        assertFalse(SERVER.isRegistered(on), "unregistered on close");
        assertFalse(SERVER.isRegistered(clientName("jmx-stats", "load")));
    }

    @Test
    void eachClientHasABeanUntilItCloses(Fixture fx) throws Exception {
        MemoryManager mm = fx.build(fx.builder(4 * MiB, 8 * MiB).name("jmx-clients"));
        Client ui = fx.client(mm, "ui");
        Client gpu = fx.client(mm, "gpu");
        ObjectName uiName = clientName("jmx-clients", "ui");
        ObjectName gpuName = clientName("jmx-clients", "gpu");
        assertTrue(SERVER.isRegistered(uiName));
        assertTrue(SERVER.isRegistered(gpuName));
        Set<String> names = new TreeSet<>();
        for (MBeanAttributeInfo a : SERVER.getMBeanInfo(uiName).getAttributes()) {
            names.add(a.getName());
        }
        assertEquals(attributesOf(ClientStats.class), names, "one attribute per ClientStats component");

        BufferObject bo = ui.create(pages(16));
        fill(bo, (byte) 1);
        BufferObject busy = ui.create(pages(2));
        busy.resv().addFence(new Fence(), FenceUsage.WRITE);
        assertEquals(components(ui.stats()), attributes(uiName, names));
        assertEquals(components(gpu.stats()), attributes(gpuName, names));
        ClientMXBean proxy = JMX.newMXBeanProxy(SERVER, uiName, ClientMXBean.class);
        assertEquals(pages(18), proxy.getTotal());
        assertEquals(pages(16), proxy.getResident());
        assertEquals(pages(2), proxy.getActive());

        ui.close();
        assertFalse(SERVER.isRegistered(uiName), "unregistered on client close");
        assertTrue(SERVER.isRegistered(gpuName));
        mm.close();
        assertFalse(SERVER.isRegistered(gpuName), "the manager's close unregisters its clients");
        assertFalse(SERVER.isRegistered(managerName("jmx-clients")));
    }

    @Test
    void namesThatAreTakenGetASuffix(Fixture fx) throws Exception {
        MemoryManager first = fx.build(fx.builder(MiB, 2 * MiB).name("twin"));
        MemoryManager second = fx.build(fx.builder(MiB, 2 * MiB).name("twin"));
        assertEquals("twin", first.name());
        assertEquals("twin#2", second.name());
        assertTrue(SERVER.isRegistered(managerName("twin")));
        assertTrue(SERVER.isRegistered(managerName("twin#2")));
        assertEquals(second.capacity(), SERVER.getAttribute(managerName("twin#2"), "Capacity"));

        Client w1 = fx.client(second, "worker");
        Client w2 = fx.client(second, "worker");
        Client w3 = fx.client(second, "worker");
        w2.create(PAGE);
        assertTrue(SERVER.isRegistered(clientName("twin#2", "worker")));
        assertTrue(SERVER.isRegistered(clientName("twin#2", "worker#2")));
        assertTrue(SERVER.isRegistered(clientName("twin#2", "worker#3")));
        assertEquals((long) PAGE, SERVER.getAttribute(clientName("twin#2", "worker#2"), "Total"), "in the order opened");
        w1.close();
        Client w4 = fx.client(second, "worker");
        assertTrue(SERVER.isRegistered(clientName("twin#2", "worker")), "a name is free again once its client closed");
        assertEquals(0L, SERVER.getAttribute(clientName("twin#2", "worker"), "Total"));
        w3.close();
        w4.close();

        first.close();
        MemoryManager third = fx.build(fx.builder(MiB, 2 * MiB).name("twin"));
        assertEquals("twin", third.name(), "free again after the first closed");
        second.close();
        third.close();
        assertTrue(registered().stream().noneMatch(n -> n.toString().contains("twin")), registered().toString());
    }

    @Test
    void namesObjectNameDoesNotAllowBareAreQuoted(Fixture fx) throws Exception {
        String odd = "a,b=c:d \"e\" *?\\";
        MemoryManager mm = fx.build(fx.builder(MiB, 2 * MiB).name(odd));
        fx.client(mm, "x=y");
        ObjectName on = managerName(ObjectName.quote(odd));
        assertTrue(SERVER.isRegistered(on), registered().toString());
        assertEquals(odd, ObjectName.unquote(on.getKeyProperty("name")));
        assertTrue(SERVER.isRegistered(clientName(ObjectName.quote(odd), ObjectName.quote("x=y"))));
        MemoryManager plain = fx.build(fx.builder(MiB, 2 * MiB).name("plain-name_1.0"));
        assertTrue(SERVER.isRegistered(managerName("plain-name_1.0")), "a name that needs no quotes gets none");
        plain.close();
        mm.close();
        assertFalse(SERVER.isRegistered(on));
    }

    @Test
    void unnamedManagersRegisterNothing(Fixture fx) throws Exception {
        Set<ObjectName> before = registered();
        MemoryManager mm = fx.manager();
        fx.client(mm, "anonymous").create(PAGE);
        assertEquals(before, registered());
        assertTrue(mm.name().matches("manager-[0-9]+"), mm.name());
    }

    @Test
    void badNamesAreRefused() {
        MemoryManager.Builder b = MemoryManager.builder();
        assertThrows(NullPointerException.class, () -> b.name(null));
        for (String blank : Arrays.asList("", " ", "\t\n")) {
            assertThrows(IllegalArgumentException.class, () -> b.name(blank), "'" + blank + "'");
        }
    }
}
