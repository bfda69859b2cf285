package dev.memmgr;

import static dev.memmgr.Fixture.fill;
import static dev.memmgr.Fixture.pages;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.ValueLayout;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The leak report of the contract: "Freeing an object (last reference gone) while pins, vmaps or
 * page uses are outstanding frees it anyway and reports the leak through System.Logger at
 * WARNING". One WARNING per leaked object, on logger {@code dev.memmgr}, naming the object and
 * its outstanding counts, whichever way the last reference goes (handle closed, reference
 * released, client closed); none when every count was balanced; none when the whole manager
 * closes (it goes, with everything in it).
 */
@ExtendWith(MemmgrExtension.class)
class LeakWarningTest {
    private Fixture fx;
    private MemoryManager mm;
    private Client client;

    @BeforeEach
    void setUp(Fixture fx) {
        this.fx = fx;
        mm = fx.manager();
        client = fx.client(mm, "leaky");
    }

    private BufferObject populated(int pages) {
        BufferObject bo = client.create(pages(pages));
        fill(bo, (byte) 7);
        return bo;
    }

    /** The one WARNING of the leak, on the library's logger, without an exception attached. */
    private void assertLeakReported(BufferObject bo, int pins, int vmaps, int uses) {
        LogRecord r = fx.expectLeakWarning(bo, pins, vmaps, uses);
        assertEquals(Level.WARNING, r.getLevel());
        assertEquals(LogCapture.LOGGER, r.getLoggerName());
        assertNull(r.getThrown(), "a leak is reported, not thrown");
        assertEquals(mm.capacity(), mm.stats().free(), "the leaked object's frames are freed anyway");
        assertEquals(0, mm.stats().pinned());
    }

    @Test
    void freedWithPinsOutstanding() {
        BufferObject bo = populated(2);
        bo.pin();
        bo.pin();
        bo.close();
        assertLeakReported(bo, 2, 0, 1);
    }

    @Test
    void freedWithAnOpenVmap() {
        BufferObject bo = populated(3);
        Vmap v = bo.vmap();
        bo.close();
        assertLeakReported(bo, 1, 1, 1);
        assertThrows(IllegalStateException.class, () -> v.segment().get(ValueLayout.JAVA_BYTE, 0),
                "the view of the leaked object is invalidated");
    }

    @Test
    void freedWithPageUsesOutstanding() {
        BufferObject bo = populated(1);
        bo.getPages();
        bo.getPages();
        bo.close();
        assertLeakReported(bo, 0, 0, 2);
    }

    @Test
    void freedByTheLastReleaseWithItsHandleClosedBefore() {
        BufferObject bo = populated(1);
        bo.retain();
        bo.pin();
        bo.close(); // the handle: the retained reference keeps it alive, no report yet
        fx.logs().assertNoWarnings("while a reference keeps the object alive");
        bo.release();
        assertLeakReported(bo, 1, 0, 1);
    }

    @Test
    void freedByClosingItsClient() {
        BufferObject pinned = populated(1);
        pinned.pin();
        BufferObject used = populated(1);
        used.getPages();
        BufferObject clean = populated(1);
        client.close();
        fx.expectLeakWarning(pinned, 1, 0, 1);
        fx.expectLeakWarning(used, 0, 0, 1);
        assertEquals(0, fx.logs().warnings("buffer object " + clean.handle() + " ").size(), "no report for a clean object");
    }

    @Test
    void notReportedWhenEveryCountWasBalanced() {
        BufferObject bo = populated(2);
        bo.getPages();
        bo.pin();
        Vmap v = bo.vmap();
        v.close();
        bo.unpin();
        bo.putPages();
        BufferObject never = client.create(pages(1));
        bo.close();
        never.close();
        assertEquals(mm.capacity(), mm.stats().free());
        fx.logs().assertNoWarnings("freeing objects with no count outstanding");
    }

    @Test
    void notReportedWhenTheManagerCloses() {
        BufferObject bo = populated(2);
        bo.pin();
        bo.getPages();
        Vmap v = bo.vmap();
        mm.close();
        fx.logs().assertNoWarnings("closing the manager");
        assertThrows(IllegalStateException.class, () -> v.segment().get(ValueLayout.JAVA_BYTE, 0));
    }
}
