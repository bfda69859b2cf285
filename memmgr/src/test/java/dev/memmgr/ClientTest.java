package dev.memmgr;

import static dev.memmgr.Fixture.PAGE;
import static dev.memmgr.Fixture.await;
import static dev.memmgr.Fixture.contentOf;
import static dev.memmgr.Fixture.fill;
import static dev.memmgr.Fixture.filled;
import static dev.memmgr.Fixture.pages;
import static dev.memmgr.Fixture.startInOtherThread;
import static dev.memmgr.Fixture.writePattern;
import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Contract of {@link Client}: create, handles and lookup, statistics, fdinfo, close. */
@ExtendWith(MemmgrExtension.class)
class ClientTest {
    private Fixture fx;
    private MemoryManager mm;
    private Client client;

    @BeforeEach
    void setUp(Fixture fx) {
        this.fx = fx;
        mm = fx.manager();
        client = mm.openClient("renderer");
    }

    /** @return the fdinfo text as key -> value, in order; fails on a line that is not "key:\tvalue" */
    private static Map<String, String> parseFdinfo(String text) {
        Map<String, String> m = new LinkedHashMap<>();
        assertTrue(text.endsWith("\n"), "fdinfo ends with a newline");
        for (String line : text.split("\n")) {
            int tab = line.indexOf(":\t");
            assertTrue(tab > 0, "line is not 'key:\\tvalue': " + line);
            m.put(line.substring(0, tab), line.substring(tab + 2));
        }
        return m;
    }

    // ---- identity --------------------------------------------------------------------------

    @Test
    void nameAndManager() {
        assertEquals("renderer", client.name());
        assertSame(mm, client.manager());
        client.close();
        assertEquals("renderer", client.name(), "name() answers after close");
    }

    // ---- create ----------------------------------------------------------------------------

    @ParameterizedTest(name = "create({0}) -> {1}")
    @CsvSource({"1, 4096", "4095, 4096", "4096, 4096", "4097, 8192", "12288, 12288", "1048577, 1052672"})
    void createRoundsUpToWholePages(long requested, long expected) {
        BufferObject bo = client.create(requested);
        assertEquals(expected, bo.size());
        assertEquals(expected, client.stats().total());
    }

    @Test
    void createRoundsUpToTheManagersPageSize() {
        try (MemoryManager big = MemoryManager.builder().capacity(1 << 20).pageSize(16384).backgroundReclaim(false).build();
             Client c = big.openClient("big")) {
            assertEquals(16384, c.create(1).size());
            assertEquals(32768, c.create(16385).size());
        }
    }

    @Test
    void createIsLazy() {
        BufferObject bo = client.create(8L << 20); // half the capacity
        assertEquals(Residency.UNPOPULATED, bo.residency());
        assertEquals(mm.capacity(), mm.stats().free());
        assertEquals(0, client.stats().resident());
        assertEquals(8L << 20, client.stats().total());
    }

    @Test
    void createCanExceedTheCapacityBecauseItIsLazy() {
        BufferObject bo = client.create(mm.capacity() * 4);
        assertEquals(mm.capacity() * 4, bo.size());
        assertEquals(mm.capacity(), mm.stats().free());
    }

    @Test
    void createRejectsBadSizesAndCreatesNothing() {
        assertThrows(IllegalArgumentException.class, () -> client.create(0));
        assertThrows(IllegalArgumentException.class, () -> client.create(-1));
        assertThrows(IllegalArgumentException.class, () -> client.create(Long.MIN_VALUE));
        assertThrows(IllegalArgumentException.class, () -> client.create(Long.MAX_VALUE), "more than 2^31 - 1 pages");
        assertThrows(IllegalArgumentException.class, () -> client.create(((long) Integer.MAX_VALUE + 1) * PAGE));
        assertEquals(0, client.stats().total());
        assertEquals(mm.capacity(), mm.stats().free());
    }

    @Test
    void handlesAreDistinctAndPositive() {
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 20; i++) {
            int h = client.create(PAGE).handle();
            assertTrue(h > 0);
            assertTrue(seen.add(h), "handle " + h + " handed out twice");
        }
    }

    @Test
    void concurrentCreatesGetDistinctHandles() throws Exception {
        java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
        List<java.util.concurrent.CompletableFuture<List<Integer>>> workers = new java.util.ArrayList<>();
        for (int t = 0; t < 4; t++) {
            workers.add(startInOtherThread(() -> {
                go.await();
                List<Integer> hs = new java.util.ArrayList<>();
                for (int i = 0; i < 100; i++) {
                    hs.add(client.create(PAGE).handle());
                }
                return hs;
            }));
        }
        go.countDown();
        Set<Integer> all = new HashSet<>();
        for (var w : workers) {
            all.addAll(await(w));
        }
        assertEquals(400, all.size());
        assertEquals(pages(400), client.stats().total());
        for (int h : all) {
            BufferObject bo = client.lookup(h);
            assertEquals(h, bo.handle());
            bo.release();
        }
    }

    // ---- lookup ----------------------------------------------------------------------------

    @Test
    void lookupReturnsTheSameInstanceWithOneMoreReference() {
        BufferObject bo = client.create(PAGE);
        BufferObject found = client.lookup(bo.handle());
        assertSame(bo, found);
        assertEquals(2, bo.refCount());
        BufferObject again = client.lookup(bo.handle());
        assertSame(bo, again);
        assertEquals(3, bo.refCount());
        found.release();
        again.release();
        assertEquals(1, bo.refCount());
    }

    @Test
    void lookedUpReferenceKeepsTheObjectAfterItsHandleCloses() {
        BufferObject bo = client.create(pages(2));
        byte[] p = writePattern(bo, 2);
        BufferObject ref = client.lookup(bo.handle());
        bo.close();
        assertEquals(1, ref.refCount());
        assertArrayEquals(p, contentOf(ref));
        assertThrows(NoSuchHandleException.class, () -> client.lookup(bo.handle()), "the handle is closed");
        ref.release();
        assertEquals(0, ref.refCount());
        assertEquals(mm.capacity(), mm.stats().free());
    }

    @Test
    void lookupOfAnUnknownHandleThrowsNoSuchHandle() {
        assertThrows(NoSuchHandleException.class, () -> client.lookup(1));
        BufferObject bo = client.create(PAGE);
        assertThrows(NoSuchHandleException.class, () -> client.lookup(bo.handle() + 1));
        assertThrows(NoSuchHandleException.class, () -> client.lookup(0));
        assertThrows(NoSuchHandleException.class, () -> client.lookup(-1));
        assertEquals(1, bo.refCount());
    }

    @Test
    void handlesArePerClient() {
        Client other = mm.openClient("other");
        BufferObject bo = client.create(PAGE);
        assertThrows(NoSuchHandleException.class, () -> other.lookup(bo.handle()));
        assertEquals(1, bo.refCount());
        BufferObject mine = other.create(PAGE);
        BufferObject found = other.lookup(mine.handle());
        assertSame(mine, found, "a handle resolves in its own client");
        found.release();
        if (mine.handle() == bo.handle()) {
            assertSame(bo, client.lookup(bo.handle()), "same number, different namespace");
            bo.release();
        }
    }

    // ---- close -----------------------------------------------------------------------------

    @Test
    void closeClosesEveryHandleAndFreesUnreferencedObjects() {
        BufferObject a = client.create(pages(2));
        BufferObject b = client.create(pages(3));
        fill(a, (byte) 1);
        fill(b, (byte) 2);
        client.close();
        assertEquals(0, a.refCount());
        assertEquals(0, b.refCount());
        assertEquals(mm.capacity(), mm.stats().free());
    }

    @Test
    void retainedObjectsStayUsableAfterTheClientCloses() {
        BufferObject bo = client.create(pages(2)).retain();
        byte[] p = writePattern(bo, 3);
        client.close();
        assertEquals(1, bo.refCount(), "the handle's reference is gone, the retained one stays");
        assertArrayEquals(p, contentOf(bo));
        fill(bo, (byte) 4);
        bo.pin();
        try (Vmap v = bo.vmap()) {
            assertEquals(4, v.segment().get(java.lang.foreign.ValueLayout.JAVA_BYTE, PAGE));
        }
        bo.unpin();
        bo.close();
        assertEquals(1, bo.refCount(), "its handle was already closed by the client");
        bo.release();
        assertEquals(0, bo.refCount());
        assertEquals(mm.capacity(), mm.stats().free());
    }

    @Test
    void closeIsIdempotent() {
        BufferObject bo = client.create(PAGE).retain();
        client.close();
        client.close();
        assertEquals(1, bo.refCount());
        bo.release();
    }

    @Test
    void closedClientRejectsEverythingButNameAndClose() {
        client.close();
        assertAll(
                () -> assertThrows(IllegalStateException.class, () -> client.create(PAGE)),
                () -> assertThrows(IllegalStateException.class, () -> client.lookup(1)),
                () -> assertThrows(IllegalStateException.class, client::stats),
                () -> assertThrows(IllegalStateException.class, client::fdinfo),
                () -> assertDoesNotThrow(client::close),
                () -> assertEquals("renderer", client.name()));
        assertEquals(mm.capacity(), mm.stats().free());
    }

    @Test
    void closingOneClientLeavesOthersAlone() {
        Client other = mm.openClient("other");
        BufferObject keep = other.create(pages(1));
        fill(keep, (byte) 5);
        client.create(pages(1));
        client.close();
        assertEquals(1, keep.refCount());
        assertEquals(pages(1), other.stats().total());
        assertSame(keep, other.lookup(keep.handle()));
        keep.release();
    }

    // ---- stats -----------------------------------------------------------------------------

    @Test
    void statsOfANewClientAreZero() {
        assertEquals(new ClientStats(0, 0, 0, 0, 0, 0), client.stats());
    }

    @Test
    void statsCountTotalResidentPurgeableActiveAndEvicted() {
        BufferObject resident = client.create(pages(4));
        resident.write(0, filled(PAGE + 1, (byte) 1)); // 2 of 4 pages backed
        BufferObject purgeable = client.create(pages(3));
        fill(purgeable, (byte) 2);
        purgeable.madvise(Madvise.DONTNEED);
        BufferObject active = client.create(pages(2));
        Fence fence = new Fence();
        active.resv().addFence(fence, FenceUsage.READ);
        BufferObject lazy = client.create(pages(5));
        assertEquals(Residency.UNPOPULATED, lazy.residency());

        ClientStats s = client.stats();
        assertAll(
                () -> assertEquals(pages(4 + 3 + 2 + 5), s.total()),
                () -> assertEquals(0, s.shared()),
                () -> assertEquals(pages(2 + 3), s.resident()),
                () -> assertEquals(pages(3), s.purgeable()),
                () -> assertEquals(pages(2), s.active(), "size of objects with an unsignaled fence"),
                () -> assertEquals(0, s.evicted()));

        fence.signal();
        assertEquals(0, client.stats().active());
        mm.reclaim(Long.MAX_VALUE); // purges "purgeable", evicts "resident" (2 backed pages)
        ClientStats after = client.stats();
        assertAll(
                () -> assertEquals(Residency.EVICTED, resident.residency()),
                () -> assertEquals(pages(4 + 3 + 2 + 5), after.total()),
                () -> assertEquals(0, after.resident()),
                () -> assertEquals(0, after.purgeable()),
                () -> assertEquals(pages(2), after.evicted()));
    }

    @Test
    void activeDontNeedObjectIsNotCountedAsPurgeable() {
        BufferObject bo = client.create(pages(2));
        fill(bo, (byte) 1);
        bo.madvise(Madvise.DONTNEED);
        Fence f = new Fence();
        bo.resv().addFence(f, FenceUsage.BOOKKEEP);
        assertEquals(0, client.stats().purgeable());
        assertEquals(pages(2), client.stats().active());
        f.signal();
        assertEquals(pages(2), client.stats().purgeable());
    }

    @Test
    void statsCountOnlyObjectsWithOpenHandlesOfThisClient() {
        Client other = mm.openClient("other");
        other.create(pages(7));
        BufferObject retained = client.create(pages(2)).retain();
        client.create(pages(1));
        assertEquals(pages(3), client.stats().total());
        retained.close();
        assertEquals(pages(1), client.stats().total(), "a closed handle no longer counts");
        assertEquals(pages(7), other.stats().total());
        retained.release();
    }

    // ---- fdinfo ----------------------------------------------------------------------------

    @Test
    void fdinfoHasTheDrmUsageStatsKeysInOrder() {
        Map<String, String> m = parseFdinfo(client.fdinfo());
        assertEquals(List.of("drm-driver", "drm-client-id", "drm-client-name", "drm-total-memory", "drm-shared-memory",
                "drm-resident-memory", "drm-purgeable-memory", "drm-active-memory", "drm-evicted-memory"),
                List.copyOf(m.keySet()));
        assertEquals("renderer", m.get("drm-client-name"));
        assertTrue(m.get("drm-client-id").matches("\\d+"), "client id is a number: " + m.get("drm-client-id"));
        assertTrue(!m.get("drm-driver").isEmpty());
        for (String key : List.of("total", "shared", "resident", "purgeable", "active", "evicted")) {
            assertEquals("0 KiB", m.get("drm-" + key + "-memory"), "zero prints as 0 KiB");
        }
    }

    @Test
    void fdinfoClientIdsDifferBetweenClients() {
        Client other = mm.openClient("other");
        assertNotEquals(parseFdinfo(client.fdinfo()).get("drm-client-id"), parseFdinfo(other.fdinfo()).get("drm-client-id"));
        assertEquals("other", parseFdinfo(other.fdinfo()).get("drm-client-name"));
    }

    @Test
    void fdinfoPrintsKiBOrMiBAsTheLargestUnitDividingExactly() {
        BufferObject mib = client.create(2L << 20);
        fill(mib, (byte) 1);
        BufferObject kib = client.create(pages(3));
        kib.write(0, filled(1, (byte) 1)); // one page backed
        kib.madvise(Madvise.DONTNEED);
        BufferObject busy = client.create(1L << 20);
        busy.resv().addFence(new Fence(), FenceUsage.WRITE);

        Map<String, String> m = parseFdinfo(client.fdinfo());
        assertAll(
                () -> assertEquals("3084 KiB", m.get("drm-total-memory"), "2 MiB + 12 KiB + 1 MiB"),
                () -> assertEquals("0 KiB", m.get("drm-shared-memory")),
                () -> assertEquals("2052 KiB", m.get("drm-resident-memory"), "2 MiB + 4 KiB"),
                () -> assertEquals("4 KiB", m.get("drm-purgeable-memory")),
                () -> assertEquals("1 MiB", m.get("drm-active-memory")),
                () -> assertEquals("0 KiB", m.get("drm-evicted-memory")));

        kib.close();
        Map<String, String> m2 = parseFdinfo(client.fdinfo());
        assertEquals("3 MiB", m2.get("drm-total-memory"));
        assertEquals("2 MiB", m2.get("drm-resident-memory"));
    }

    @Test
    void fdinfoReportsEvictedMemory() {
        BufferObject bo = client.create(pages(4));
        bo.write(0, filled(pages(2), (byte) 1));
        mm.reclaim(Long.MAX_VALUE);
        Map<String, String> m = parseFdinfo(client.fdinfo());
        assertEquals("8 KiB", m.get("drm-evicted-memory"));
        assertEquals("0 KiB", m.get("drm-resident-memory"));
        assertEquals("16 KiB", m.get("drm-total-memory"));
    }

    @Test
    void fdinfoFiguresMatchStats() {
        BufferObject bo = client.create(pages(5));
        fill(bo, (byte) 1);
        ClientStats s = client.stats();
        Map<String, String> m = parseFdinfo(client.fdinfo());
        assertEquals(s.total() / 1024 + " KiB", m.get("drm-total-memory"));
        assertEquals(s.resident() / 1024 + " KiB", m.get("drm-resident-memory"));
    }
}
