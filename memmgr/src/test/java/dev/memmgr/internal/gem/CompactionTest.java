package dev.memmgr.internal.gem;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memmgr.BufferObject;
import dev.memmgr.Client;
import dev.memmgr.Fixture;
import dev.memmgr.MemmgrExtension;
import dev.memmgr.MemoryManager;
import dev.memmgr.Vmap;
import dev.memmgr.internal.Access;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Compaction on vmap: a scattered object is moved into one free run of frames and mapped with a
 * single mmap; without a free run long enough it is mapped run by run; a mapped object is never
 * moved.
 */
@ExtendWith(MemmgrExtension.class)
class CompactionTest {
    private static final int PAGE = Fixture.PAGE;

    /** An object of {@code pages} pages in one-page holes, with a free run of its size elsewhere when {@code run}. */
    private static BufferObject scattered(Client c, MemoryManager mm, int pages, boolean run) {
        List<BufferObject> spacers = new ArrayList<>();
        for (int i = 0; i < 2 * pages; i++) {
            BufferObject s = c.create(PAGE);
            s.write(0, MemorySegment.ofArray(new byte[] {1}));
            spacers.add(s);
        }
        for (int i = 0; i < spacers.size(); i += 2) {
            spacers.get(i).close();
        }
        long rest = mm.stats().free() - (long) pages * PAGE;
        BufferObject reserve = c.create(rest);
        reserve.getPages(); // takes the run: the object can only go into the holes
        BufferObject bo = c.create((long) pages * PAGE);
        byte[] content = new byte[pages * PAGE];
        for (int i = 0; i < content.length; i++) {
            content[i] = (byte) (i * 13 + i / PAGE);
        }
        bo.write(0, MemorySegment.ofArray(content));
        reserve.putPages();
        if (run) {
            reserve.close();
        }
        return bo;
    }

    @Test
    void aScatteredObjectIsMovedIntoAFreeRunAndMappedOnce(Fixture f) {
        MemoryManager mm = f.managerNoSwap(4L << 20);
        Client c = f.client(mm, "compact");
        BufferObject bo = scattered(c, mm, 64, true);
        GemObject o = Access.gem(bo);
        assertFalse(o.table().isContiguous(), "set up scattered");
        byte[] before = new byte[(int) bo.size()];
        bo.read(0, MemorySegment.ofArray(before));
        long free = mm.stats().free();
        try (Vmap v = bo.vmap()) {
            assertTrue(o.table().isContiguous(), "compacted");
            assertEquals(1, o.mapping().mmapCalls(), "one mmap");
            assertArrayEquals(before, v.segment().toArray(ValueLayout.JAVA_BYTE));
        }
        assertEquals(free, mm.stats().free(), "the holes it left are free again, the run taken");
    }

    @Test
    void withoutAFreeRunTheObjectIsMappedRunByRun(Fixture f) {
        MemoryManager mm = f.managerNoSwap(4L << 20);
        Client c = f.client(mm, "compact");
        BufferObject bo = scattered(c, mm, 16, false);
        GemObject o = Access.gem(bo);
        byte[] before = new byte[(int) bo.size()];
        bo.read(0, MemorySegment.ofArray(before));
        try (Vmap v = bo.vmap()) {
            assertFalse(o.table().isContiguous(), "no run to move into");
            assertTrue(o.mapping().mmapCalls() > 1);
            assertArrayEquals(before, v.segment().toArray(ValueLayout.JAVA_BYTE));
        }
    }
}
