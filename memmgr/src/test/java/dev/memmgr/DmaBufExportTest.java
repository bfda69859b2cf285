package dev.memmgr;

import static dev.memmgr.DmaBufTestSupport.assertCounts;
import static dev.memmgr.DmaBufTestSupport.drainDeferred;
import static dev.memmgr.DmaBufTestSupport.map;
import static dev.memmgr.Fixture.pages;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memmgr.internal.Access;
import java.lang.ref.WeakReference;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Export identity and references (DESIGN 4.4): {@code export()} of an exported object returns
 * the open DmaBuf and takes no further reference; {@code close()} drops the export's reference,
 * once; attachments and imports keep the exporter alive after its handle and the DmaBuf are
 * closed, and the last of them frees it (frames back); a closed DmaBuf still answers
 * {@code size()}, {@code exporter()}, {@code resv()} and {@code attachments()} but refuses
 * {@code attach}; {@code attachments()} lists exactly the live attachments, in order, as the
 * instances {@code attach} returned, including the one a cross-manager import owns; export of an
 * import gives its exporter's buffer; export of a freed object or on a closed manager throws.
 */
@ExtendWith(MemmgrExtension.class)
class DmaBufExportTest {
    private static final long SIZE = pages(4);

    @Test
    void exportTwiceGivesTheSameDmaBufAndOneReference(Fixture f) {
        BufferObject e = f.client(f.manager(), "a").create(SIZE);
        assertEquals(1, e.refCount());
        DmaBuf buf = e.export();
        assertEquals(2, e.refCount(), "the export holds a reference");
        assertSame(buf, e.export());
        assertSame(buf, e.export());
        assertEquals(2, e.refCount(), "exporting again takes nothing");
        assertSame(e, buf.exporter());
        assertEquals(e.size(), buf.size());
        assertFalse(buf.isClosed());
        assertEquals(List.of(), buf.attachments());
    }

    @Test
    void closeDropsTheExportsReferenceOnce(Fixture f) {
        BufferObject e = f.client(f.manager(), "a").create(SIZE);
        DmaBuf buf = e.export();
        buf.close();
        assertTrue(buf.isClosed());
        assertEquals(1, e.refCount());
        buf.close();
        assertEquals(1, e.refCount(), "close is idempotent");
        DmaBuf again = e.export();
        assertNotSame(buf, again, "a closed DmaBuf is not given out again");
        assertEquals(2, e.refCount());
        again.close();
        assertEquals(1, e.refCount());
    }

    @Test
    void theExportAloneKeepsTheObjectAliveAfterItsHandleCloses(Fixture f) {
        MemoryManager mm = f.manager();
        BufferObject e = f.client(mm, "a").create(SIZE);
        byte[] content = Fixture.writePattern(e, 1);
        DmaBuf buf = e.export();
        e.close();
        assertEquals(1, e.refCount(), "the export's reference");
        Fixture.assertContent(content, buf.exporter(), "exporter after its handle closed");
        buf.close();
        assertEquals(0, e.refCount(), "freed with the export's reference");
        assertThrows(IllegalStateException.class, () -> e.read(0, Fixture.filled(1, (byte) 0)));
        assertEquals(mm.capacity(), mm.stats().free(), "frames back");
    }

    @Test
    void attachmentsAndImportsKeepTheExporterAlive(Fixture f) {
        MemoryManager a = f.manager();
        MemoryManager b = f.manager();
        BufferObject e = f.client(a, "a").create(SIZE);
        byte[] content = Fixture.writePattern(e, 2);
        DmaBuf buf = e.export();
        Attachment stat = buf.attach("static");
        Attachment dyn = buf.attach("dynamic", x -> { });
        BufferObject imp = f.client(b, "b").importBuffer(buf);
        assertEquals(2, e.refCount(), "the handle and one reference for the whole DmaBuf");
        e.close();
        buf.close();
        assertEquals(1, e.refCount(), "attachments and the import keep it");
        Fixture.assertContent(content, imp, "through the import");
        Fixture.assertContent(content, e, "through the exporter");
        stat.close();
        dyn.close();
        assertEquals(1, e.refCount(), "the import keeps it");
        assertEquals(1, buf.attachments().size());
        Fixture.assertContent(content, imp, "through the import, alone");
        imp.close();
        drainDeferred();
        assertEquals(0, e.refCount(), "the last user freed it");
        assertEquals(List.of(), buf.attachments());
        assertEquals(a.capacity(), a.stats().free(), "the exporter's frames are back");
        assertEquals(b.capacity(), b.stats().free());
    }

    @Test
    void aMappedAttachmentKeepsTheExporterAliveUntilDetached(Fixture f) {
        MemoryManager a = f.manager();
        BufferObject e = f.client(a, "a").create(SIZE);
        Fixture.fill(e, (byte) 7);
        DmaBuf buf = e.export();
        Attachment stat = buf.attach("static");
        map(stat);
        e.close();
        buf.close();
        assertCounts(e, 1, 1, 1, 0, "mapped static attachment only");
        Fixture.assertAllBytes((byte) 7, Fixture.contentOf(e), "content");
        stat.close(); // unmaps (takes the lock itself) and detaches
        assertEquals(0, e.refCount());
        assertEquals(a.capacity(), a.stats().free());
    }

    @Test
    void aClosedDmaBufStillAnswersAndRefusesAttach(Fixture f) {
        MemoryManager a = f.manager();
        BufferObject e = f.client(a, "a").create(SIZE);
        DmaBuf buf = e.export();
        Attachment live = buf.attach("live", x -> { });
        buf.close();
        assertEquals(SIZE, buf.size());
        assertSame(e, buf.exporter());
        Reservation r = buf.resv();
        r.lock();
        try {
            assertTrue(e.resv().isHeldByCurrentThread(), "resv() is the exporter's reservation");
        } finally {
            r.unlock();
        }
        assertEquals(List.of(live), buf.attachments(), "live attachments still listed");
        int refs = e.refCount();
        IllegalStateException s = assertThrows(IllegalStateException.class, () -> buf.attach("late"));
        assertTrue(s.getMessage().contains("closed"), s.getMessage());
        assertThrows(IllegalStateException.class, () -> buf.attach("late", x -> { }));
        assertEquals(List.of(live), buf.attachments(), "nothing attached");
        assertEquals(refs, e.refCount(), "no reference taken");
        live.close();
        assertEquals(List.of(), buf.attachments());
        assertEquals(SIZE, buf.size(), "still answers once nothing uses it");
        assertSame(e, buf.exporter());
    }

    @Test
    void attachmentsListsTheLiveOnesInOrderIncludingTheImports(Fixture f) {
        MemoryManager a = f.manager();
        MemoryManager b = f.manager();
        BufferObject e = f.client(a, "a").create(SIZE);
        DmaBuf buf = e.export();
        Attachment s = buf.attach("s");
        Attachment d = buf.attach("d", x -> { });
        BufferObject imp = f.client(b, "importer").importBuffer(buf);
        List<Attachment> all = buf.attachments();
        assertEquals(3, all.size());
        assertSame(s, all.get(0), "the instance attach returned");
        assertSame(d, all.get(1));
        Attachment owned = all.get(2);
        assertTrue(owned.isDynamic(), "an import's attachment is dynamic");
        assertEquals("importer", owned.importer(), "named after the importing client");
        assertSame(buf, owned.dmaBuf());
        assertThrows(UnsupportedOperationException.class, () -> buf.attachments().clear(), "a snapshot, unmodifiable");

        assertSame(buf, s.dmaBuf());
        assertEquals("s", s.importer());
        assertFalse(s.isDynamic());
        assertTrue(d.isDynamic());
        assertFalse(s.isMapped());
        assertFalse(d.isMapped());

        s.close();
        assertEquals(List.of(d, owned), buf.attachments());
        s.close();
        assertEquals(List.of(d, owned), buf.attachments(), "detach is idempotent");
        imp.close();
        drainDeferred();
        assertEquals(List.of(d), buf.attachments(), "the import's attachment goes with it");
        d.close();
        assertEquals(List.of(), buf.attachments());
    }

    @Test
    void exportOfAnImportGivesTheExportersBuffer(Fixture f) {
        MemoryManager a = f.manager();
        MemoryManager b = f.manager();
        BufferObject e = f.client(a, "a").create(SIZE);
        DmaBuf buf = e.export();
        BufferObject imp = f.client(b, "b").importBuffer(buf);
        assertSame(buf, imp.export());
        buf.close();
        DmaBuf again = imp.export();
        assertNotSame(buf, again);
        assertSame(e, again.exporter(), "re-exported from the exporter itself");
        assertSame(again, e.export());
        again.close();
    }

    @Test
    void exportOfAFreedObjectOrOnAClosedManagerThrows(Fixture f) {
        MemoryManager a = f.manager();
        Client c = f.client(a, "a");
        BufferObject freed = c.create(SIZE);
        freed.close();
        assertThrows(IllegalStateException.class, freed::export);
        BufferObject e = c.create(SIZE);
        a.close();
        assertThrows(IllegalStateException.class, e::export);
    }

    @Test
    void exportingManyObjectsGivesEachItsOwnBuffer(Fixture f) {
        Client c = f.client(f.manager(), "a");
        BufferObject x = c.create(SIZE);
        BufferObject y = c.create(pages(1));
        DmaBuf bx = x.export();
        DmaBuf by = y.export();
        assertNotSame(bx, by);
        assertSame(x, bx.exporter());
        assertSame(y, by.exporter());
        assertEquals(pages(1), by.size());
    }

    @Test
    void aClosedManagerIsNotKeptReachableByADmaBufLeftOpen(Fixture f) {
        WeakReference<Object> device = exportThenCloseTheManagerLeavingTheBufferOpen();
        Fixture.awaitCondition(() -> {
            System.gc();
            return device.get() == null;
        }, "the closed manager's device to be collected (no global table may keep an exporter)");
    }

    /** A manager outside the fixture, closed here; its exported object's DmaBuf is never closed. */
    private static WeakReference<Object> exportThenCloseTheManagerLeavingTheBufferOpen() {
        MemoryManager mm = MemoryManager.builder().capacity(Fixture.MiB).pageSize(Fixture.PAGE).backgroundReclaim(false)
                .build();
        try {
            BufferObject e = mm.openClient("a").create(SIZE);
            Fixture.fill(e, (byte) 1);
            e.export().attach("left attached", x -> { });
            return new WeakReference<>(Access.device(mm));
        } finally {
            mm.close();
        }
    }
}
