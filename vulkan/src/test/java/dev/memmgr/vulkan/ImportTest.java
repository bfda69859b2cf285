package dev.memmgr.vulkan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lwjgl.vulkan.VK10.VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;

import dev.memmgr.BufferObject;
import dev.memmgr.Client;
import dev.memmgr.DmaBuf;
import dev.memmgr.Madvise;
import dev.memmgr.MemoryManager;
import dev.memmgr.PurgedException;
import dev.memmgr.Residency;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Imports themselves: attachments, purge, close, and bad input. */
@ExtendWith(VulkanExtension.class)
class ImportTest {
    static final int STORAGE = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;

    @Test
    void aPurgedObjectDropsItsMemoryAndCannotBeUsedAgain(VulkanFixture f) {
        MemoryManager mm = f.manager(16L << 20);
        try (ComputeTest.Job j = ComputeTest.Job.create(f, f.client(mm, "purge"), ImportMode.DYNAMIC, 1)) {
            j.runAndCheck(f, 1);
            long invalidations = f.device().stats().invalidations();
            j.a().madvise(Madvise.DONTNEED);
            assertEquals(ComputeTest.SIZE, mm.reclaim(ComputeTest.SIZE), "the DONTNEED object goes first");
            assertEquals(Residency.PURGED, j.a().residency());
            assertEquals(invalidations + 1, f.device().stats().invalidations(), "moveNotify on purge too");
            assertFalse(j.ia().isValid());
            assertThrows(PurgedException.class, () -> j.submit(f, 2));
            assertThrows(PurgedException.class, j.ia()::validate);
            assertFalse(j.ia().isValid());
            assertTrue(j.ib().isValid(), "the others stay imported");
        }
    }

    @Test
    void closeUnpinsDetachesAndClosesTheExportItMade(VulkanFixture f) {
        MemoryManager mm = f.manager(16L << 20);
        BufferObject bo = f.client(mm, "close").create(64 << 10);
        HostImport i = f.device().importBuffer(bo, ImportMode.STATIC);
        DmaBuf buf = bo.export();
        assertEquals(1, buf.attachments().size());
        assertEquals(1, bo.pinCount());
        assertTrue(f.device().imports().contains(i));
        i.close();
        i.close(); // idempotent
        assertTrue(i.isClosed());
        assertEquals(0, bo.pinCount());
        assertTrue(buf.isClosed(), "the export importBuffer made is closed with the import");
        assertFalse(f.device().imports().contains(i));
        assertThrows(IllegalStateException.class, i::validate);
        assertThrows(IllegalStateException.class, () -> i.createBuffer(0, 4096, STORAGE));
    }

    @Test
    void importDmaBufLeavesTheExportToItsOwner(VulkanFixture f) {
        MemoryManager mm = f.manager(16L << 20);
        BufferObject bo = f.client(mm, "shared").create(64 << 10);
        try (DmaBuf buf = bo.export()) {
            HostImport a = f.device().importDmaBuf(buf, ImportMode.DYNAMIC);
            HostImport b = f.device().importDmaBuf(buf, ImportMode.STATIC);
            assertEquals(2, buf.attachments().size());
            a.validate();
            assertTrue(a.isValid());
            assertTrue(b.isValid());
            a.close();
            b.close();
            assertFalse(buf.isClosed());
            assertEquals(0, buf.attachments().size());
        }
    }

    @Test
    void resourcesAreCheckedAndHandlesGuarded(VulkanFixture f) {
        MemoryManager mm = f.manager(16L << 20);
        BufferObject bo = f.client(mm, "bad").create(64 << 10);
        try (HostImport i = f.device().importBuffer(bo, ImportMode.DYNAMIC)) {
            assertThrows(IndexOutOfBoundsException.class, () -> i.createBuffer(0, bo.size() + 1, STORAGE));
            assertThrows(IndexOutOfBoundsException.class, () -> i.createBuffer(-1, 16, STORAGE));
            assertThrows(IllegalArgumentException.class, () -> i.createBuffer(0, 0, STORAGE));
            assertThrows(IllegalArgumentException.class, () -> i.createBuffer(0, 16, 0));
            assertThrows(IllegalArgumentException.class, () -> i.createImage(0, 0, 16, 37, 4));
            assertThrows(IndexOutOfBoundsException.class, () -> i.createImage(0, 4096, 4096, 37, 4));
            ImportedBuffer b = i.createBuffer(4096, 4096, STORAGE);
            assertThrows(IllegalStateException.class, b::handle, "not imported yet");
            i.validate();
            assertThrows(IllegalStateException.class, b::handle, "a dynamic import's handle needs the reservation");
            bo.resv().lock();
            try {
                assertTrue(b.handle() != 0);
                assertTrue(i.memory() != 0);
                assertThrows(IllegalStateException.class, i::close, "close takes the reservation itself");
            } finally {
                bo.resv().unlock();
            }
            assertThrows(NullPointerException.class, () -> f.device().submit(null, cmd -> { }));
            assertThrows(NullPointerException.class, () -> f.device().submit(List.of(Use.read(i)), null));
            assertThrows(NullPointerException.class, () -> f.device().submit(Arrays.asList((Use) null), cmd -> { }));
            assertThrows(NullPointerException.class, () -> f.device().importBuffer(null, ImportMode.STATIC));
            assertThrows(NullPointerException.class, () -> Use.read(null));
            bo.resv().lock();
            try {
                assertThrows(IllegalStateException.class, () -> f.device().submit(List.of(Use.read(i)), cmd -> { }),
                        "submit locks the reservations itself");
            } finally {
                bo.resv().unlock();
            }
        }
    }

    @Test
    void aClosedImportCannotBeSubmitted(VulkanFixture f) {
        MemoryManager mm = f.manager(16L << 20);
        Client c = f.client(mm, "closed");
        HostImport i = f.device().importBuffer(c.create(4096), ImportMode.DYNAMIC);
        i.close();
        assertThrows(IllegalStateException.class, () -> f.device().submit(List.of(Use.write(i)), cmd -> { }));
    }

    @Test
    void closingTheManagerFirstLeavesImportsThatFailCleanly(VulkanFixture f) {
        MemoryManager mm = f.manager(16L << 20);
        try (ComputeTest.Job j = ComputeTest.Job.create(f, f.client(mm, "early"), ImportMode.DYNAMIC, 4)) {
            j.runAndCheck(f, 1);
            f.device().waitIdle();
            mm.close(); // wrong order (the imports should close first): no crash, clear failures
            assertThrows(IllegalStateException.class, () -> j.submit(f, 2), "the object is freed");
            assertThrows(IllegalStateException.class, j.ia()::validate);
        } // closing the imports still works
    }

    @Test
    void probeDescribesTheDevice(VulkanFixture f) {
        VulkanAvailability a = VulkanDevice.probe();
        assertTrue(a.available(), a.description());
        assertTrue(a.description().contains(f.device().deviceName()), a.description());
    }

    @Test
    void theImportHonoursTheDriversHostPointerRules(VulkanFixture f) {
        MemoryManager mm = f.manager(16L << 20);
        BufferObject bo = f.client(mm, "align").create(3 * 4096);
        try (HostImport i = f.device().importBuffer(bo, ImportMode.STATIC)) {
            long align = f.device().hostPointerAlignment();
            assertTrue(align > 0 && Long.bitCount(align) == 1, "a power of two: " + align);
            bo.resv().lock();
            try {
                long address = i.attachment().map().address();
                assertEquals(0, address % align, "the mapping is aligned");
                assertTrue(i.memory() != 0);
            } finally {
                bo.resv().unlock();
            }
        }
    }
}
