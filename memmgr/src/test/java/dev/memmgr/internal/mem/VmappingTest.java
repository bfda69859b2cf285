package dev.memmgr.internal.mem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memmgr.MemmgrExtension;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(MemmgrExtension.class)
class VmappingTest {
    private static final int PAGE = 4096;
    private PhysMem mem;

    @BeforeEach
    void setUp() {
        mem = PhysMem.create(64L * PAGE, PAGE);
    }

    @AfterEach
    void tearDown() {
        mem.close();
    }

    @Test
    void oneExtentIsOneMmapAndAliasesTheDirectMapBothWays() {
        ExtentList frames = new ExtentList();
        frames.add(5, 3);
        Vmapping v = Vmapping.map(mem, frames);
        try {
            assertEquals(1, v.mmapCalls());
            assertEquals(3L * PAGE, v.segment().byteSize());
            v.segment().set(ValueLayout.JAVA_LONG, PAGE + 8, 0x1122334455667788L);
            assertEquals(0x1122334455667788L, mem.directMap().get(ValueLayout.JAVA_LONG, 6L * PAGE + 8));
            mem.directMap().set(ValueLayout.JAVA_INT, 7L * PAGE + 100, 77);
            assertEquals(77, v.segment().get(ValueLayout.JAVA_INT, 2L * PAGE + 100));
        } finally {
            v.unmap();
        }
    }

    @Test
    void scatteredExtentsAppearContiguousInOrder() {
        ExtentList frames = new ExtentList();
        frames.add(40, 2);
        frames.add(3, 1);
        frames.add(20, 3);
        Vmapping v = Vmapping.map(mem, frames);
        try {
            assertEquals(4, v.mmapCalls(), "one reservation and one MAP_FIXED per extent");
            MemorySegment s = v.segment();
            assertEquals(6L * PAGE, s.byteSize());
            int[] expectedFrame = {40, 41, 3, 20, 21, 22};
            for (int page = 0; page < 6; page++) {
                s.set(ValueLayout.JAVA_INT, (long) page * PAGE, 1000 + page);
            }
            for (int page = 0; page < 6; page++) {
                assertEquals(1000 + page, mem.directMap().get(ValueLayout.JAVA_INT, (long) expectedFrame[page] * PAGE));
            }
        } finally {
            v.unmap();
        }
    }

    @Test
    void accessAfterUnmapThrowsInsteadOfCrashing() {
        ExtentList frames = new ExtentList();
        frames.add(0, 2);
        frames.add(10, 2);
        Vmapping v = Vmapping.map(mem, frames);
        MemorySegment s = v.segment();
        s.set(ValueLayout.JAVA_BYTE, 0, (byte) 1);
        v.unmap();
        v.unmap(); // idempotent
        assertTrue(v.isUnmapped());
        assertThrows(IllegalStateException.class, () -> s.get(ValueLayout.JAVA_BYTE, 0));
        assertThrows(IllegalStateException.class, () -> s.set(ValueLayout.JAVA_BYTE, 3 * PAGE, (byte) 1));
        assertEquals(1, mem.directMap().get(ValueLayout.JAVA_BYTE, 0), "the frames themselves are untouched");
    }

    @Test
    void unmapFromAnotherThreadStopsAReader() throws Exception {
        ExtentList frames = new ExtentList();
        frames.add(0, 4);
        Vmapping v = Vmapping.map(mem, frames);
        CountDownLatch reading = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread reader = new Thread(() -> {
            try {
                long sum = 0;
                while (true) {
                    sum += v.segment().get(ValueLayout.JAVA_LONG, sum & (PAGE - 8));
                    reading.countDown();
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        reader.start();
        assertTrue(reading.await(10, TimeUnit.SECONDS));
        v.unmap();
        reader.join(TimeUnit.SECONDS.toMillis(10));
        assertTrue(failure.get() instanceof IllegalStateException, String.valueOf(failure.get()));
    }

    @Test
    void nothingToMapIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> Vmapping.map(mem, new ExtentList()));
    }
}
