package dev.memmgr;

import static dev.memmgr.Fixture.MiB;
import static dev.memmgr.Fixture.PAGE;
import static dev.memmgr.Fixture.fill;
import static dev.memmgr.Fixture.pages;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memmgr.internal.obs.Counters;
import dev.memmgr.internal.obs.Counters.Figure;
import dev.memmgr.internal.obs.CountersView;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Builder.publishCounters: the figures of the manager and of each client in the process's counters
 * file (read here through the reader {@code bin/memmgr top} uses), updated by the daemon thread
 * {@code memmgr-counters}; a client's counters go when it closes; one file for every publishing
 * manager of the process, marked closed and deleted when the last closes; without the option no
 * file and no thread. The directory is the test's own (system property memmgr.counters.dir).
 */
@ExtendWith(MemmgrExtension.class)
class PublishCountersTest {
    private static final String THREAD = "memmgr-counters";
    private Path dir;
    private Path file;
    private String previous;

    @BeforeEach
    void useOwnDirectory(Fixture fx) {
        dir = fx.tempDir().resolve("counters");
        file = Counters.file(dir, ProcessHandle.current().pid());
        previous = System.setProperty("memmgr.counters.dir", dir.toString());
    }

    @AfterEach
    void restore() {
        if (previous == null) {
            System.clearProperty("memmgr.counters.dir");
        } else {
            System.setProperty("memmgr.counters.dir", previous);
        }
    }

    /** @return the counters of the file by scope, client id and figure */
    private Map<String, Long> read() {
        Map<String, Long> out = new HashMap<>();
        try (CountersView v = CountersView.open(file)) {
            for (CountersView.Counter c : v.counters()) {
                Counters.Key k = c.key();
                String who = k.scope() == Counters.SCOPE_MANAGER ? "manager " + k.managerName()
                        : "client " + k.clientName() + " of " + k.managerName();
                out.put(who + " " + c.figure(), c.value());
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return out;
    }

    private void awaitFigures(Map<String, Long> expected) {
        Fixture.awaitCondition(() -> {
            Map<String, Long> now = read();
            return expected.entrySet().stream().allMatch(e -> e.getValue().equals(now.get(e.getKey())));
        }, () -> "published figures " + expected + ", file has " + read());
    }

    @Test
    void managerAndClientFiguresArePublished(Fixture fx) {
        MemoryManager mm = fx.build(fx.builder(4 * MiB, 8 * MiB).name("pub").publishCounters(true));
        assertTrue(Files.exists(file), "the file is made at build");
        assertEquals(1, Fixture.liveThreadsNamed(THREAD).size());
        Client ui = fx.client(mm, "ui");
        Client idle = fx.client(mm, "idle");
        BufferObject a = ui.create(MiB);
        fill(a, (byte) 1);
        BufferObject pinned = ui.create(pages(8));
        fill(pinned, (byte) 2);
        pinned.pin();
        BufferObject junk = ui.create(pages(4));
        fill(junk, (byte) 3);
        junk.madvise(Madvise.DONTNEED);
        BufferObject busy = ui.create(pages(2));
        fill(busy, (byte) 4);
        Fence fence = new Fence();
        busy.resv().addFence(fence, FenceUsage.WRITE);
        BufferObject cold = ui.create(pages(16));
        fill(cold, (byte) 5);
        mm.reclaim(pages(4));   // purges junk
        mm.reclaim(pages(16));  // evicts a (least recently used), then the rest is enough
        Fixture.contentOf(a);   // swaps a back in: evicts nothing (room enough)
        MemoryStats s = mm.stats();
        assertTrue(s.evictions() >= 1 && s.swapIns() == 1 && s.purges() == 1, s.toString());

        Map<String, Long> expected = new HashMap<>();
        Map<Figure, Long> manager = Map.ofEntries(Map.entry(Figure.CAPACITY, s.capacity()), Map.entry(Figure.FREE, s.free()),
                Map.entry(Figure.RESIDENT, s.resident()), Map.entry(Figure.PEAK_RESIDENT, s.peakResident()),
                Map.entry(Figure.EVICTED, s.evicted()), Map.entry(Figure.PURGEABLE, s.purgeable()),
                Map.entry(Figure.BUSY, s.busy()), Map.entry(Figure.PINNED, s.pinned()),
                Map.entry(Figure.SWAP_CAPACITY, s.swapCapacity()), Map.entry(Figure.SWAP_USED, s.swapUsed()),
                Map.entry(Figure.EVICTIONS, s.evictions()), Map.entry(Figure.SWAP_INS, s.swapIns()),
                Map.entry(Figure.PURGES, s.purges()));
        assertEquals(List.of(Counters.MANAGER_FIGURES).size(), manager.size());
        manager.forEach((f, v) -> expected.put("manager pub " + f, v));
        ClientStats cs = ui.stats();
        expected.put("client ui of pub " + Figure.TOTAL, cs.total());
        expected.put("client ui of pub " + Figure.RESIDENT, cs.resident());
        expected.put("client ui of pub " + Figure.EVICTED, cs.evicted());
        expected.put("client ui of pub " + Figure.SWAP_USED, cs.evicted());
        expected.put("client ui of pub " + Figure.PURGEABLE, cs.purgeable());
        expected.put("client ui of pub " + Figure.PINNED, pages(8));
        expected.put("client ui of pub " + Figure.BUSY, pages(2));
        expected.put("client ui of pub " + Figure.EVICTIONS, s.evictions());
        expected.put("client ui of pub " + Figure.SWAP_INS, 1L);
        expected.put("client ui of pub " + Figure.PURGES, 1L);
        expected.put("client idle of pub " + Figure.TOTAL, 0L);
        expected.put("client idle of pub " + Figure.EVICTIONS, 0L);
        assertEquals(pages(2), s.busy());
        awaitFigures(expected);

        idle.close();
        Fixture.awaitCondition(() -> read().keySet().stream().noneMatch(k -> k.startsWith("client idle")),
                "the closed client's counters are freed");
        fence.signal();
        pinned.unpin();
        mm.close();
        assertFalse(Files.exists(file), "deleted when the last publishing manager closes");
        Fixture.awaitCondition(() -> Fixture.liveThreadsNamed(THREAD).isEmpty(), "the publisher thread to end");
    }

    @Test
    void oneFileForEveryPublishingManagerOfTheProcess(Fixture fx) throws IOException {
        MemoryManager first = fx.build(fx.builder(MiB, 2 * MiB).name("first").publishCounters(true));
        MemoryManager second = fx.build(fx.builder(2 * MiB, 2 * MiB).publishCounters(true));
        fill(fx.client(second, "c").create(pages(3)), (byte) 1);
        awaitFigures(Map.of("manager first " + Figure.CAPACITY, MiB, "manager " + second.name() + " " + Figure.CAPACITY, 2 * MiB,
                "client c of " + second.name() + " " + Figure.RESIDENT, pages(3)));
        assertEquals(1, Fixture.liveThreadsNamed(THREAD).size());
        CountersView view = CountersView.open(file);
        try {
            first.close();
            assertTrue(Files.exists(file), "the second manager still publishes");
            Fixture.awaitCondition(() -> read().keySet().stream().noneMatch(k -> k.contains("first")),
                    "the first manager's counters are freed");
            second.close();
            assertTrue(view.isClosed(), "marked closed");
            assertFalse(Files.exists(file));
        } finally {
            view.close();
        }
    }

    @Test
    void withoutTheOptionNothingIsPublished(Fixture fx) {
        MemoryManager mm = fx.manager();
        fill(fx.client(mm, "plain").create(PAGE), (byte) 1);
        assertFalse(Files.exists(dir), "no file, no directory");
        assertTrue(Fixture.liveThreadsNamed(THREAD).isEmpty(), "no publisher thread");
    }

    @Test
    void aDirectoryThatCannotBeUsedIsReportedAndTheManagerWorks(Fixture fx) throws IOException {
        Files.writeString(dir.getParent().resolve("not-a-dir"), "x");
        System.setProperty("memmgr.counters.dir", dir.getParent().resolve("not-a-dir").toString());
        MemoryManager mm = fx.build(fx.builder(MiB, 2 * MiB).publishCounters(true));
        fx.logs().expectWarning("cannot publish counters in", "not-a-dir", "runs without them");
        fill(fx.client(mm, "works").create(PAGE), (byte) 1);
        assertEquals(PAGE, mm.stats().resident());
        assertTrue(Fixture.liveThreadsNamed(THREAD).isEmpty());
    }
}
