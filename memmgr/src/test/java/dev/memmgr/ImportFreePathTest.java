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

import dev.memmgr.internal.dmabuf.Deferred;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The free path of imported objects (seeds 000 and 004, DESIGN 4.4): freeing an import never
 * blocks on the exporter's reservation. With the reservation free or held by the freeing thread
 * the import is unmapped and detached at once; with it held by another thread (or from inside a
 * reclaim of another manager while some thread holds it) the free completes at once and the
 * deferred worker unmaps and detaches once the lock is released. Freeing an import from inside
 * the exporter's own eviction (a move listener) works inline. At the end of each case no
 * attachment or reference is left and every frame of the exporter's manager is back.
 */
@ExtendWith(MemmgrExtension.class)
class ImportFreePathTest {
    private static final long SIZE = pages(4);

    /** Holds {@code r} in another thread until {@link #release()}. */
    private static final class Holder implements AutoCloseable {
        private final CountDownLatch locked = new CountDownLatch(1);
        private final CountDownLatch go = new CountDownLatch(1);
        private final CompletableFuture<Void> thread;

        Holder(Reservation r) {
            thread = Fixture.startInOtherThread(() -> {
                r.lock();
                try {
                    locked.countDown();
                    Fixture.await(go, "the test lets the holder go");
                } finally {
                    r.unlock();
                }
            });
            Fixture.await(locked, "another thread holds the exporter's reservation");
        }

        void release() {
            go.countDown();
            Fixture.await(thread);
        }

        @Override
        public void close() {
            go.countDown();
        }
    }

    @Test
    void freeingAnImportWithTheLockFreeDetachesAtOnce(Fixture f) {
        MemoryManager a = f.manager();
        MemoryManager b = f.manager();
        BufferObject e = f.client(a, "a").create(SIZE);
        DmaBuf buf = e.export();
        BufferObject imp = f.client(b, "b").importBuffer(buf);
        imp.getPages();
        imp.putPages();
        long before = Deferred.submitted();
        imp.close();
        assertEquals(before, Deferred.submitted(), "nothing deferred");
        assertEquals(List.of(), buf.attachments());
        assertCounts(e, 2, 0, 0, 0, "exporter as before the import");
    }

    @Test
    void freeingAnImportWhileTheFreeingThreadHoldsTheLockDetachesAtOnce(Fixture f) {
        MemoryManager a = f.manager();
        MemoryManager b = f.manager();
        BufferObject e = f.client(a, "a").create(SIZE);
        DmaBuf buf = e.export();
        BufferObject imp = f.client(b, "b").importBuffer(buf);
        long before = Deferred.submitted();
        buf.resv().lock();
        try {
            imp.close();
            assertEquals(List.of(), buf.attachments(), "detached inside the caller's lock");
        } finally {
            buf.resv().unlock();
        }
        assertEquals(before, Deferred.submitted());
    }

    @Test
    void freeingAnImportWhileAnotherThreadHoldsTheLockCompletesAndDefers(Fixture f) {
        MemoryManager a = f.manager();
        MemoryManager b = f.manager();
        BufferObject e = f.client(a, "a").create(SIZE);
        Fixture.fill(e, (byte) 1);
        DmaBuf buf = e.export();
        BufferObject imp = f.client(b, "b").importBuffer(buf);
        imp.getPages(); // the import's attachment is mapped: its page use is leaked by the free below
        assertCounts(e, 2, 1, 0, 0, "mapped for the import");
        long before = Deferred.submitted();
        try (Holder h = new Holder(buf.resv())) {
            Fixture.inOtherThread(imp::close); // bounded: fails the test if the free blocks
            f.expectLeakWarning(imp, 0, 0, 1);
            assertEquals(0, imp.refCount(), "the import is freed");
            assertTrue(Deferred.submitted() > before, "the exporter's side was handed to the worker");
            assertEquals(1, buf.attachments().size(), "not detached while the lock is held elsewhere");
            assertEquals(1, e.pagesUseCount(), "nor unmapped");
            h.release();
        }
        drainDeferred();
        assertEquals(List.of(), buf.attachments(), "detached once the lock was free");
        assertCounts(e, 2, 0, 0, 0, "unmapped: no page use left");
        assertEquals(b.capacity(), b.stats().free());
        e.close();
        buf.close();
        assertEquals(0, e.refCount());
        assertEquals(a.capacity(), a.stats().free(), "the exporter's frames are all back");
    }

    @Test
    void freeingAPinnedAndVmappedImportUndoesItsPinAndVmapOnTheExporter(Fixture f) {
        MemoryManager a = f.manager();
        MemoryManager b = f.manager();
        BufferObject e = f.client(a, "a").create(SIZE);
        DmaBuf buf = e.export();
        BufferObject imp = f.client(b, "b").importBuffer(buf);
        imp.pin();
        imp.vmap();
        assertEquals(2, e.pinCount());
        assertEquals(1, e.vmapCount());
        try (Holder h = new Holder(buf.resv())) {
            Fixture.inOtherThread(imp::close);
            f.expectLeakWarning(imp, 2, 1, 1);
            assertEquals(2, e.pinCount(), "still held while the lock is elsewhere");
            h.release();
        }
        drainDeferred();
        assertCounts(e, 2, 0, 0, 0, "pin, vmap and mapping undone by the worker");
        assertEquals(List.of(), buf.attachments());
        assertEquals(SIZE, a.reclaim(Long.MAX_VALUE), "evictable again");
    }

    @Test
    void freeingAnImportFromInsideReclaimOfAnotherManagerNeverBlocks(Fixture f) {
        // seed 004: the free runs where reclaim holds another object's reservation, while a
        // third thread holds the exporter's: it may only try-lock and must hand the rest over
        MemoryManager a = f.manager();
        MemoryManager b = f.manager();
        MemoryManager c = f.manager();
        BufferObject e = f.client(a, "a").create(SIZE);
        Fixture.fill(e, (byte) 1);
        DmaBuf buf = e.export();
        BufferObject imp = f.client(b, "b").importBuffer(buf);
        BufferObject x = f.client(c, "c").create(SIZE);
        Fixture.fill(x, (byte) 2);
        DmaBuf xbuf = x.export();
        List<Boolean> heldInListener = new ArrayList<>();
        Attachment trigger = xbuf.attach("closes the import", att -> {
            heldInListener.add(att.dmaBuf().resv().isHeldByCurrentThread());
            imp.close(); // the last reference: the free path runs inside reclaim
        });
        map(trigger);
        long before = Deferred.submitted();
        try (Holder h = new Holder(buf.resv())) {
            long freed = Fixture.inOtherThread(() -> c.reclaim(Long.MAX_VALUE)); // bounded
            assertEquals(SIZE, freed, "reclaim finished its work");
            assertEquals(List.of(true), heldInListener);
            assertEquals(0, imp.refCount());
            assertTrue(Deferred.submitted() > before, "deferred");
            assertEquals(1, buf.attachments().size());
            h.release();
        }
        drainDeferred();
        assertEquals(List.of(), buf.attachments());
        assertCounts(e, 2, 0, 0, 0, "exporter at rest");
        trigger.close();
        xbuf.close();
        e.close();
        buf.close();
        assertEquals(a.capacity(), a.stats().free());
    }

    @Test
    void freeingAnImportFromInsideTheExportersOwnEvictionIsDoneInline(Fixture f) {
        MemoryManager a = f.manager();
        MemoryManager b = f.manager();
        BufferObject e = f.client(a, "a").create(SIZE);
        Fixture.fill(e, (byte) 1);
        DmaBuf buf = e.export();
        BufferObject imp = f.client(b, "b").importBuffer(buf);
        imp.getPages();
        imp.putPages();
        List<Integer> attachmentsSeen = new ArrayList<>();
        Attachment d = buf.attach("closes the import", att -> {
            imp.close(); // the evicting thread holds the exporter's reservation: no deferral needed
            attachmentsSeen.add(att.dmaBuf().attachments().size());
        });
        map(d);
        long before = Deferred.submitted();
        assertEquals(SIZE, a.reclaim(Long.MAX_VALUE));
        assertEquals(before, Deferred.submitted(), "nothing deferred");
        assertEquals(List.of(1), attachmentsSeen, "the import's attachment was gone inside the listener");
        assertEquals(List.of(d), buf.attachments());
        assertEquals(Residency.EVICTED, e.residency(), "the eviction went on");
        assertCounts(e, 2, 0, 0, 0, "balanced");
    }

    @Test
    void freeingTheExportersLastReferenceFromInsideReclaim(Fixture f) {
        // the exporter's last reference is its DmaBuf's; a listener of another object drops it
        MemoryManager a = f.manager();
        BufferObject e = f.client(a, "a").create(SIZE);
        Fixture.fill(e, (byte) 1);
        DmaBuf buf = e.export();
        e.close();
        BufferObject x = f.client(a, "a2").create(SIZE);
        Fixture.fill(x, (byte) 2);
        Attachment trigger = x.export().attach("closes the other buffer", att -> buf.close());
        map(trigger);
        try (Holder h = new Holder(buf.resv())) {
            // the freeing thread takes no reservation: e is freed although its lock is held
            Fixture.inOtherThread(() -> a.reclaim(SIZE));
            assertEquals(0, e.refCount());
            h.release();
        }
        assertFalse(trigger.isMapped());
        assertEquals(Residency.EVICTED, x.residency());
        trigger.close();
        x.close();
        assertEquals(0, a.stats().resident(), "every frame back, e's freed and x's evicted");
    }

    @Test
    void manyImportsFreedUnderAHeldLockAllFinish(Fixture f) {
        MemoryManager a = f.manager();
        MemoryManager b = f.manager();
        BufferObject e = f.client(a, "a").create(SIZE);
        Fixture.fill(e, (byte) 1);
        DmaBuf buf = e.export();
        List<BufferObject> imports = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            BufferObject imp = f.client(b, "b" + i).importBuffer(buf);
            imp.getPages();
            imp.putPages();
            imports.add(imp);
        }
        assertEquals(8, buf.attachments().size());
        try (Holder h = new Holder(buf.resv())) {
            Fixture.inOtherThread(() -> imports.forEach(BufferObject::close));
            h.release();
        }
        drainDeferred();
        assertEquals(List.of(), buf.attachments());
        assertCounts(e, 2, 0, 0, 0, "no reference or use left behind");
        assertSame(buf, e.export());
        buf.close();
        e.close();
        assertEquals(a.capacity(), a.stats().free());
    }

    @Test
    void aViewOfAnImportFreedWithTheViewOpenDies(Fixture f) {
        // section 3: an object freed with vmaps open frees anyway and its open segments throw
        MemoryManager a = f.manager();
        MemoryManager b = f.manager();
        BufferObject e = f.client(a, "a").create(SIZE);
        byte[] content = Fixture.writePattern(e, 50);
        DmaBuf buf = e.export();
        BufferObject imp = f.client(b, "b").importBuffer(buf);
        MemorySegment view = imp.vmap().segment();
        assertEquals(content[0], view.get(ValueLayout.JAVA_BYTE, 0));
        imp.close();
        f.expectLeakWarning(imp, 1, 1, 1);
        assertThrows(IllegalStateException.class, () -> view.get(ValueLayout.JAVA_BYTE, 0),
                "the leaked view of the freed import is dead");
        assertCounts(e, 2, 0, 0, 0, "the import's pin, vmap and mapping undone");
        Fixture.assertContent(content, e, "the exporter is intact");
        try (Vmap v = e.vmap()) {
            Fixture.assertBytes(content, Fixture.bytesOf(v.segment()), "and maps again");
        }
    }
}
