package dev.memmgr;

import static dev.memmgr.Fixture.pages;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Import into a client of the exporter's own manager (DESIGN 4.4): the exporter object itself,
 * with a new handle in the importing client holding one reference; importing again into that
 * client returns the same object and takes nothing (nor does importing into the owner's client);
 * {@code handleOf} gives that handle and {@code lookup} finds the object by it;
 * {@code closeHandle} drops exactly its reference, once; the importing client's close drops it;
 * the object outlives its owner's handle and the DmaBuf through the imported handle. Bad
 * arguments and closed clients are refused.
 */
@ExtendWith(MemmgrExtension.class)
class ImportSameManagerTest {
    private static final long SIZE = pages(3);

    @Test
    void importGivesTheExporterWithANewHandleAndOneReference(Fixture f) {
        MemoryManager mm = f.manager();
        Client owner = f.client(mm, "owner");
        Client other = f.client(mm, "other");
        BufferObject e = owner.create(SIZE);
        byte[] content = Fixture.writePattern(e, 3);
        DmaBuf buf = e.export();
        assertEquals(2, e.refCount());

        BufferObject got = other.importBuffer(buf);
        assertSame(e, got, "the exporter itself");
        assertFalse(got.isImported(), "not an import from another manager");
        assertEquals(3, e.refCount(), "one reference for the new handle");
        int h = other.handleOf(e);
        assertEquals(e.handle(), owner.handleOf(e), "the owner's handle");
        BufferObject looked = other.lookup(h);
        assertSame(e, looked);
        assertEquals(4, e.refCount());
        looked.release();
        Fixture.assertContent(content, got, "same pages");

        assertSame(e, other.importBuffer(buf));
        assertEquals(3, e.refCount(), "importing again takes nothing");
        assertEquals(h, other.handleOf(e), "and gives the same handle");
        assertSame(e, owner.importBuffer(buf));
        assertEquals(3, e.refCount(), "importing into the owner's client takes nothing");
        assertEquals(e.handle(), owner.handleOf(e));
    }

    @Test
    void closeHandleDropsExactlyThatReference(Fixture f) {
        MemoryManager mm = f.manager();
        Client owner = f.client(mm, "owner");
        Client other = f.client(mm, "other");
        BufferObject e = owner.create(SIZE);
        DmaBuf buf = e.export();
        other.importBuffer(buf);
        int h = other.handleOf(e);
        other.closeHandle(h);
        assertEquals(2, e.refCount());
        assertThrows(NoSuchHandleException.class, () -> other.handleOf(e));
        assertThrows(NoSuchHandleException.class, () -> other.closeHandle(h), "closed once only");
        assertThrows(NoSuchHandleException.class, () -> other.lookup(h));
        assertEquals(2, e.refCount(), "nothing more dropped");

        assertSame(e, other.importBuffer(buf), "importing after closing gives a new handle");
        assertEquals(3, e.refCount());
        int h2 = other.handleOf(e);
        assertSame(e, other.lookup(h2));
        e.release();
        assertEquals(3, e.refCount());
    }

    @Test
    void closeHandleOfTheOwnersHandleClosesIt(Fixture f) {
        MemoryManager mm = f.manager();
        Client owner = f.client(mm, "owner");
        BufferObject e = owner.create(SIZE);
        BufferObject keep = e.retain();
        owner.closeHandle(e.handle());
        assertEquals(1, keep.refCount(), "as close(): the handle's reference went");
        assertThrows(NoSuchHandleException.class, () -> owner.handleOf(e));
        e.close(); // idempotent: the handle is closed already
        assertEquals(1, keep.refCount());
        keep.release();
        assertEquals(0, e.refCount());
    }

    @Test
    void theImportingClientsCloseDropsItsHandle(Fixture f) {
        MemoryManager mm = f.manager();
        Client owner = f.client(mm, "owner");
        Client other = f.client(mm, "other");
        BufferObject e = owner.create(SIZE);
        DmaBuf buf = e.export();
        other.importBuffer(buf);
        assertEquals(3, e.refCount());
        other.close();
        assertEquals(2, e.refCount(), "the imported handle's reference went with its client");
        assertThrows(IllegalStateException.class, () -> other.handleOf(e));
        assertThrows(IllegalStateException.class, () -> other.importBuffer(buf));
        assertEquals(2, e.refCount());
        Fixture.fill(e, (byte) 1); // still usable through its own handle
    }

    @Test
    void theObjectOutlivesItsOwnersHandleThroughAnImportedOne(Fixture f) {
        MemoryManager mm = f.manager();
        Client owner = f.client(mm, "owner");
        Client other = f.client(mm, "other");
        BufferObject e = owner.create(SIZE);
        byte[] content = Fixture.writePattern(e, 4);
        DmaBuf buf = e.export();
        other.importBuffer(buf);
        int h = other.handleOf(e);
        e.close();
        buf.close();
        owner.close();
        assertEquals(1, e.refCount(), "the imported handle's reference");
        BufferObject got = other.lookup(h);
        Fixture.assertContent(content, got, "through the imported handle");
        got.release();
        other.closeHandle(h);
        assertEquals(0, e.refCount(), "freed with its last handle");
        assertEquals(mm.capacity(), mm.stats().free());
    }

    @Test
    void handlesInThreeClients(Fixture f) {
        MemoryManager mm = f.manager();
        Client c0 = f.client(mm, "c0");
        Client c1 = f.client(mm, "c1");
        Client c2 = f.client(mm, "c2");
        BufferObject e = c0.create(SIZE);
        DmaBuf buf = e.export();
        c1.importBuffer(buf);
        c2.importBuffer(buf);
        assertEquals(4, e.refCount());
        buf.close();
        e.close();
        c1.close();
        assertEquals(1, e.refCount());
        c2.closeHandle(c2.handleOf(e));
        assertEquals(0, e.refCount());
        assertEquals(mm.capacity(), mm.stats().free());
    }

    @Test
    void importedHandlesDoNotCollideWithTheClientsOwn(Fixture f) {
        MemoryManager mm = f.manager();
        Client owner = f.client(mm, "owner");
        Client other = f.client(mm, "other");
        BufferObject mine = other.create(SIZE);
        BufferObject e = owner.create(SIZE);
        other.importBuffer(e.export());
        int h = other.handleOf(e);
        assertNotEquals(mine.handle(), h);
        BufferObject later = other.create(SIZE);
        assertNotEquals(h, later.handle(), "new handles skip the imported one");
        assertSame(mine, other.lookup(mine.handle()));
        mine.release();
        assertEquals(List.of(mine.handle(), later.handle(), h),
                List.of(other.handleOf(mine), other.handleOf(later), other.handleOf(e)));
    }

    @Test
    void badArgumentsAndClosedClientsAreRefused(Fixture f) {
        MemoryManager mm = f.manager();
        Client owner = f.client(mm, "owner");
        Client other = f.client(mm, "other");
        BufferObject e = owner.create(SIZE);
        BufferObject notThere = owner.create(SIZE);
        assertThrows(NullPointerException.class, () -> other.importBuffer(null));
        assertThrows(NullPointerException.class, () -> other.handleOf(null));
        assertThrows(NoSuchHandleException.class, () -> other.handleOf(notThere));
        assertThrows(NoSuchHandleException.class, () -> other.closeHandle(12345));
        assertThrows(NoSuchHandleException.class, () -> other.closeHandle(0));
        assertThrows(NoSuchHandleException.class, () -> other.closeHandle(-1));
        DmaBuf buf = e.export();
        other.close();
        assertThrows(IllegalStateException.class, () -> other.importBuffer(buf));
        assertThrows(IllegalStateException.class, () -> other.closeHandle(e.handle()));
        assertEquals(2, e.refCount(), "nothing changed");
    }
}
