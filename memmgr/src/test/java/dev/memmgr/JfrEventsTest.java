package dev.memmgr;

import static dev.memmgr.Fixture.PAGE;
import static dev.memmgr.Fixture.fill;
import static dev.memmgr.Fixture.pages;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;
import jdk.jfr.EventType;
import jdk.jfr.FlightRecorder;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The JFR events of DESIGN 4.6, recorded in-process with jdk.jfr.Recording over a workload that
 * causes each: Reclaim (requested, direct, background), Evict, SwapIn, Purge, OutOfMemory,
 * VmapMap (a scattered object compacted, a contiguous one not) and JobTimeout; each with the
 * fields an engineer filters on (manager, client, handle, label, bytes, counts), category
 * "memmgr". Without a recording nothing is committed.
 */
@ExtendWith(MemmgrExtension.class)
class JfrEventsTest {
    private static final String[] NAMES = {"Reclaim", "Evict", "SwapIn", "Purge", "OutOfMemory", "VmapMap", "JobTimeout"};

    @Test
    void eachEventWithItsFields(Fixture fx) throws Exception {
        List<RecordedEvent> events;
        BufferObject victim;
        BufferObject junk;
        BufferObject big;
        BufferObject scattered;
        BufferObject contiguous;
        try (Recording rec = new Recording()) {
            for (String n : NAMES) {
                rec.enable("dev.memmgr." + n).withoutThreshold();
            }
            rec.start();
            MemoryManager mm = fx.build(MemoryManager.builder().name("jfr-events").capacity(pages(256)).pageSize(PAGE)
                    .backgroundReclaim(false));
            Client c = fx.client(mm, "events");
            victim = c.create(pages(16)).label("victim");
            fill(victim, (byte) 1);
            junk = c.create(pages(8)).label("junk");
            fill(junk, (byte) 2);
            junk.madvise(Madvise.DONTNEED);
            assertEquals(pages(24), mm.reclaim(Long.MAX_VALUE)); // requested: purges junk, evicts victim
            Fixture.assertAllBytes((byte) 1, Fixture.contentOf(victim)); // swaps victim in
            big = c.create(pages(256)).label("big");
            fill(big, (byte) 3); // direct reclaim evicts victim again
            big.pin();
            BufferObject one = c.create(PAGE);
            assertThrows(GpuOutOfMemoryException.class, () -> fill(one, (byte) 4));
            big.unpin();
            big.close();

            MemoryManager small = fx.build(MemoryManager.builder().name("jfr-vmap").capacity(pages(64)).pageSize(PAGE)
                    .noSwap().backgroundReclaim(false));
            Client v = fx.client(small, "views");
            List<BufferObject> ones = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                BufferObject b = v.create(PAGE);
                fill(b, (byte) 5);
                ones.add(b);
            }
            for (int i = 0; i < 64; i += 2) {
                ones.get(i).close(); // every other frame free: nothing larger than one frame
            }
            scattered = v.create(pages(4)).label("scattered");
            fill(scattered, (byte) 6); // four frames apart
            for (int i = 1; i < 64; i += 2) {
                ones.get(i).close(); // now there is room for a run
            }
            try (Vmap view = scattered.vmap()) {
                assertEquals(6, view.segment().get(java.lang.foreign.ValueLayout.JAVA_BYTE, pages(3)));
            }
            contiguous = v.create(pages(8)).label("contiguous");
            fill(contiguous, (byte) 7);
            contiguous.vmap().close();

            MemoryManager bg = fx.build(MemoryManager.builder().name("jfr-background").capacity(pages(64)).pageSize(PAGE)
                    .watermarks(0.25, 0.5));
            Client b = fx.client(bg, "background");
            for (int i = 0; i < 4; i++) {
                fill(b.create(pages(14)), (byte) 8); // 56 of 64 frames: below the low watermark
            }
            Fixture.awaitCondition(() -> bg.device().backgroundPasses() >= 1, "a background reclaim pass");

            GpuScheduler gpu = GpuScheduler.builder("jfr-sched").timeout(Duration.ofMillis(50)).build();
            CountDownLatch stuck = new CountDownLatch(1);
            try {
                Job hang = gpu.createEntity(Priority.NORMAL).job(ctx -> stuck.await()).push();
                assertTrue(hang.finished().await(Fixture.DEADLINE));
                assertTrue(hang.finished().error().orElseThrow() instanceof TimeoutException);
            } finally {
                stuck.countDown();
                gpu.close();
            }
            rec.stop();
            events = read(rec, fx.tempDir().resolve("events.jfr"));
        }

        RecordedEvent requested = one(events, "Reclaim", e -> e.getString("kind").equals("requested"));
        assertEquals("jfr-events", requested.getString("manager"));
        assertEquals(Long.MAX_VALUE, requested.getLong("requested"));
        assertEquals(pages(24), requested.getLong("freed"));
        assertEquals(1, requested.getInt("purged"));
        assertEquals(1, requested.getInt("evicted"));

        List<RecordedEvent> evicts = all(events, "Evict", e -> e.getString("label").equals("victim"));
        assertEquals(2, evicts.size(), "evicted on request, then by direct reclaim");
        for (RecordedEvent e : evicts) {
            assertEquals("jfr-events", e.getString("manager"));
            assertEquals("events", e.getString("client"));
            assertEquals(victim.handle(), e.getInt("handle"));
            assertEquals(pages(16), e.getLong("bytes"));
            assertFalse(e.getDuration().isNegative());
        }
        RecordedEvent purge = one(events, "Purge", e -> true);
        assertEquals("junk", purge.getString("label"));
        assertEquals(junk.handle(), purge.getInt("handle"));
        assertEquals(pages(8), purge.getLong("bytes"));
        RecordedEvent swapIn = one(events, "SwapIn", e -> true);
        assertEquals("victim", swapIn.getString("label"));
        assertEquals(pages(16), swapIn.getLong("bytes"));
        assertTrue(swapIn.getStackTrace() != null, "a swap-in names the operation that needed it");

        RecordedEvent direct = one(events, "Reclaim", e -> e.getString("kind").equals("direct")
                && e.getLong("freed") > 0);
        assertEquals("jfr-events", direct.getString("manager"));
        assertEquals(pages(16), direct.getLong("requested"), "big needed 16 frames more than were free");
        assertEquals(pages(16), direct.getLong("freed"));
        assertEquals(1, direct.getInt("evicted"));

        RecordedEvent oom = one(events, "OutOfMemory", e -> true);
        assertEquals("jfr-events", oom.getString("manager"));
        assertEquals(PAGE, oom.getLong("requested"));
        assertEquals(0, oom.getLong("free"));
        assertEquals(pages(256), oom.getLong("pinned"));
        assertTrue(oom.getString("message").contains("cannot allocate 1 pages"), oom.getString("message"));

        RecordedEvent compacted = one(events, "VmapMap", e -> e.getString("label").equals("scattered"));
        assertEquals("jfr-vmap", compacted.getString("manager"));
        assertEquals("views", compacted.getString("client"));
        assertEquals(scattered.handle(), compacted.getInt("handle"));
        assertEquals(pages(4), compacted.getLong("bytes"));
        assertTrue(compacted.getBoolean("compacted"));
        assertEquals(1, compacted.getInt("mmapCalls"), "moved into one run: one mmap");
        RecordedEvent plain = one(events, "VmapMap", e -> e.getString("label").equals("contiguous"));
        assertFalse(plain.getBoolean("compacted"));
        assertEquals(1, plain.getInt("mmapCalls"));
        assertEquals(contiguous.handle(), plain.getInt("handle"));

        RecordedEvent background = one(events, "Reclaim", e -> e.getString("kind").equals("background")
                && e.getLong("freed") > 0);
        assertEquals("jfr-background", background.getString("manager"));
        assertTrue(background.getInt("evicted") >= 1);

        RecordedEvent timeout = one(events, "JobTimeout", e -> true);
        assertEquals("jfr-sched", timeout.getString("scheduler"));
        assertEquals(Duration.ofMillis(50), timeout.getDuration("timeout"));
        assertTrue(timeout.getLong("job") >= 1);

        for (RecordedEvent e : events) {
            assertEquals(List.of("memmgr"), e.getEventType().getCategoryNames(), e.getEventType().getName());
        }
    }

    @Test
    void everyEventIsRegisteredInCategoryMemmgr() {
        new dev.memmgr.internal.obs.Events.Reclaim(); // loads the classes: JFR knows a type once its class is initialized
        new dev.memmgr.internal.obs.Events.Evict();
        new dev.memmgr.internal.obs.Events.SwapIn();
        new dev.memmgr.internal.obs.Events.Purge();
        new dev.memmgr.internal.obs.Events.OutOfMemory();
        new dev.memmgr.internal.obs.Events.VmapMap();
        new dev.memmgr.internal.obs.Events.JobTimeout();
        List<String> registered = new ArrayList<>();
        for (EventType t : FlightRecorder.getFlightRecorder().getEventTypes()) {
            if (t.getName().startsWith("dev.memmgr.")) {
                registered.add(t.getName());
                assertEquals(List.of("memmgr"), t.getCategoryNames());
            }
        }
        for (String n : NAMES) {
            assertTrue(registered.contains("dev.memmgr." + n), "registered: " + registered);
        }
    }

    @Test
    void withoutARecordingNothingIsCommitted(Fixture fx) {
        dev.memmgr.internal.obs.Events.Evict ev = new dev.memmgr.internal.obs.Events.Evict();
        assertFalse(ev.isEnabled() && FlightRecorder.getFlightRecorder().getRecordings().isEmpty(),
                "no recording: the event is disabled, its end() builds nothing");
        MemoryManager mm = fx.manager();
        BufferObject bo = fx.client(mm, "quiet").create(pages(2)).label("quiet");
        fill(bo, (byte) 1);
        assertEquals(pages(2), mm.reclaim(pages(2)), "the paths run the same without a recording");
    }

    private static List<RecordedEvent> read(Recording rec, Path file) throws IOException {
        rec.dump(file);
        List<RecordedEvent> out = new ArrayList<>();
        for (RecordedEvent e : RecordingFile.readAllEvents(file)) {
            if (e.getEventType().getName().startsWith("dev.memmgr.")) {
                out.add(e);
            }
        }
        return out;
    }

    private static List<RecordedEvent> all(List<RecordedEvent> events, String name, Predicate<RecordedEvent> p) {
        return events.stream().filter(e -> e.getEventType().getName().equals("dev.memmgr." + name)).filter(p).toList();
    }

    private static RecordedEvent one(List<RecordedEvent> events, String name, Predicate<RecordedEvent> p) {
        List<RecordedEvent> found = all(events, name, p);
        assertEquals(1, found.size(), () -> name + " events matching: " + found + "; all: "
                + events.stream().map(e -> e.getEventType().getName()).toList());
        return found.get(0);
    }
}
