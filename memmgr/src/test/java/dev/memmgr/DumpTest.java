package dev.memmgr;

import static dev.memmgr.Fixture.MiB;
import static dev.memmgr.Fixture.PAGE;
import static dev.memmgr.Fixture.fill;
import static dev.memmgr.Fixture.pages;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * MemoryManager.dump() (DESIGN 4.6): valid JSON (read back by a strict reader of the test's own),
 * the manager's figures equal to stats(), each client with its ClientStats, each object with the
 * figures its getters give, VM mappings, objects kept only by references; labels escaped; on a
 * closed manager IllegalStateException; and it never waits for an object's lock.
 */
@ExtendWith(MemmgrExtension.class)
class DumpTest {
    @Test
    void everyFigureOfManagerClientsObjectsAndMappings(Fixture fx) {
        MemoryManager mm = fx.manager(4 * MiB);
        Client ui = fx.client(mm, "ui");
        Client gpu = fx.client(mm, "gpu");
        BufferObject tex = ui.create(pages(4)).label("atlas");
        fill(tex, (byte) 1);
        tex.pin();
        BufferObject cache = ui.create(pages(2)).label("glyph cache");
        fill(cache, (byte) 2);
        cache.madvise(Madvise.DONTNEED);
        BufferObject cold = ui.create(pages(3));
        fill(cold, (byte) 3);
        BufferObject lazy = ui.create(pages(5)).label("lazy");
        BufferObject kept = ui.create(pages(1)).label("kept by a reference");
        kept.retain();
        kept.close(); // alive without its handle
        assertEquals(pages(2) + pages(3), mm.reclaim(pages(5)), "cache purged, cold evicted");
        assertEquals(Residency.EVICTED, cold.residency());
        Vmap view = tex.vmap();
        int shared = gpu.handleOf(gpu.importBuffer(lazy.export()));
        GpuVm vm = gpu.createVm("scene", 0, 1L << 30);
        BufferObject local = vm.createLocal(pages(2)).label("vm local");
        vm.map(1 << 20, pages(2), local, 0);
        vm.map(2 << 20, pages(1), lazy, pages(4));

        MemoryStats stats = mm.stats();
        ClientStats uiStats = ui.stats();
        ClientStats gpuStats = gpu.stats();
        String text = mm.dump();
        Map<String, Object> root = MiniJson.object(MiniJson.parse(text));

        assertEquals(MemoryManager.version(), root.get("memmgr"));
        Map<String, Object> manager = MiniJson.object(root.get("manager"));
        assertEquals(mm.name(), manager.get("name"));
        assertEquals((long) PAGE, manager.get("pageSize"));
        assertEquals(Map.ofEntries(
                Map.entry("capacity", stats.capacity()), Map.entry("free", stats.free()),
                Map.entry("resident", stats.resident()), Map.entry("pinned", stats.pinned()),
                Map.entry("purgeable", stats.purgeable()), Map.entry("evicted", stats.evicted()),
                Map.entry("swapCapacity", stats.swapCapacity()), Map.entry("swapUsed", stats.swapUsed()),
                Map.entry("evictions", stats.evictions()), Map.entry("swapIns", stats.swapIns()),
                Map.entry("purges", stats.purges()), Map.entry("busy", stats.busy()),
                Map.entry("peakResident", stats.peakResident())), manager.get("stats"));

        List<Object> clients = MiniJson.array(root.get("clients"));
        assertEquals(2, clients.size());
        Map<String, Object> u = MiniJson.object(clients.get(0));
        Map<String, Object> g = MiniJson.object(clients.get(1));
        assertEquals("ui", u.get("name"));
        assertEquals("gpu", g.get("name"));
        assertEquals(clientStats(uiStats), u.get("stats"));
        assertEquals(clientStats(gpuStats), g.get("stats"));

        Map<Long, Map<String, Object>> uiObjects = byHandle(u.get("objects"));
        assertEquals(List.of((long) tex.handle(), (long) cache.handle(), (long) cold.handle(), (long) lazy.handle()),
                List.copyOf(uiObjects.keySet()), "the open handles, in order; kept's handle is closed");
        for (BufferObject bo : List.of(tex, cache, cold, lazy)) {
            assertObject(bo, uiObjects.get((long) bo.handle()));
        }
        Map<String, Object> t = uiObjects.get((long) tex.handle());
        assertEquals("atlas", t.get("label"));
        assertEquals("RESIDENT", t.get("residency"));
        assertEquals(2L, t.get("pinCount"), "one pin and the one the vmap holds");
        assertEquals(1L, t.get("vmapCount"));
        assertEquals("PURGED", uiObjects.get((long) cache.handle()).get("residency"));
        assertEquals("DONTNEED", uiObjects.get((long) cache.handle()).get("madvise"));
        assertEquals("EVICTED", uiObjects.get((long) cold.handle()).get("residency"));
        assertEquals("", uiObjects.get((long) cold.handle()).get("label"));
        Map<String, Object> l = uiObjects.get((long) lazy.handle());
        assertEquals(Boolean.TRUE, l.get("shared"));
        assertEquals(Boolean.TRUE, l.get("exported"));
        assertEquals(Boolean.FALSE, l.get("imported"));

        Map<Long, Map<String, Object>> gpuObjects = byHandle(g.get("objects"));
        Map<String, Object> imp = gpuObjects.get((long) shared);
        assertEquals("ui", imp.get("owner"), "a handle of another client's object names its owner");
        assertEquals((long) lazy.handle(), imp.get("ownerHandle"));
        assertObject(local, gpuObjects.get((long) local.handle()));

        List<Object> vms = MiniJson.array(g.get("vms"));
        assertEquals(1, vms.size());
        Map<String, Object> scene = MiniJson.object(vms.get(0));
        assertEquals("scene", scene.get("name"));
        assertEquals(0L, scene.get("start"));
        assertEquals(1L << 30, scene.get("size"));
        assertEquals(List.of(
                Map.of("va", 1L << 20, "range", pages(2), "handle", (long) local.handle(), "offset", 0L),
                Map.of("va", 2L << 20, "range", pages(1), "handle", (long) lazy.handle(), "offset", pages(4), "client", "ui")),
                scene.get("mappings"));
        assertEquals(List.of(), u.get("vms"));

        List<Object> without = MiniJson.array(root.get("withoutHandle"));
        assertEquals(1, without.size(), text);
        Map<String, Object> k = MiniJson.object(without.get(0));
        assertEquals("kept by a reference", k.get("label"));
        assertEquals("ui", k.get("owner"));
        assertEquals(1L, k.get("refCount"));

        view.close();
        tex.unpin();
        kept.release();
    }

    private static Map<String, Object> clientStats(ClientStats s) {
        return Map.of("total", s.total(), "shared", s.shared(), "resident", s.resident(), "purgeable", s.purgeable(),
                "active", s.active(), "evicted", s.evicted());
    }

    private static Map<Long, Map<String, Object>> byHandle(Object objects) {
        Map<Long, Map<String, Object>> out = new java.util.LinkedHashMap<>();
        for (Object o : MiniJson.array(objects)) {
            Map<String, Object> m = MiniJson.object(o);
            assertTrue(out.put((Long) m.get("handle"), m) == null, "one entry per handle");
        }
        return out;
    }

    /** The figures of an object's entry are those its getters give. */
    private static void assertObject(BufferObject bo, Map<String, Object> m) {
        Map<String, Object> expected = new HashMap<>();
        expected.put("label", bo.label());
        expected.put("size", bo.size());
        expected.put("residency", bo.residency().name());
        expected.put("refCount", (long) bo.refCount());
        expected.put("pagesUseCount", (long) bo.pagesUseCount());
        expected.put("pinCount", (long) bo.pinCount());
        expected.put("vmapCount", (long) bo.vmapCount());
        expected.put("imported", bo.isImported());
        Map<String, Object> actual = new HashMap<>(m);
        actual.keySet().retainAll(expected.keySet());
        assertEquals(expected, actual, "object " + bo);
        assertTrue(m.get("madvise").equals("WILLNEED") || m.get("madvise").equals("DONTNEED"));
        assertTrue(m.get("busy") instanceof Boolean && m.get("shared") instanceof Boolean && m.get("exported") instanceof Boolean);
    }

    @Test
    void labelsAndNamesAreEscaped(Fixture fx) {
        MemoryManager mm = fx.manager();
        String odd = "quote \" backslash \\ slash / newline \n tab \t bell \u0007 e\u0301 \u00e9 \ud83d\ude00 \u2028";
        Client c = fx.client(mm, odd);
        BufferObject bo = c.create(PAGE).label(odd);
        BufferObject broken = c.create(PAGE).label("lone \ud800 surrogate");
        Map<String, Object> root = MiniJson.object(MiniJson.parse(mm.dump()));
        Map<String, Object> client = MiniJson.object(MiniJson.array(root.get("clients")).get(0));
        assertEquals(odd, client.get("name"));
        Map<Long, Map<String, Object>> objects = byHandle(client.get("objects"));
        assertEquals(odd, objects.get((long) bo.handle()).get("label"));
        assertEquals("lone \ufffd surrogate", objects.get((long) broken.handle()).get("label"),
                "a lone surrogate cannot be written as UTF-8: replaced");
    }

    @Test
    void anEmptyManagerDumps(Fixture fx) {
        MemoryManager mm = fx.managerNoSwap(MiB);
        Map<String, Object> root = MiniJson.object(MiniJson.parse(mm.dump()));
        assertEquals(List.of(), root.get("clients"));
        assertEquals(List.of(), root.get("withoutHandle"));
        assertEquals(0L, MiniJson.object(MiniJson.object(root.get("manager")).get("stats")).get("swapCapacity"));
    }

    @Test
    void aClosedManagerRefuses(Fixture fx) {
        MemoryManager mm = fx.manager();
        mm.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, mm::dump);
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
    }

    @Test
    void neverWaitsForAnObjectLock(Fixture fx) {
        MemoryManager mm = fx.manager();
        Client c = fx.client(mm, "locked");
        BufferObject bo = c.create(pages(2)).label("held");
        fill(bo, (byte) 9);
        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        CompletableFuture<Void> holder = Fixture.startInOtherThread(() -> {
            bo.resv().lock();
            try {
                held.countDown();
                Fixture.await(release, "the dump");
            } finally {
                bo.resv().unlock();
            }
        });
        Fixture.await(held, "the other thread to lock the object");
        try {
            CompletableFuture<String> dump = Fixture.startInOtherThread(mm::dump);
            String text = Fixture.await(dump); // bounded: fails if the dump waits for the lock
            Map<String, Object> o = byHandle(MiniJson.object(MiniJson.array(MiniJson.object(MiniJson.parse(text))
                    .get("clients")).get(0)).get("objects")).get((long) bo.handle());
            assertEquals("held", o.get("label"));
            assertEquals("RESIDENT", o.get("residency"));
        } finally {
            release.countDown();
        }
        Fixture.await(holder);
    }
}
