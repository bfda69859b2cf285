package dev.memmgr;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(MemmgrExtension.class)
class DmaBufSmokeTest {
    private static final int P = 4096;

    @Test
    void exportImportAttachEvict(Fixture f) {
        MemoryManager a = f.manager(1 << 20);
        MemoryManager b = f.manager(1 << 20);
        Client ca = f.client(a, "decoder");
        Client ca2 = f.client(a, "compositor");
        Client cb = f.client(b, "capture");
        BufferObject frame = ca.create(4 * P);
        frame.write(0, Fixture.filled(4 * P, (byte) 5));
        DmaBuf buf = frame.export();
        assertSame(buf, frame.export());
        assertEquals(2, frame.refCount());

        BufferObject same = ca2.importBuffer(buf);
        assertSame(frame, same);
        assertEquals(3, frame.refCount());
        assertSame(same, ca2.importBuffer(buf));
        assertEquals(3, frame.refCount());
        assertTrue(ca2.stats().shared() > 0);

        BufferObject imp = cb.importBuffer(buf);
        assertTrue(imp.isImported());
        assertEquals(1, buf.attachments().size(), "the import owns an attachment");
        byte[] got = new byte[P];
        imp.read(P, MemorySegment.ofArray(got));
        assertEquals(5, got[0]);
        imp.write(0, Fixture.filled(8, (byte) 9));
        byte[] first = new byte[8];
        frame.read(0, MemorySegment.ofArray(first));
        assertEquals(9, first[0]);
        assertEquals(b.capacity(), b.stats().free(), "the importer's manager holds no frames");

        List<String> told = new ArrayList<>();
        Attachment dyn = buf.attach("dyn", att -> told.add(att.importer()));
        buf.resv().lock();
        MemorySegment view;
        try {
            view = dyn.map();
            assertSame(view, dyn.map());
            assertEquals(9, view.get(ValueLayout.JAVA_BYTE, 0));
        } finally {
            buf.resv().unlock();
        }
        assertEquals(4L * P, a.reclaim(4 * P), "a dynamic mapping does not keep reclaim away");
        assertEquals(List.of("dyn"), told);
        assertFalse(dyn.isMapped());
        assertThrows(IllegalStateException.class, () -> view.get(ValueLayout.JAVA_BYTE, 0));
        assertThrows(IllegalStateException.class, dyn::map, "without the lock");

        Attachment stat = buf.attach("static");
        buf.resv().lock();
        try {
            assertEquals(9, stat.map().get(ValueLayout.JAVA_BYTE, 0));
            assertEquals(1, frame.pinCount());
        } finally {
            buf.resv().unlock();
        }
        assertEquals(0, a.reclaim(4 * P), "a static mapping pins");
        stat.close();
        assertEquals(0, frame.pinCount());
        dyn.close();
        buf.close();
        frame.close();
        ca2.closeHandle(ca2.handleOf(frame));
        assertEquals(1, frame.refCount(), "the import's attachment keeps it alive");
        imp.close();
        assertTrue(dev.memmgr.internal.dmabuf.Deferred.drain(10_000));
        assertEquals(0, frame.refCount());
        assertEquals(a.capacity(), a.stats().free());
    }
}
