package dev.memmgr;

import static dev.memmgr.DmaBufTestSupport.assertCounts;
import static dev.memmgr.DmaBufTestSupport.drainDeferred;
import static dev.memmgr.Fixture.pages;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Import into another manager (DESIGN 4.4): an imported object ({@code isImported()}) whose
 * pages are the exporter's, zero copy both ways (read, write, vmap, pin, getPages through either
 * side); importing twice into one client gives the same object and takes nothing; its operations
 * go through a dynamic attachment it owns (mapped while it holds page uses, pins or vmaps); its
 * frames count in the exporter's manager only; an eviction on the exporter's side and then any
 * access through the import swaps the pages back in; a pinned or vmapped import keeps the
 * exporter from being evicted; residency through the import is the exporter's in every state; a
 * purged exporter makes the import's content operations throw PurgedException; sizes agree when
 * the managers' page sizes differ.
 */
@ExtendWith(MemmgrExtension.class)
class ImportCrossManagerTest {
    private static final long SIZE = pages(4);

    /** Managers a (exporter's) and b (importer's), the exporter e, its buffer and the import. */
    private record Pair(MemoryManager a, MemoryManager b, Client ca, Client cb, BufferObject e, DmaBuf buf,
                        BufferObject imp) {
        Attachment owned() {
            List<Attachment> all = buf.attachments();
            assertEquals(1, all.size(), "the import's attachment only");
            return all.get(0);
        }
    }

    private static Pair pair(Fixture f) {
        MemoryManager a = f.manager();
        MemoryManager b = f.manager();
        Client ca = f.client(a, "exporter");
        Client cb = f.client(b, "importer");
        BufferObject e = ca.create(SIZE);
        DmaBuf buf = e.export();
        return new Pair(a, b, ca, cb, e, buf, cb.importBuffer(buf));
    }

    @Test
    void anImportIsANewObjectOfTheImportingClient(Fixture f) {
        Pair p = pair(f);
        assertTrue(p.imp().isImported());
        assertFalse(p.e().isImported());
        assertNotSame(p.e(), p.imp());
        assertEquals(SIZE, p.imp().size());
        assertSame(p.cb(), p.imp().owner());
        assertEquals(p.imp().handle(), p.cb().handleOf(p.imp()));
        assertSame(p.imp(), p.cb().lookup(p.imp().handle()));
        p.imp().release();
        assertCounts(p.imp(), 1, 0, 0, 0, "new import");
        assertCounts(p.e(), 2, 0, 0, 0, "exporter: its handle and the DmaBuf");
        assertFalse(p.owned().isMapped(), "nothing mapped until the import uses its pages");
        assertEquals(Residency.UNPOPULATED, p.imp().residency());
    }

    @Test
    void importingTwiceGivesTheSameObject(Fixture f) {
        Pair p = pair(f);
        assertSame(p.imp(), p.cb().importBuffer(p.buf()));
        assertEquals(1, p.imp().refCount(), "no further reference");
        assertEquals(1, p.buf().attachments().size(), "no further attachment");
        Client other = f.client(p.b(), "second importer");
        BufferObject imp2 = other.importBuffer(p.buf());
        assertNotSame(p.imp(), imp2, "another client gets its own import");
        assertEquals(2, p.buf().attachments().size());
        p.imp().close();
        BufferObject again = p.cb().importBuffer(p.buf());
        assertNotSame(p.imp(), again, "after its handle closed, a new import");
        assertTrue(again.isImported());
    }

    @Test
    void zeroCopyBothWays(Fixture f) {
        Pair p = pair(f);
        byte[] c1 = Fixture.writePattern(p.e(), 10);
        Fixture.assertContent(c1, p.imp(), "exporter's write read through the import");
        byte[] c2 = Fixture.writePattern(p.imp(), 11);
        Fixture.assertContent(c2, p.e(), "import's write read through the exporter");

        try (Vmap v = p.imp().vmap()) {
            MemorySegment s = v.segment();
            assertEquals(SIZE, s.byteSize());
            Fixture.assertBytes(c2, Fixture.bytesOf(s), "the import's vmap shows the exporter's pages");
            s.set(ValueLayout.JAVA_BYTE, 5, (byte) 99);
            assertEquals(99, Fixture.contentOf(p.e(), 5, 1)[0], "a write through the import's view is the exporter's");
            try (Vmap ev = p.e().vmap()) {
                ev.segment().set(ValueLayout.JAVA_BYTE, 6, (byte) 98);
                assertEquals(98, s.get(ValueLayout.JAVA_BYTE, 6), "one set of pages");
                assertEquals(s.address(), ev.segment().address(), "the same mapping: zero copy");
            }
        }
        assertEquals(p.b().capacity(), p.b().stats().free(), "no frame of the importer's manager used");
    }

    @Test
    void pagesPinsAndVmapsOfTheImportGoToTheExporter(Fixture f) {
        Pair p = pair(f);
        Fixture.fill(p.e(), (byte) 4);
        Attachment owned = p.owned();

        p.imp().getPages();
        assertCounts(p.imp(), 1, 1, 0, 0, "import after getPages");
        assertCounts(p.e(), 2, 1, 0, 0, "exporter: the attachment's page use");
        assertTrue(owned.isMapped());
        p.imp().getPages();
        assertCounts(p.e(), 2, 1, 0, 0, "a second page use of the import takes nothing more");

        p.imp().pin();
        assertCounts(p.imp(), 1, 3, 1, 0, "import pinned: its pins hold one more use");
        assertCounts(p.e(), 2, 2, 1, 0, "exporter pinned once, with the pins' use");
        p.imp().pin();
        assertEquals(1, p.e().pinCount());

        Vmap v = p.imp().vmap();
        assertCounts(p.imp(), 1, 3, 3, 1, "import vmapped: its views hold one more pin");
        assertEquals(1, p.e().vmapCount(), "the exporter is vmapped once for the import's views");
        Vmap v2 = p.imp().vmap();
        assertEquals(1, p.e().vmapCount());
        assertEquals(2, p.imp().vmapCount());
        v.close();
        v2.close();
        assertEquals(0, p.e().vmapCount());

        p.imp().unpin();
        p.imp().unpin();
        assertCounts(p.e(), 2, 1, 0, 0, "pins gone, the attachment's use stays");
        p.imp().putPages();
        p.imp().putPages();
        assertCounts(p.imp(), 1, 0, 0, 0, "import at rest");
        assertCounts(p.e(), 2, 0, 0, 0, "exporter at rest");
        assertFalse(owned.isMapped(), "the last page use unmaps the attachment");
        assertThrows(IllegalStateException.class, p.imp()::putPages, "unbalanced");
        assertThrows(IllegalStateException.class, p.imp()::unpin, "unbalanced");
        assertCounts(p.e(), 2, 0, 0, 0, "nothing changed");
    }

    @Test
    void framesCountInTheExportersManagerOnly(Fixture f) {
        Pair p = pair(f);
        p.imp().write(0, Fixture.filled(SIZE, (byte) 1));
        p.imp().pin();
        try (Vmap v = p.imp().vmap()) {
            assertEquals(1, v.segment().get(ValueLayout.JAVA_BYTE, 0));
            MemoryStats sa = p.a().stats();
            MemoryStats sb = p.b().stats();
            assertEquals(SIZE, sa.resident());
            assertEquals(SIZE, sa.pinned());
            assertEquals(p.a().capacity() - SIZE, sa.free());
            assertEquals(new MemoryStats(p.b().capacity(), p.b().capacity(), 0, 0, 0, 0, sb.swapCapacity(), 0, 0, 0, 0, 0, 0),
                    sb, "the importer's manager holds nothing");
            ClientStats cb = p.cb().stats();
            assertEquals(new ClientStats(SIZE, SIZE, 0, 0, 0, 0), cb, "importer: total and shared, no frames");
            assertEquals(SIZE, p.ca().stats().resident());
        }
        p.imp().unpin();
        assertEquals(SIZE, p.a().reclaim(Long.MAX_VALUE));
        assertEquals(new ClientStats(SIZE, SIZE, 0, 0, 0, 0), p.cb().stats(), "evicted bytes are the exporter's");
        assertEquals(SIZE, p.ca().stats().evicted());
        assertEquals(0, p.b().stats().swapUsed());
    }

    @Test
    void evictionOnTheExportersSideThenAccessThroughTheImportSwapsIn(Fixture f) {
        Pair p = pair(f);
        byte[] content = Fixture.writePattern(p.e(), 12);
        Attachment owned = p.owned();

        p.imp().getPages();
        assertTrue(owned.isMapped());
        assertEquals(SIZE, p.a().reclaim(Long.MAX_VALUE), "a dynamic mapping does not keep eviction away");
        assertEquals(Residency.EVICTED, p.e().residency());
        assertEquals(Residency.EVICTED, p.imp().residency());
        assertFalse(owned.isMapped(), "the eviction unmapped the import's attachment");
        assertCounts(p.e(), 2, 0, 0, 0, "the attachment's page use went with it");
        assertCounts(p.imp(), 1, 1, 0, 0, "the import's own use stays");

        Fixture.assertContent(content, p.imp(), "read through the import swaps in");
        assertEquals(Residency.RESIDENT, p.e().residency());

        assertEquals(SIZE, p.a().reclaim(Long.MAX_VALUE));
        p.imp().getPages(); // a further page use must bring the pages back, as for any object
        assertEquals(Residency.RESIDENT, p.e().residency(), "getPages through the import swaps in");
        assertTrue(owned.isMapped());
        assertCounts(p.e(), 2, 1, 0, 0, "mapped once again");
        p.imp().putPages();
        p.imp().putPages();
        assertFalse(owned.isMapped());
        assertCounts(p.e(), 2, 0, 0, 0, "balanced");

        assertEquals(SIZE, p.a().reclaim(Long.MAX_VALUE));
        p.imp().write(0, Fixture.filled(1, (byte) -1));
        content[0] = -1;
        assertEquals(Residency.RESIDENT, p.e().residency(), "write through the import swaps in");

        assertEquals(SIZE, p.a().reclaim(Long.MAX_VALUE));
        p.imp().pin();
        assertEquals(Residency.RESIDENT, p.e().residency(), "pin through the import swaps in");
        p.imp().unpin();

        assertEquals(SIZE, p.a().reclaim(Long.MAX_VALUE));
        try (Vmap v = p.imp().vmap()) {
            assertEquals(Residency.RESIDENT, p.e().residency(), "vmap through the import swaps in");
            Fixture.assertBytes(content, Fixture.bytesOf(v.segment()), "the view after swap-in");
        }
        Fixture.assertContent(content, p.e(), "content survived every round trip");
        assertCounts(p.e(), 2, 0, 0, 0, "exporter at rest at the end");
        assertEquals(5, p.a().stats().swapIns(), "read, getPages, write, pin and vmap each swapped in once");
    }

    @Test
    void aPinnedOrVmappedImportKeepsTheExporterFromBeingEvicted(Fixture f) {
        Pair p = pair(f);
        Fixture.fill(p.e(), (byte) 5);
        p.imp().pin();
        assertEquals(0, p.a().reclaim(Long.MAX_VALUE));
        assertEquals(Residency.RESIDENT, p.e().residency());
        p.imp().unpin();
        try (Vmap v = p.imp().vmap()) {
            assertEquals(0, p.a().reclaim(Long.MAX_VALUE));
            assertEquals(5, v.segment().get(ValueLayout.JAVA_BYTE, SIZE - 1));
        }
        assertEquals(SIZE, p.a().reclaim(Long.MAX_VALUE), "evictable once the import lets go");
        assertEquals(0, p.b().reclaim(Long.MAX_VALUE), "the importer's manager has nothing to reclaim");
    }

    @Test
    void residencyThroughTheImportIsTheExportersInEveryState(Fixture f) {
        Pair p = pair(f);
        assertEquals(Residency.UNPOPULATED, p.imp().residency());
        Fixture.assertAllBytes((byte) 0, Fixture.contentOf(p.imp()), "unpopulated reads zeros");
        assertEquals(Residency.UNPOPULATED, p.e().residency(), "a read through the import populates nothing");
        Fixture.fill(p.e(), (byte) 2);
        assertEquals(Residency.RESIDENT, p.imp().residency());
        p.a().reclaim(Long.MAX_VALUE);
        assertEquals(Residency.EVICTED, p.imp().residency());
        assertTrue(p.e().madvise(Madvise.DONTNEED));
        p.a().reclaim(Long.MAX_VALUE);
        assertEquals(Residency.PURGED, p.e().residency());
        assertEquals(Residency.PURGED, p.imp().residency());
    }

    @Test
    void aPurgedExportersContentIsGoneThroughTheImport(Fixture f) {
        Pair p = pair(f);
        Fixture.fill(p.e(), (byte) 2);
        assertTrue(p.e().madvise(Madvise.DONTNEED));
        assertEquals(SIZE, p.a().reclaim(Long.MAX_VALUE));
        MemorySegment one = Fixture.filled(1, (byte) 0);
        assertThrows(PurgedException.class, () -> p.imp().read(0, one));
        assertThrows(PurgedException.class, () -> p.imp().write(0, one));
        assertThrows(PurgedException.class, p.imp()::getPages);
        assertThrows(PurgedException.class, p.imp()::pin);
        assertThrows(PurgedException.class, p.imp()::vmap);
        assertFalse(p.imp().madvise(Madvise.WILLNEED), "not retained");
        assertCounts(p.imp(), 1, 0, 0, 0, "nothing changed on the import");
        assertCounts(p.e(), 2, 0, 0, 0, "nor on the exporter");
        assertFalse(p.owned().isMapped());
    }

    @Test
    void madviseThroughTheImport(Fixture f) {
        Pair p = pair(f);
        Fixture.fill(p.e(), (byte) 2);
        assertTrue(p.imp().madvise(Madvise.WILLNEED));
        assertThrows(IllegalStateException.class, () -> p.imp().madvise(Madvise.DONTNEED),
                "the exporter decides whether its content may go");
        assertEquals(0, p.a().stats().purgeable(), "nothing became purgeable");
        assertTrue(p.e().madvise(Madvise.WILLNEED), "the exporter is as it was");
    }

    @Test
    void theImportingClientsCloseFreesTheImportAndDetaches(Fixture f) {
        Pair p = pair(f);
        p.imp().getPages();
        p.imp().putPages();
        p.cb().close();
        drainDeferred();
        assertEquals(0, p.imp().refCount());
        assertEquals(List.of(), p.buf().attachments());
        assertCounts(p.e(), 2, 0, 0, 0, "the exporter as before the import");
        assertThrows(IllegalStateException.class, () -> p.imp().read(0, Fixture.filled(1, (byte) 0)));
    }

    @Test
    void anImportOutlivesItsHandleWhileRetained(Fixture f) {
        Pair p = pair(f);
        byte[] content = Fixture.writePattern(p.e(), 13);
        BufferObject kept = p.imp().retain();
        p.imp().close();
        assertEquals(1, p.buf().attachments().size(), "still attached");
        Fixture.assertContent(content, kept, "through the retained import");
        kept.release();
        drainDeferred();
        assertEquals(List.of(), p.buf().attachments());
    }

    @Test
    void sizesAgreeAcrossPageSizes(Fixture f) {
        MemoryManager a = f.manager();
        MemoryManager big = f.build(MemoryManager.builder().capacity(Fixture.MiB).pageSize(4 * Fixture.PAGE)
                .backgroundReclaim(false));
        Client ca = f.client(a, "a");
        Client cb = f.client(big, "b");
        BufferObject e = ca.create(pages(8));
        byte[] content = Fixture.writePattern(e, 14);
        BufferObject imp = cb.importBuffer(e.export());
        assertEquals(e.size(), imp.size(), "an import has its exporter's size");
        Fixture.assertContent(content, imp, "all of it, through the import");
        assertThrows(IndexOutOfBoundsException.class, () -> imp.read(e.size(), Fixture.filled(1, (byte) 0)));
        assertEquals(e.size(), cb.stats().total());

        BufferObject odd = ca.create(pages(3)); // not a whole number of the importer's pages
        DmaBuf oddBuf = odd.export();
        int refs = odd.refCount();
        assertThrows(IllegalArgumentException.class, () -> cb.importBuffer(oddBuf));
        assertEquals(refs, odd.refCount(), "nothing taken");
        assertEquals(List.of(), oddBuf.attachments(), "nothing attached");
    }
}
