package dev.memmgr;

import static dev.memmgr.DmaBufTestSupport.drainDeferred;
import static dev.memmgr.DmaBufTestSupport.map;
import static dev.memmgr.Fixture.pages;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Accounting of shared objects (DESIGN 4.4, drm-usage-stats): exported objects (while their
 * DmaBuf is open or still attached, also through a closed DmaBuf after a re-export), imported
 * objects, and objects with handles in two clients count as {@code shared} in ClientStats and as
 * {@code drm-shared-memory} in fdinfo, and stop counting when that ends; the importing manager's
 * MemoryStats and the import's client's resident and evicted figures never count the exporter's
 * frames or slots, which stay the exporter's.
 */
@ExtendWith(MemmgrExtension.class)
class SharingAccountingTest {
    private static final long SIZE = pages(4); // 16 KiB

    private static String line(Client c, String key) {
        for (String l : c.fdinfo().split("\n")) {
            if (l.startsWith("drm-" + key + "-memory:")) {
                return l;
            }
        }
        throw new AssertionError("no drm-" + key + "-memory in\n" + c.fdinfo());
    }

    @Test
    void anExportedObjectIsSharedWhileItsBufferLives(Fixture f) {
        MemoryManager mm = f.manager();
        Client c = f.client(mm, "a");
        BufferObject e = c.create(SIZE);
        c.create(pages(1)); // not shared
        assertEquals(0, c.stats().shared());
        assertEquals("drm-shared-memory:\t0 KiB", line(c, "shared"));
        DmaBuf buf = e.export();
        assertEquals(SIZE, c.stats().shared());
        assertEquals(SIZE + pages(1), c.stats().total());
        assertEquals("drm-shared-memory:\t16 KiB", line(c, "shared"));
        Attachment d = buf.attach("d", x -> { });
        buf.close();
        assertEquals(SIZE, c.stats().shared(), "still attached: still shared");
        d.close();
        assertEquals(0, c.stats().shared(), "nobody shares it any more");
        assertEquals("drm-shared-memory:\t0 KiB", line(c, "shared"));
    }

    @Test
    void aClosedBufferStillAttachedKeepsItSharedAfterAReExportCloses(Fixture f) {
        MemoryManager a = f.manager();
        MemoryManager b = f.manager();
        Client ca = f.client(a, "a");
        BufferObject e = ca.create(SIZE);
        DmaBuf first = e.export();
        BufferObject imp = f.client(b, "b").importBuffer(first);
        first.close();
        DmaBuf second = e.export();
        second.close();
        assertEquals(SIZE, ca.stats().shared(), "the import of the first buffer still shares it");
        imp.close();
        drainDeferred();
        assertEquals(0, ca.stats().shared());
    }

    @Test
    void anObjectWithHandlesInTwoClientsIsSharedInBoth(Fixture f) {
        MemoryManager mm = f.manager();
        Client owner = f.client(mm, "owner");
        Client other = f.client(mm, "other");
        BufferObject e = owner.create(SIZE);
        Fixture.fill(e, (byte) 1);
        DmaBuf buf = e.export();
        other.importBuffer(buf);
        buf.close();
        assertEquals(SIZE, owner.stats().shared(), "handles in two clients");
        assertEquals(new ClientStats(SIZE, SIZE, SIZE, 0, 0, 0), other.stats(), "the importer's handle counts there");
        assertEquals("drm-shared-memory:\t16 KiB", line(other, "shared"));
        assertEquals("drm-resident-memory:\t16 KiB", line(other, "resident"));
        other.closeHandle(other.handleOf(e));
        assertEquals(0, owner.stats().shared(), "one handle left");
        assertEquals(new ClientStats(0, 0, 0, 0, 0, 0), other.stats());
    }

    @Test
    void anImportIsSharedAndHoldsNoFramesOfItsManager(Fixture f) {
        MemoryManager a = f.manager();
        MemoryManager b = f.manager();
        Client ca = f.client(a, "a");
        Client cb = f.client(b, "b");
        BufferObject e = ca.create(SIZE);
        Fixture.fill(e, (byte) 1);
        DmaBuf buf = e.export();
        BufferObject imp = cb.importBuffer(buf);
        imp.pin();
        Attachment s = buf.attach("s");
        map(s);
        assertEquals(new ClientStats(SIZE, SIZE, 0, 0, 0, 0), cb.stats(), "importer: shared, nothing resident");
        assertEquals("drm-shared-memory:\t16 KiB", line(cb, "shared"));
        assertEquals("drm-total-memory:\t16 KiB", line(cb, "total"));
        assertEquals("drm-resident-memory:\t0 KiB", line(cb, "resident"));
        MemoryStats sb = b.stats();
        assertEquals(b.capacity(), sb.free());
        assertEquals(0, sb.resident());
        assertEquals(0, sb.pinned());
        assertEquals(new ClientStats(SIZE, SIZE, SIZE, 0, 0, 0), ca.stats(), "exporter: its frames");
        assertEquals(SIZE, a.stats().pinned());
        assertEquals(SIZE, a.stats().resident());
        s.close();
        imp.unpin();

        assertEquals(SIZE, a.reclaim(Long.MAX_VALUE));
        assertEquals(new ClientStats(SIZE, SIZE, 0, 0, 0, 0), cb.stats(), "the slots are the exporter's too");
        assertEquals(new ClientStats(SIZE, SIZE, 0, 0, 0, SIZE), ca.stats());
        assertEquals("drm-evicted-memory:\t0 KiB", line(cb, "evicted"));
        assertEquals(0, b.stats().swapUsed());
        assertEquals(SIZE, a.stats().swapUsed());
        imp.close();
        drainDeferred();
        buf.close();
        assertEquals(0, ca.stats().shared(), "not shared once the import and the buffer are gone");
    }

    @Test
    void aBusyImportIsActiveInItsClientAsTheExporterIsInItsOwn(Fixture f) {
        MemoryManager a = f.manager();
        MemoryManager b = f.manager();
        Client ca = f.client(a, "a");
        Client cb = f.client(b, "b");
        BufferObject e = ca.create(SIZE);
        BufferObject imp = cb.importBuffer(e.export());
        Fence fence = new Fence();
        imp.resv().addFence(fence, FenceUsage.WRITE);
        assertEquals(SIZE, cb.stats().active(), "one reservation: the import is busy with the exporter's fences");
        assertEquals(SIZE, ca.stats().active());
        assertTrue(fence.signal());
        assertEquals(0, cb.stats().active());
    }
}
