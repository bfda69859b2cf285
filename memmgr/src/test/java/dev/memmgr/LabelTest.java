package dev.memmgr;

import static dev.memmgr.Fixture.PAGE;
import static dev.memmgr.Fixture.fill;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.logging.LogRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * BufferObject.label (DESIGN 4.6): "" by default; label(String) returns the object, refuses null
 * with NullPointerException; it acts, so it throws IllegalStateException once the object is freed
 * or the manager closed (section 3), changing nothing, while label() still answers. The label is
 * shown in toString and in the leak warning (dumps and events: DumpTest, JfrEventsTest).
 */
@ExtendWith(MemmgrExtension.class)
class LabelTest {
    @Test
    void defaultSetAndCleared(Fixture fx) {
        Client c = fx.client(fx.manager(), "labels");
        BufferObject bo = c.create(PAGE);
        assertEquals("", bo.label());
        assertSame(bo, bo.label("shadow map"));
        assertEquals("shadow map", bo.label());
        assertSame(bo, bo.label("shadow map 2").label(""));
        assertEquals("", bo.label());
        assertSame(bo, c.lookup(bo.handle()).label("via lookup"));
        assertEquals("via lookup", bo.label(), "one object, one label");
        bo.release();
    }

    @Test
    void nullIsRefusedAndChangesNothing(Fixture fx) {
        BufferObject bo = fx.client(fx.manager(), "labels").create(PAGE).label("kept");
        assertThrows(NullPointerException.class, () -> bo.label(null));
        assertEquals("kept", bo.label());
    }

    @Test
    void aFreedObjectRefusesANewLabelAndKeepsItsOld(Fixture fx) {
        BufferObject bo = fx.client(fx.manager(), "labels").create(PAGE).label("before");
        bo.close();
        assertThrows(IllegalStateException.class, () -> bo.label("after"));
        assertEquals("before", bo.label(), "label() answers after free");
        assertThrows(NullPointerException.class, () -> bo.label(null), "null is checked first");
    }

    @Test
    void aClosedManagerRefuses(Fixture fx) {
        MemoryManager mm = fx.manager();
        BufferObject bo = fx.client(mm, "labels").create(PAGE).label("before");
        bo.retain(); // alive, but its manager goes
        mm.close();
        assertThrows(IllegalStateException.class, () -> bo.label("after"));
        assertEquals("before", bo.label());
    }

    @Test
    void shownInToStringAndLeakWarnings(Fixture fx) {
        Client c = fx.client(fx.manager(), "renderer");
        BufferObject bo = c.create(4 * PAGE);
        assertEquals("BufferObject[handle " + bo.handle() + " of client 'renderer', 16 KiB, UNPOPULATED, refs 1, "
                + "page uses 0, pins 0, vmaps 0]", bo.toString());
        bo.label("atlas");
        fill(bo, (byte) 1);
        bo.pin();
        assertEquals("BufferObject[handle " + bo.handle() + " of client 'renderer', label 'atlas', 16 KiB, RESIDENT, "
                + "refs 1, page uses 1, pins 1, vmaps 0]", bo.toString());
        bo.close();
        LogRecord r = fx.expectLeakWarning(bo, 1, 0, 1);
        assertTrue(LogCapture.text(r).contains("labelled 'atlas'"), LogCapture.text(r));
        assertTrue(bo.toString().contains("label 'atlas', 16 KiB, freed, refs 0"), bo.toString());
    }
}
