package dev.memmgr;

import static dev.memmgr.DmaBufTestSupport.assertCounts;
import static dev.memmgr.DmaBufTestSupport.drainDeferred;
import static dev.memmgr.DmaBufTestSupport.map;
import static dev.memmgr.Fixture.pages;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Misuse of the sharing API (DESIGN 4.4, issue 11): map and unmap without the reservation (or
 * with it held by another thread), detach with it held, map after detach, unmap of an unmapped
 * attachment, import of a closed DmaBuf, map of a purged exporter, null arguments, and every
 * operation after either manager closed: each throws the exception the contract names, with a
 * message that says what was wrong, and changes nothing (counts, mapped flags, attachment lists,
 * references).
 */
@ExtendWith(MemmgrExtension.class)
class DmaBufMisuseTest {
    private static final long SIZE = pages(2);

    @Test
    void mapWithoutTheLockIsRefused(Fixture f) {
        BufferObject e = f.client(f.manager(), "a").create(SIZE);
        DmaBuf buf = e.export();
        for (Attachment a : List.of(buf.attach("s"), buf.attach("d", x -> { }))) {
            IllegalStateException x = assertThrows(IllegalStateException.class, a::map);
            assertTrue(x.getMessage().contains("reservation"), x.getMessage());
            assertFalse(a.isMapped());
        }
        assertCounts(e, 2, 0, 0, 0, "nothing changed");
        assertEquals(Residency.UNPOPULATED, e.residency(), "nothing populated");
    }

    @Test
    void mapWithTheLockHeldByAnotherThreadIsRefused(Fixture f) {
        BufferObject e = f.client(f.manager(), "a").create(SIZE);
        DmaBuf buf = e.export();
        Attachment d = buf.attach("d", x -> { });
        CountDownLatch locked = new CountDownLatch(1);
        CountDownLatch done = new CountDownLatch(1);
        CompletableFuture<Void> holder = Fixture.startInOtherThread(() -> {
            buf.resv().lock();
            try {
                locked.countDown();
                Fixture.await(done, "the test's attempts");
            } finally {
                buf.resv().unlock();
            }
        });
        Fixture.await(locked, "the other thread holds the reservation");
        assertThrows(IllegalStateException.class, d::map);
        assertThrows(IllegalStateException.class, d::unmap);
        done.countDown();
        Fixture.await(holder);
        assertFalse(d.isMapped());
        assertCounts(e, 2, 0, 0, 0, "nothing changed");
    }

    @Test
    void unmapWithoutTheLockIsRefusedAndTheMappingStays(Fixture f) {
        BufferObject e = f.client(f.manager(), "a").create(SIZE);
        DmaBuf buf = e.export();
        Attachment s = buf.attach("s");
        MemorySegment seg = map(s);
        IllegalStateException x = assertThrows(IllegalStateException.class, s::unmap);
        assertTrue(x.getMessage().contains("reservation"), x.getMessage());
        assertTrue(s.isMapped());
        assertCounts(e, 2, 1, 1, 0, "still pinned");
        assertEquals(0, seg.get(ValueLayout.JAVA_BYTE, 0));
        s.close();
    }

    @Test
    void unmapOfAnUnmappedAttachmentIsRefused(Fixture f) {
        BufferObject e = f.client(f.manager(), "a").create(SIZE);
        DmaBuf buf = e.export();
        Attachment d = buf.attach("d", x -> { });
        buf.resv().lock();
        try {
            assertThrows(IllegalStateException.class, d::unmap);
        } finally {
            buf.resv().unlock();
        }
        assertCounts(e, 2, 0, 0, 0, "nothing changed");
    }

    @Test
    void detachWithTheLockHeldUnmapsAndDetachesWithoutTakingItAgain(Fixture f) {
        BufferObject e = f.client(f.manager(), "a").create(SIZE);
        DmaBuf buf = e.export();
        Attachment s = buf.attach("s");
        buf.resv().lock();
        try {
            s.map();
            s.close(); // a MoveListener may detach: close works with the lock held
            assertFalse(s.isMapped(), "unmapped");
            assertEquals(List.of(), buf.attachments(), "detached");
            assertThrows(IllegalStateException.class, s::map, "a detached attachment does not map");
            assertTrue(buf.resv().isHeldByCurrentThread(), "the lock is still the caller's");
        } finally {
            buf.resv().unlock();
        }
        assertCounts(e, 2, 0, 0, 0, "the pin dropped once");
        s.close(); // idempotent
    }

    @Test
    void mapAfterDetachIsRefused(Fixture f) {
        BufferObject e = f.client(f.manager(), "a").create(SIZE);
        DmaBuf buf = e.export();
        Attachment d = buf.attach("d", x -> { });
        d.close();
        buf.resv().lock();
        try {
            IllegalStateException x = assertThrows(IllegalStateException.class, d::map);
            assertTrue(x.getMessage().contains("detached"), x.getMessage());
        } finally {
            buf.resv().unlock();
        }
        assertCounts(e, 2, 0, 0, 0, "nothing changed");
        assertEquals(List.of(), buf.attachments());
    }

    @Test
    void importOfAClosedDmaBufIsRefused(Fixture f) {
        MemoryManager a = f.manager();
        MemoryManager b = f.manager();
        Client ca = f.client(a, "a");
        Client ca2 = f.client(a, "a2");
        Client cb = f.client(b, "b");
        BufferObject e = ca.create(SIZE);
        DmaBuf buf = e.export();
        buf.close();
        IllegalStateException x = assertThrows(IllegalStateException.class, () -> cb.importBuffer(buf));
        assertTrue(x.getMessage().contains("closed"), x.getMessage());
        assertThrows(IllegalStateException.class, () -> ca2.importBuffer(buf));
        assertCounts(e, 1, 0, 0, 0, "nothing taken");
        assertEquals(List.of(), buf.attachments());
        assertEquals(new ClientStats(0, 0, 0, 0, 0, 0), cb.stats(), "no import made");
        assertEquals(new ClientStats(0, 0, 0, 0, 0, 0), ca2.stats(), "no handle made");
    }

    @Test
    void mapOfAPurgedExporterThrowsPurged(Fixture f) {
        MemoryManager mm = f.manager();
        BufferObject e = f.client(mm, "a").create(SIZE);
        Fixture.fill(e, (byte) 1);
        DmaBuf buf = e.export();
        Attachment s = buf.attach("s");
        Attachment d = buf.attach("d", x -> { });
        assertTrue(e.madvise(Madvise.DONTNEED));
        assertEquals(SIZE, mm.reclaim(Long.MAX_VALUE));
        buf.resv().lock();
        try {
            assertThrows(PurgedException.class, s::map);
            assertThrows(PurgedException.class, d::map);
        } finally {
            buf.resv().unlock();
        }
        assertFalse(s.isMapped());
        assertFalse(d.isMapped());
        assertCounts(e, 2, 0, 0, 0, "nothing changed");
        assertEquals(Residency.PURGED, e.residency());
        s.close();
        d.close();
    }

    @Test
    void nullArgumentsAreRefused(Fixture f) {
        MemoryManager mm = f.manager();
        Client c = f.client(mm, "a");
        BufferObject e = c.create(SIZE);
        DmaBuf buf = e.export();
        assertThrows(NullPointerException.class, () -> buf.attach(null));
        assertThrows(NullPointerException.class, () -> buf.attach(null, x -> { }));
        assertThrows(NullPointerException.class, () -> buf.attach("d", null));
        assertThrows(NullPointerException.class, () -> c.importBuffer(null));
        assertThrows(NullPointerException.class, () -> c.handleOf(null));
        assertEquals(List.of(), buf.attachments(), "nothing attached");
        assertCounts(e, 2, 0, 0, 0, "nothing changed");
    }

    @Test
    void afterTheExportersManagerClosesEverythingThrowsIllegalState(Fixture f) {
        MemoryManager a = f.manager();
        MemoryManager b = f.manager();
        Client cb = f.client(b, "b");
        BufferObject e = f.client(a, "a").create(SIZE);
        Fixture.fill(e, (byte) 3);
        DmaBuf buf = e.export();
        Attachment s = buf.attach("s");
        Attachment d = buf.attach("d", x -> { });
        BufferObject imp = cb.importBuffer(buf);
        imp.getPages();
        map(d);
        a.close();

        assertEquals(SIZE, buf.size(), "queries still answer");
        assertSame(e, buf.exporter());
        assertThrows(IllegalStateException.class, () -> buf.attach("late"));
        assertThrows(IllegalStateException.class, () -> buf.attach("late", x -> { }));
        assertThrows(IllegalStateException.class, e::export);
        assertThrows(IllegalStateException.class, () -> cb.importBuffer(buf), "import of a dead exporter");
        buf.resv().lock(); // locking a freed object's reservation is harmless
        try {
            assertThrows(IllegalStateException.class, s::map);
            assertThrows(IllegalStateException.class, d::map, "a mapped attachment of a dead exporter");
        } finally {
            buf.resv().unlock();
        }
        MemorySegment one = Fixture.filled(1, (byte) 0);
        assertThrows(IllegalStateException.class, () -> imp.read(0, one));
        assertThrows(IllegalStateException.class, () -> imp.write(0, one));
        assertThrows(IllegalStateException.class, imp::pin);
        assertThrows(IllegalStateException.class, imp::vmap);
        assertThrows(IllegalStateException.class, imp::getPages);
        s.close();
        d.close();
        buf.close();
        imp.putPages();
        imp.close();
        drainDeferred();
        assertEquals(0, imp.refCount());
        assertEquals(b.capacity(), b.stats().free());
        assertEquals(new ClientStats(0, 0, 0, 0, 0, 0), cb.stats());
        f.client(b, "b2").create(SIZE).write(0, one); // the importer's manager works on
    }

    @Test
    void afterTheExportersManagerClosesAnImportCanStillBeLetGo(Fixture f) {
        MemoryManager a = f.manager();
        MemoryManager b = f.manager();
        BufferObject e = f.client(a, "a").create(SIZE);
        BufferObject imp = f.client(b, "b").importBuffer(e.export());
        imp.getPages();
        imp.pin();
        Vmap v = imp.vmap();
        assertCounts(imp, 1, 2, 2, 1, "in use");
        a.close();
        v.close();
        imp.unpin();
        imp.putPages();
        assertCounts(imp, 1, 0, 0, 0, "every use given back, no exception: nothing to undo on a freed exporter");
        assertThrows(IllegalStateException.class, imp::unpin, "unbalanced as for any object");
        imp.close(); // no leak reported: nothing was outstanding
        drainDeferred();
        assertEquals(0, imp.refCount());
        f.logs().assertNoWarnings("letting an import of a closed manager go");
    }

    @Test
    void afterTheImportersManagerClosesTheExporterIsAsBefore(Fixture f) {
        MemoryManager a = f.manager();
        MemoryManager b = f.manager();
        BufferObject e = f.client(a, "a").create(SIZE);
        byte[] content = Fixture.writePattern(e, 40);
        DmaBuf buf = e.export();
        Client cb = f.client(b, "b");
        BufferObject imp = cb.importBuffer(buf);
        imp.pin();
        Vmap v = imp.vmap();
        assertEquals(2, e.pinCount());
        b.close();
        drainDeferred();
        assertThrows(IllegalStateException.class, () -> imp.read(0, Fixture.filled(1, (byte) 0)));
        assertThrows(IllegalStateException.class, imp::pin);
        assertThrows(IllegalStateException.class, imp::export);
        assertThrows(IllegalStateException.class, () -> cb.importBuffer(buf));
        v.close(); // harmless
        assertEquals(List.of(), buf.attachments(), "the import's attachment went with its manager");
        assertCounts(e, 2, 0, 0, 0, "its pin, vmap and page use went too");
        Fixture.assertContent(content, e, "the exporter is intact");
        assertEquals(SIZE, a.reclaim(Long.MAX_VALUE), "and evictable");
        assertEquals(Residency.EVICTED, e.residency());
    }
}
