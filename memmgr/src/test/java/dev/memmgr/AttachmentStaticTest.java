package dev.memmgr;

import static dev.memmgr.DmaBufTestSupport.assertCounts;
import static dev.memmgr.DmaBufTestSupport.map;
import static dev.memmgr.DmaBufTestSupport.unmap;
import static dev.memmgr.Fixture.pages;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Static attachments (DESIGN 4.4): a mapping pins the exporter, exactly one pin per mapped
 * attachment; the exporter is never evicted or purged while one is mapped; {@code map()} of a
 * mapped attachment returns the same segment and takes nothing more; unmap drops the pin; the
 * segment is a zero-copy view of the exporter's pages (it populates an unpopulated exporter and
 * swaps in an evicted one); map of a DONTNEED exporter is refused (it would pin); detaching a
 * mapped attachment unmaps it.
 */
@ExtendWith(MemmgrExtension.class)
class AttachmentStaticTest {
    private static final long SIZE = pages(4);

    @Test
    void mapPinsExactlyOncePerMappedAttachment(Fixture f) {
        MemoryManager mm = f.manager();
        BufferObject e = f.client(mm, "a").create(SIZE);
        DmaBuf buf = e.export();
        Attachment s1 = buf.attach("s1");
        Attachment s2 = buf.attach("s2");
        MemorySegment seg = map(s1);
        assertTrue(s1.isMapped());
        assertCounts(e, 2, 1, 1, 0, "one static mapping");
        assertSame(seg, map(s1), "map of a mapped attachment: the same segment");
        assertCounts(e, 2, 1, 1, 0, "and nothing more taken");
        MemorySegment seg2 = map(s2);
        assertCounts(e, 2, 1, 2, 0, "one pin per mapped static attachment");
        assertEquals(seg.address(), seg2.address(), "both see the exporter's one mapping");
        assertEquals(SIZE, mm.stats().pinned());
        unmap(s1);
        assertFalse(s1.isMapped());
        assertCounts(e, 2, 1, 1, 0, "unmap drops its pin");
        unmap(s2);
        assertCounts(e, 2, 0, 0, 0, "all gone");
        assertEquals(0, mm.stats().pinned());
    }

    @Test
    void neverEvictedOrPurgedWhileMapped(Fixture f) {
        MemoryManager mm = f.manager();
        BufferObject e = f.client(mm, "a").create(SIZE);
        Fixture.fill(e, (byte) 8);
        DmaBuf buf = e.export();
        Attachment s = buf.attach("scanout");
        MemorySegment seg = map(s);
        assertEquals(0, mm.reclaim(Long.MAX_VALUE));
        assertEquals(Residency.RESIDENT, e.residency());
        assertThrows(IllegalStateException.class, () -> e.madvise(Madvise.DONTNEED), "pinned: may not be purgeable");
        assertEquals(8, seg.get(ValueLayout.JAVA_BYTE, SIZE - 1), "the view stays valid");
        unmap(s);
        assertEquals(SIZE, mm.reclaim(Long.MAX_VALUE), "evictable once unmapped");
        assertEquals(Residency.EVICTED, e.residency());
    }

    @Test
    void theSegmentIsTheExportersPages(Fixture f) {
        MemoryManager mm = f.manager();
        BufferObject e = f.client(mm, "a").create(SIZE);
        Attachment s = e.export().attach("s");
        MemorySegment seg = map(s);
        assertEquals(SIZE, seg.byteSize());
        assertEquals(Residency.RESIDENT, e.residency(), "map populates");
        Fixture.assertAllBytes((byte) 0, Fixture.bytesOf(seg), "new pages read as zero");
        seg.set(ValueLayout.JAVA_BYTE, 3, (byte) 33);
        assertEquals(33, Fixture.contentOf(e, 3, 1)[0], "a write through the view is the exporter's content");
        e.write(pages(2), Fixture.filled(1, (byte) 44));
        assertEquals(44, seg.get(ValueLayout.JAVA_BYTE, pages(2)), "and back");
        try (Vmap v = e.vmap()) {
            assertEquals(seg.address(), v.segment().address(), "shared with the exporter's vmaps");
        }
        assertEquals(33, seg.get(ValueLayout.JAVA_BYTE, 3), "still mapped after the exporter's view closed");
        unmap(s);
    }

    @Test
    void mapSwapsInAnEvictedExporter(Fixture f) {
        MemoryManager mm = f.manager();
        BufferObject e = f.client(mm, "a").create(SIZE);
        byte[] content = Fixture.writePattern(e, 20);
        Attachment s = e.export().attach("s");
        assertEquals(SIZE, mm.reclaim(Long.MAX_VALUE));
        MemorySegment seg = map(s);
        assertEquals(Residency.RESIDENT, e.residency());
        Fixture.assertBytes(content, Fixture.bytesOf(seg), "swapped in");
        assertEquals(1, mm.stats().swapIns());
        unmap(s);
    }

    @Test
    void mapOfADontNeedExporterIsRefused(Fixture f) {
        MemoryManager mm = f.manager();
        BufferObject e = f.client(mm, "a").create(SIZE);
        Fixture.fill(e, (byte) 1);
        assertTrue(e.madvise(Madvise.DONTNEED));
        Attachment s = e.export().attach("s");
        Reservation r = s.dmaBuf().resv();
        r.lock();
        try {
            assertThrows(IllegalStateException.class, s::map, "a static map pins, and a DONTNEED object may not be pinned");
        } finally {
            r.unlock();
        }
        assertFalse(s.isMapped());
        assertCounts(e, 2, 0, 0, 0, "nothing changed");
        assertTrue(e.madvise(Madvise.WILLNEED));
        map(s);
        assertEquals(1, e.pinCount());
        s.close();
        assertEquals(0, e.pinCount());
    }

    @Test
    void detachingAMappedAttachmentUnmapsIt(Fixture f) {
        MemoryManager mm = f.manager();
        BufferObject e = f.client(mm, "a").create(SIZE);
        DmaBuf buf = e.export();
        Attachment s = buf.attach("s");
        MemorySegment seg = map(s);
        s.close();
        assertFalse(s.isMapped());
        assertCounts(e, 2, 0, 0, 0, "the pin went with the detach");
        s.close();
        assertCounts(e, 2, 0, 0, 0, "idempotent");
        assertEquals(0, seg.get(ValueLayout.JAVA_BYTE, 0), "the exporter's cached mapping may stay");
        assertEquals(SIZE, mm.reclaim(Long.MAX_VALUE));
        assertThrows(IllegalStateException.class, () -> seg.get(ValueLayout.JAVA_BYTE, 0),
                "torn down once the frames went");
    }

    @Test
    void closingTheManagerUnderAMappedAttachmentLeavesItsAddressesHarmlessForNativeCode(Fixture f) {
        MemoryManager mm = f.manager();
        BufferObject e = f.client(mm, "a").create(SIZE);
        Fixture.fill(e, (byte) 7);
        DmaBuf buf = e.export();
        Attachment driver = buf.attach("driver");
        MemorySegment seg = map(driver);
        // what a driver that imported the pages holds: the address, without the segment's arena
        MemorySegment raw = MemorySegment.ofAddress(seg.address()).reinterpret(seg.byteSize());
        assertEquals(7, raw.get(ValueLayout.JAVA_BYTE, 0));
        mm.close();
        assertThrows(IllegalStateException.class, () -> seg.get(ValueLayout.JAVA_BYTE, 0),
                "Java access through the attachment's segment");
        for (long off = 0; off < SIZE; off += Fixture.PAGE) {
            assertEquals(0, raw.get(ValueLayout.JAVA_BYTE, off), "the old range reads zeros (no fault) at " + off);
        }
        raw.set(ValueLayout.JAVA_BYTE, 1, (byte) 1); // and a write there reaches no frame of anybody
        driver.close();
        buf.close();
    }
}
