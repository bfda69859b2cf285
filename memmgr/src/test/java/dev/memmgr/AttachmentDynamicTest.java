package dev.memmgr;

import static dev.memmgr.DmaBufTestSupport.assertCounts;
import static dev.memmgr.DmaBufTestSupport.map;
import static dev.memmgr.DmaBufTestSupport.unmap;
import static dev.memmgr.Fixture.pages;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memmgr.DmaBufTestSupport.Notice;
import dev.memmgr.DmaBufTestSupport.Recorder;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Dynamic attachments (DESIGN 4.4): a mapping takes a page use and no pin; the exporter may be
 * evicted; before its frames go, {@code moveNotify} runs exactly once for each mapped dynamic
 * attachment and never for unmapped ones (nor static ones), in the evicting thread (explicit
 * reclaim or direct reclaim in an allocating thread), with the reservation held by it and the old
 * mapping still showing the content; then the attachment is unmapped, its page use dropped and
 * the old segment throws IllegalStateException; the next map swaps the buffer in. A listener may
 * call unmap or map (the attachment ends unmapped either way); purge notifies too, and a map after
 * it throws PurgedException; a listener that throws is reported at WARNING and the attachment is
 * unmapped all the same.
 */
@ExtendWith(MemmgrExtension.class)
class AttachmentDynamicTest {
    private static final long SIZE = pages(4);

    @Test
    void mapTakesAPageUseAndNoPin(Fixture f) {
        MemoryManager mm = f.manager();
        BufferObject e = f.client(mm, "a").create(SIZE);
        DmaBuf buf = e.export();
        Attachment d1 = buf.attach("d1", x -> { });
        Attachment d2 = buf.attach("d2", x -> { });
        MemorySegment seg = map(d1);
        assertCounts(e, 2, 1, 0, 0, "one dynamic mapping");
        assertSame(seg, map(d1));
        assertCounts(e, 2, 1, 0, 0, "map of a mapped attachment takes nothing more");
        map(d2);
        assertCounts(e, 2, 2, 0, 0, "one page use per mapped dynamic attachment");
        assertEquals(0, mm.stats().pinned());
        unmap(d1);
        unmap(d2);
        assertCounts(e, 2, 0, 0, 0, "balanced");
    }

    @Test
    void evictionTellsEachMappedDynamicAttachmentOnceAndUnmapsIt(Fixture f) {
        MemoryManager mm = f.manager();
        BufferObject e = f.client(mm, "a").create(SIZE);
        byte[] content = Fixture.writePattern(e, 30);
        DmaBuf buf = e.export();
        Recorder r1 = new Recorder();
        Recorder r2 = new Recorder();
        Recorder idle = new Recorder();
        Attachment d1 = buf.attach("d1", r1);
        Attachment d2 = buf.attach("d2", r2);
        Attachment unmapped = buf.attach("idle", idle);
        Attachment stat = buf.attach("static");
        MemorySegment s1 = map(d1);
        r1.oldSegment = s1;
        r2.oldSegment = map(d2);

        assertEquals(SIZE, mm.reclaim(Long.MAX_VALUE));
        assertEquals(Residency.EVICTED, e.residency());
        for (Recorder r : List.of(r1, r2)) {
            assertEquals(1, r.count(), "told exactly once");
            Notice n = r.notices().get(0);
            assertSame(Thread.currentThread(), n.thread(), "in the evicting thread");
            assertTrue(n.resvHeld(), "with the reservation held by it");
            assertTrue(n.mappedWhenTold(), "still mapped when told");
            assertNotNull(n.oldContent());
            Fixture.assertBytes(content, n.oldContent(), "the old mapping still shows the content");
        }
        assertSame(d1, r1.notices().get(0).attachment());
        assertSame(d2, r2.notices().get(0).attachment());
        assertEquals(0, idle.count(), "an unmapped attachment is not told");
        assertFalse(d1.isMapped());
        assertFalse(d2.isMapped());
        assertFalse(unmapped.isMapped());
        assertFalse(stat.isMapped());
        assertCounts(e, 2, 0, 0, 0, "the page uses went");
        assertThrows(IllegalStateException.class, () -> s1.get(ValueLayout.JAVA_BYTE, 0), "the old segment is dead");
        assertThrows(IllegalStateException.class, () -> unmap(d1), "nothing to unmap any more");

        assertEquals(0, mm.reclaim(Long.MAX_VALUE), "nothing left to evict");
        assertEquals(1, r1.count(), "not told again");

        MemorySegment again = map(d1);
        assertEquals(Residency.RESIDENT, e.residency(), "the next map swaps in");
        Fixture.assertBytes(content, Fixture.bytesOf(again), "content back");
        assertCounts(e, 2, 1, 0, 0, "mapped again");
        unmap(d1);
    }

    @Test
    void directReclaimInAnAllocatingThreadTellsTheListenerThere(Fixture f) {
        MemoryManager mm = f.manager(pages(8));
        Client c = f.client(mm, "a");
        BufferObject e = c.create(SIZE);
        Fixture.fill(e, (byte) 6);
        DmaBuf buf = e.export();
        Recorder r = new Recorder();
        Attachment d = buf.attach("d", r);
        r.oldSegment = map(d);
        BufferObject other = c.create(pages(8));
        Thread allocator = Fixture.inOtherThread(() -> {
            other.getPages(); // needs every frame: evicts e in this thread
            return Thread.currentThread();
        });
        assertEquals(1, r.count());
        assertSame(allocator, r.notices().get(0).thread(), "told in the allocating thread");
        assertTrue(r.notices().get(0).resvHeld());
        Fixture.assertAllBytes((byte) 6, r.notices().get(0).oldContent(), "old content");
        assertFalse(d.isMapped());
        assertEquals(Residency.EVICTED, e.residency());
        other.putPages();
    }

    @Test
    void aListenerMayUnmap(Fixture f) {
        MemoryManager mm = f.manager();
        BufferObject e = f.client(mm, "a").create(SIZE);
        Fixture.fill(e, (byte) 1);
        DmaBuf buf = e.export();
        List<Throwable> failures = new ArrayList<>();
        Recorder r = new Recorder(a -> {
            try {
                a.unmap();
            } catch (Throwable t) {
                failures.add(t);
            }
        });
        Attachment d = buf.attach("d", r);
        map(d);
        assertEquals(SIZE, mm.reclaim(Long.MAX_VALUE));
        assertEquals(List.of(), failures, "unmap inside the listener works");
        assertEquals(1, r.count());
        assertFalse(d.isMapped());
        assertCounts(e, 2, 0, 0, 0, "released once, not twice");
        assertEquals(Residency.EVICTED, e.residency());
    }

    @Test
    void aListenerMayDetach(Fixture f) {
        MemoryManager mm = f.manager();
        BufferObject e = f.client(mm, "a").create(SIZE);
        Fixture.fill(e, (byte) 1);
        DmaBuf buf = e.export();
        List<Throwable> failures = new ArrayList<>();
        Recorder r = new Recorder(a -> {
            try {
                a.close();
            } catch (Throwable t) {
                failures.add(t);
            }
        });
        Attachment d = buf.attach("d", r);
        map(d);
        assertEquals(SIZE, mm.reclaim(Long.MAX_VALUE));
        assertEquals(List.of(), failures, "close inside the listener works");
        assertEquals(1, r.count());
        assertFalse(d.isMapped());
        assertFalse(buf.attachments().contains(d), "detached");
        assertCounts(e, 2, 0, 0, 0, "the page use dropped once");
        assertEquals(Residency.EVICTED, e.residency());
        d.close(); // idempotent
        assertThrows(IllegalStateException.class, () -> map(d), "a detached attachment does not map");
    }

    @Test
    void aListenerThatDropsTheLastReferenceFreesTheObjectInsteadOfEvictingIt(Fixture f) {
        MemoryManager mm = f.manager();
        BufferObject e = f.client(mm, "a").create(SIZE);
        Fixture.fill(e, (byte) 1);
        DmaBuf buf = e.export();
        Recorder r = new Recorder(Attachment::close);
        Attachment d = buf.attach("d", r);
        map(d);
        buf.close();
        e.close(); // the attachment holds the last reference
        // the object dies in the listener: its frames go with it, not through swap, and
        // reclaim counts only what it evicted
        assertEquals(0, mm.reclaim(Long.MAX_VALUE));
        assertEquals(1, r.count());
        assertFalse(d.isMapped());
        MemoryStats stats = mm.stats();
        assertEquals(stats.capacity(), stats.free(), stats.toString());
        assertEquals(0, stats.resident(), stats.toString());
        assertEquals(0, stats.swapUsed(), stats.toString());
        assertEquals(0, stats.evictions(), stats.toString());
    }

    @Test
    void closeWithTheReservationHeldUnmapsAndDetaches(Fixture f) {
        MemoryManager mm = f.manager();
        BufferObject e = f.client(mm, "a").create(SIZE);
        Fixture.fill(e, (byte) 1);
        DmaBuf buf = e.export();
        Attachment d = buf.attach("d", x -> { });
        Attachment s = buf.attach("s");
        map(d);
        map(s);
        buf.resv().lock();
        try {
            d.close();
            s.close();
            assertFalse(d.isMapped());
            assertFalse(s.isMapped());
        } finally {
            buf.resv().unlock();
        }
        assertEquals(List.of(), buf.attachments());
        assertCounts(e, 2, 0, 0, 0, "page use and pin dropped");
    }

    @Test
    void aListenerMayMapAndStillEndsUnmapped(Fixture f) {
        MemoryManager mm = f.manager();
        BufferObject e = f.client(mm, "a").create(SIZE);
        Fixture.fill(e, (byte) 1);
        DmaBuf buf = e.export();
        AtomicReference<MemorySegment> inside = new AtomicReference<>();
        List<Throwable> failures = new ArrayList<>();
        Recorder r = new Recorder(a -> {
            try {
                inside.set(a.map());
            } catch (Throwable t) {
                failures.add(t);
            }
        });
        Attachment d = buf.attach("d", r);
        MemorySegment seg = map(d);
        assertEquals(SIZE, mm.reclaim(Long.MAX_VALUE));
        assertEquals(List.of(), failures);
        assertSame(seg, inside.get(), "a mapped attachment's map returns the same segment, also in the listener");
        assertFalse(d.isMapped(), "unmapped after the listener returned");
        assertCounts(e, 2, 0, 0, 0, "balanced");
        assertEquals(Residency.EVICTED, e.residency());
    }

    @Test
    void aListenerMayUnmapAndMapAgain(Fixture f) {
        MemoryManager mm = f.manager();
        BufferObject e = f.client(mm, "a").create(SIZE);
        Fixture.fill(e, (byte) 1);
        DmaBuf buf = e.export();
        List<Throwable> failures = new ArrayList<>();
        Recorder r = new Recorder(a -> {
            try {
                a.unmap();
                a.map();
                assertEquals(1, e.pagesUseCount(), "mapped again inside");
            } catch (Throwable t) {
                failures.add(t);
            }
        });
        Attachment d = buf.attach("d", r);
        map(d);
        assertEquals(SIZE, mm.reclaim(Long.MAX_VALUE));
        assertEquals(List.of(), failures);
        assertEquals(1, r.count());
        assertFalse(d.isMapped());
        assertCounts(e, 2, 0, 0, 0, "balanced");
        assertEquals(Residency.EVICTED, e.residency());
    }

    @Test
    void purgeNotifiesTooAndLaterMapsThrowPurged(Fixture f) {
        MemoryManager mm = f.manager();
        BufferObject e = f.client(mm, "a").create(SIZE);
        Fixture.fill(e, (byte) 9);
        DmaBuf buf = e.export();
        Recorder r = new Recorder();
        Attachment d = buf.attach("d", r);
        r.oldSegment = map(d);
        assertTrue(e.madvise(Madvise.DONTNEED), "a dynamic mapping does not pin: DONTNEED is allowed");
        assertEquals(SIZE, mm.reclaim(Long.MAX_VALUE));
        assertEquals(Residency.PURGED, e.residency());
        assertEquals(1, r.count(), "told before the purge");
        Fixture.assertAllBytes((byte) 9, r.notices().get(0).oldContent(), "content still readable when told");
        assertFalse(d.isMapped());
        Reservation resv = buf.resv();
        resv.lock();
        try {
            assertThrows(PurgedException.class, d::map);
        } finally {
            resv.unlock();
        }
        assertFalse(d.isMapped());
        assertCounts(e, 2, 0, 0, 0, "nothing changed");
    }

    @Test
    void aStaticMappingKeepsDynamicOnesFromBeingTold(Fixture f) {
        MemoryManager mm = f.manager();
        BufferObject e = f.client(mm, "a").create(SIZE);
        Fixture.fill(e, (byte) 1);
        DmaBuf buf = e.export();
        Recorder r = new Recorder();
        Attachment d = buf.attach("d", r);
        Attachment s = buf.attach("s");
        map(d);
        map(s);
        assertEquals(0, mm.reclaim(Long.MAX_VALUE), "pinned by the static mapping");
        assertEquals(0, r.count(), "no move, no notice");
        assertTrue(d.isMapped());
        unmap(s);
        assertEquals(SIZE, mm.reclaim(Long.MAX_VALUE));
        assertEquals(1, r.count());
    }

    @Test
    void aListenerThatThrowsIsReportedAndTheAttachmentStillUnmapped(Fixture f) {
        MemoryManager mm = f.manager();
        BufferObject e = f.client(mm, "a").create(SIZE);
        Fixture.fill(e, (byte) 1);
        DmaBuf buf = e.export();
        Attachment bad = buf.attach("bad importer", a -> {
            throw new IllegalStateException("importer bug");
        });
        Recorder r = new Recorder();
        Attachment good = buf.attach("good", r);
        map(bad);
        map(good);
        assertEquals(SIZE, mm.reclaim(Long.MAX_VALUE));
        f.logs().expectWarning("moveNotify", "bad importer");
        assertEquals(1, r.count(), "the others are told all the same");
        assertFalse(bad.isMapped());
        assertFalse(good.isMapped());
        assertCounts(e, 2, 0, 0, 0, "balanced");
        assertEquals(Residency.EVICTED, e.residency());
    }
}
