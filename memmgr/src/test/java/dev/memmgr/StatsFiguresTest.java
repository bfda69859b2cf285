package dev.memmgr;

import static dev.memmgr.Fixture.MiB;
import static dev.memmgr.Fixture.PAGE;
import static dev.memmgr.Fixture.fill;
import static dev.memmgr.Fixture.pages;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * MemoryStats.busy (bytes of frames of objects with an unsignaled fence) and peakResident (the
 * highest resident since build), and the toString() of MemoryStats, ClientStats, BufferObject and
 * MemoryManager: units, public names only, no raw byte counts.
 */
@ExtendWith(MemmgrExtension.class)
class StatsFiguresTest {
    @Test
    void busyCountsTheFramesOfObjectsWithUnsignaledFences(Fixture fx) {
        MemoryManager mm = fx.manager();
        Client c = fx.client(mm, "busy");
        BufferObject a = c.create(pages(8));
        fill(a, (byte) 1);
        BufferObject sparse = c.create(pages(16));
        sparse.write(pages(3), MemorySegment.ofArray(new byte[PAGE])); // one frame of sixteen pages
        BufferObject empty = c.create(pages(4));
        assertEquals(0, mm.stats().busy());

        Fence write = new Fence();
        Fence read = new Fence();
        a.resv().addFence(write, FenceUsage.WRITE);
        sparse.resv().addFence(read, FenceUsage.BOOKKEEP);
        empty.resv().addFence(read, FenceUsage.READ);
        assertEquals(pages(8) + pages(1), mm.stats().busy(), "frames, not sizes: unpopulated pages hold none");
        assertEquals(pages(8) + pages(16) + pages(4), c.stats().active(), "ClientStats.active counts sizes");

        write.signal();
        assertEquals(pages(1), mm.stats().busy());
        mm.reclaim(Long.MAX_VALUE);
        assertEquals(Residency.EVICTED, a.residency(), "idle: evicted");
        assertEquals(Residency.RESIDENT, sparse.residency(), "busy: skipped");
        read.signal();
        assertEquals(0, mm.stats().busy());
    }

    @Test
    void busyCountsObjectsSharingAVmsReservation(Fixture fx) {
        MemoryManager mm = fx.manager();
        Client c = fx.client(mm, "vm");
        GpuVm vm = c.createVm("vm", 0, 1L << 30);
        BufferObject x = vm.createLocal(pages(2));
        BufferObject y = vm.createLocal(pages(3));
        fill(x, (byte) 1);
        fill(y, (byte) 2);
        Fence f = new Fence();
        vm.resv().addFence(f, FenceUsage.WRITE);
        assertEquals(pages(5), mm.stats().busy(), "one fence on the shared reservation makes both busy");
        f.signal();
        assertEquals(0, mm.stats().busy());
    }

    @Test
    void peakResidentIsTheHighestResidentSinceBuild(Fixture fx) {
        MemoryManager mm = fx.manager(4 * MiB, 8 * MiB);
        assertEquals(0, mm.stats().peakResident());
        Client c = fx.client(mm, "peak");
        BufferObject a = c.create(MiB);
        fill(a, (byte) 1);
        BufferObject b = c.create(2 * MiB);
        fill(b, (byte) 2);
        assertEquals(3 * MiB, mm.stats().peakResident());
        b.close();
        assertEquals(MiB, mm.stats().resident());
        assertEquals(3 * MiB, mm.stats().peakResident(), "a peak stays");
        BufferObject d = c.create(4 * MiB);
        fill(d, (byte) 3); // the whole capacity: a is evicted first
        assertEquals(4 * MiB, mm.stats().peakResident());
        assertTrue(mm.stats().peakResident() >= mm.stats().resident());
        mm.close();
        assertEquals(4 * MiB, mm.stats().peakResident(), "answers after close");
        assertEquals(0, mm.stats().busy());
    }

    @Test
    void toStringsPrintUnitsAndPublicNamesOnly(Fixture fx) {
        MemoryManager mm = fx.build(fx.builder(16 * MiB, 32 * MiB).name("strings"));
        Client c = fx.client(mm, "ui");
        BufferObject a = c.create(MiB + 512 * 1024).label("atlas");
        fill(a, (byte) 1);
        BufferObject d = c.create(pages(3));
        fill(d, (byte) 2);
        d.madvise(Madvise.DONTNEED);
        a.pin();

        assertEquals("MemoryStats[capacity 16 MiB, free 14.5 MiB, resident 1.5 MiB, peakResident 1.5 MiB, pinned 1.5 MiB, "
                + "purgeable 12 KiB, busy 0 B, evicted 0 B, swap 0 B of 32 MiB, evictions 0, swapIns 0, purges 0]",
                mm.stats().toString());
        assertEquals("ClientStats[total 1.5 MiB, shared 0 B, resident 1.5 MiB, purgeable 12 KiB, active 0 B, evicted 0 B]",
                c.stats().toString());
        assertEquals("MemoryManager['strings', capacity 16 MiB, free 14.5 MiB, resident 1.5 MiB, peakResident 1.5 MiB, "
                + "pinned 1.5 MiB, purgeable 12 KiB, busy 0 B, evicted 0 B, swap 0 B of 32 MiB, evictions 0, swapIns 0, "
                + "purges 0]", mm.toString());
        assertEquals("BufferObject[handle " + d.handle() + " of client 'ui', 12 KiB, RESIDENT, refs 1, page uses 0, "
                + "pins 0, vmaps 0, DONTNEED]", d.toString());
        for (String s : new String[] {mm.toString(), mm.stats().toString(), c.stats().toString(), a.toString(), d.toString()}) {
            assertNoRawBytesOrInternalNames(s);
        }
        a.unpin();
        mm.close();
        assertTrue(mm.toString().startsWith("MemoryManager['strings', closed, capacity 16 MiB"), mm.toString());
    }

    /** Every figure of 1024 or more is followed by a unit; no internal class name shows. */
    private static void assertNoRawBytesOrInternalNames(String s) {
        assertFalse(s.contains("Gem") || s.contains("internal") || s.contains("Lru") || s.contains("Resv"), s);
        Matcher m = Pattern.compile("(\\d+(?:\\.\\d)?)( ?)([A-Za-z]*)").matcher(s);
        while (m.find()) {
            if (Double.parseDouble(m.group(1)) >= 1024) {
                fail(s, m.group());
            }
        }
    }

    private static void fail(String s, String figure) {
        org.junit.jupiter.api.Assertions.fail("a raw figure '" + figure + "' in: " + s);
    }
}
