package dev.memmgr;

import static dev.memmgr.DmaBufTestSupport.assertCounts;
import static dev.memmgr.DmaBufTestSupport.drainDeferred;
import static dev.memmgr.Fixture.pages;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Buffer sharing under concurrency (issue 11), each case bounded by {@link Fixture#DEADLINE}
 * (a hang fails the test with the threads' stacks) and ending with every count balanced:
 * <ul>
 * <li>evictions racing dynamic maps: every notice comes with the reservation held by the
 *     notifying thread while the attachment is mapped; maps and unmaps balance against notices;
 *     every byte read through a mapping (under the lock) is right;</li>
 * <li>frees of imports racing a thread that takes and holds the exporter's reservation: each free
 *     completes or defers, never hangs, and nothing is left attached;</li>
 * <li>concurrent imports of one buffer into one client give one object;</li>
 * <li>close of either manager while other threads use the shared buffer through the other: only
 *     IllegalStateException, no leak, the surviving side intact.</li>
 * </ul>
 * Random choices come from a printed seed ({@code -Dmemmgr.seed=N} repeats them; interleavings
 * still vary).
 */
@ExtendWith(MemmgrExtension.class)
class DmaBufConcurrencyTest {
    private static final long SIZE = pages(8);

    /**
     * Set just before the test closes a manager under its users: from then on a view still open
     * may read zeros for a moment (its range is replaced before its arena closes) before it
     * throws IllegalStateException, as the architecture documents; any other wrong byte fails.
     */
    private volatile boolean closeStarted;

    /** Fails unless a byte read through a view is the expected one (or a zero once the close began). */
    private void checkViewByte(byte seen, byte expected, String what) {
        if (seen != expected && !(closeStarted && seen == 0)) {
            fail(what);
        }
    }

    private static long seed() {
        String p = System.getProperty(ModelRunner.SEED, "").strip();
        long seed = p.isEmpty() || p.equals("random") ? 0x5EED_D3AB_0F00L : Long.decode(p);
        return seed;
    }

    /** Runs {@code body}; on failure the message names the seed that drew the random choices. */
    private static void withSeed(long seed, Runnable body) {
        try {
            body.run();
        } catch (AssertionError e) {
            throw new AssertionError("seed " + seed + " (rerun with -D" + ModelRunner.SEED + "=" + seed + "): "
                    + e.getMessage(), e);
        }
    }

    @Test
    void evictionRacingDynamicMaps(Fixture f) {
        long seed = seed();
        withSeed(seed, () -> evictionRacingDynamicMaps(f, seed));
    }

    private static void evictionRacingDynamicMaps(Fixture f, long seed) {
        MemoryManager a = f.manager();
        BufferObject e = f.client(a, "a").create(SIZE);
        byte[] content = Fixture.writePattern(e, 60);
        DmaBuf buf = e.export();
        int n = 3;
        int rounds = 400;
        List<Attachment> atts = new ArrayList<>();
        List<AtomicReference<MemorySegment>> segs = new ArrayList<>();
        AtomicInteger[] notices = new AtomicInteger[n];
        AtomicInteger[] maps = new AtomicInteger[n];
        AtomicInteger[] unmaps = new AtomicInteger[n];
        AtomicInteger badNotices = new AtomicInteger();
        for (int i = 0; i < n; i++) {
            int k = i;
            notices[i] = new AtomicInteger();
            maps[i] = new AtomicInteger();
            unmaps[i] = new AtomicInteger();
            AtomicReference<MemorySegment> seg = new AtomicReference<>();
            segs.add(seg);
            atts.add(buf.attach("d" + i, att -> {
                notices[k].incrementAndGet();
                MemorySegment old = seg.get(); // the segment of this mapping, recorded by whoever mapped it
                try {
                    if (!att.dmaBuf().resv().isHeldByCurrentThread() || !att.isMapped()
                            || old.get(ValueLayout.JAVA_BYTE, SIZE - 1) != content[(int) SIZE - 1]) {
                        badNotices.incrementAndGet();
                    }
                } catch (IllegalStateException dead) {
                    badNotices.incrementAndGet();
                }
            }));
        }
        AtomicBoolean mappersDone = new AtomicBoolean();
        AtomicLong evicted = new AtomicLong();
        CountDownLatch mappersLeft = new CountDownLatch(2);
        Workers w = f.workers();
        for (int t = 0; t < 2; t++) {
            SplittableRandom rnd = new SplittableRandom(seed + t);
            w.add("mapper-" + t, () -> {
                try {
                    for (int r = 0; r < rounds; r++) {
                        int i = rnd.nextInt(n);
                        Attachment att = atts.get(i);
                        Reservation resv = buf.resv();
                        resv.lock();
                        try {
                            boolean was = att.isMapped(); // exact with the lock held
                            MemorySegment s = att.map();
                            if (!was) {
                                maps[i].incrementAndGet();
                                segs.get(i).set(s);
                            }
                            int at = rnd.nextInt((int) SIZE);
                            if (s.get(ValueLayout.JAVA_BYTE, at) != content[at]) {
                                fail("byte " + at + " through attachment " + i);
                            }
                            if (rnd.nextInt(4) == 0) {
                                att.unmap();
                                unmaps[i].incrementAndGet();
                            }
                        } finally {
                            resv.unlock();
                        }
                    }
                } finally {
                    mappersLeft.countDown();
                }
            });
        }
        w.add("evictor", () -> {
            while (mappersLeft.getCount() > 0) {
                evicted.addAndGet(a.reclaim(Long.MAX_VALUE));
                LockSupport.parkNanos(20_000); // let the mappers in between (two cores)
            }
            mappersDone.set(true);
        });
        w.start().join();
        assertTrue(mappersDone.get());
        assertEquals(0, badNotices.get(), "a notice without the lock, while unmapped, or with a dead old mapping");
        int mapped = 0;
        for (int i = 0; i < n; i++) {
            boolean now = atts.get(i).isMapped();
            mapped += now ? 1 : 0;
            assertEquals(maps[i].get(), unmaps[i].get() + notices[i].get() + (now ? 1 : 0),
                    "attachment " + i + ": every mapping ended by an unmap or a notice, or still there");
        }
        assertCounts(e, 2, mapped, 0, 0, "one page use per mapped attachment");
        // one more eviction with everything mapped: each is told once more
        for (int i = 0; i < n; i++) {
            segs.get(i).set(DmaBufTestSupport.map(atts.get(i)));
        }
        int[] before = new int[n];
        for (int i = 0; i < n; i++) {
            before[i] = notices[i].get();
        }
        assertEquals(SIZE, a.reclaim(Long.MAX_VALUE));
        for (int i = 0; i < n; i++) {
            assertEquals(before[i] + 1, notices[i].get(), "told once");
        }
        assertCounts(e, 2, 0, 0, 0, "all unmapped");
        Fixture.assertContent(content, e, "content after " + (evicted.get() / SIZE) + " evictions");
        atts.forEach(Attachment::close);
        assertEquals(List.of(), buf.attachments());
    }

    @Test
    void freesOfImportsRacingAHeldExporterReservationCompleteOrDefer(Fixture f) {
        long seed = seed();
        withSeed(seed, () -> freesRacingAHeldReservation(f, seed));
    }

    private static void freesRacingAHeldReservation(Fixture f, long seed) {
        MemoryManager a = f.manager();
        MemoryManager b = f.manager();
        BufferObject e = f.client(a, "a").create(SIZE);
        byte[] content = Fixture.writePattern(e, 61);
        DmaBuf buf = e.export();
        int rounds = 150;
        CountDownLatch importersLeft = new CountDownLatch(2);
        Workers w = f.workers();
        w.add("holder", () -> {
            SplittableRandom rnd = new SplittableRandom(seed);
            while (importersLeft.getCount() > 0) {
                buf.resv().lock();
                try {
                    LockSupport.parkNanos(rnd.nextInt(200_000));
                } finally {
                    buf.resv().unlock();
                }
                LockSupport.parkNanos(rnd.nextInt(100_000));
            }
        });
        for (int t = 0; t < 2; t++) {
            SplittableRandom rnd = new SplittableRandom(seed + 1 + t);
            Client c = f.client(b, "importer-" + t);
            w.add("importer-" + t, () -> {
                try {
                    for (int r = 0; r < rounds; r++) {
                        BufferObject imp = c.importBuffer(buf);
                        int use = rnd.nextInt(3);
                        if (use == 0) {
                            imp.getPages();
                            imp.putPages();
                        } else if (use == 1) {
                            int p = rnd.nextInt((int) (SIZE / Fixture.PAGE));
                            byte[] got = Fixture.contentOf(imp, pages(p), 16);
                            for (int i = 0; i < 16; i++) {
                                if (got[i] != content[(int) pages(p) + i]) {
                                    fail("page " + p + " byte " + i + " through import");
                                }
                            }
                        }
                        imp.close(); // never blocks: done at once or handed to the worker
                    }
                } finally {
                    importersLeft.countDown();
                }
            });
        }
        w.start().join();
        drainDeferred();
        assertEquals(List.of(), buf.attachments(), "nothing left attached");
        assertCounts(e, 2, 0, 0, 0, "no reference, use or pin left behind");
        assertEquals(b.capacity(), b.stats().free());
        buf.close();
        e.close();
        assertEquals(a.capacity(), a.stats().free(), "every frame back");
    }

    @Test
    void concurrentImportsIntoOneClientGiveOneObject(Fixture f) throws Exception {
        MemoryManager a = f.manager();
        MemoryManager b = f.manager();
        BufferObject e = f.client(a, "a").create(SIZE);
        DmaBuf buf = e.export();
        for (int round = 0; round < 100; round++) {
            Client c = b.openClient("c" + round);
            CyclicBarrier together = new CyclicBarrier(2);
            var one = Fixture.startInOtherThread(() -> {
                together.await();
                return c.importBuffer(buf);
            });
            together.await();
            BufferObject mine = c.importBuffer(buf);
            BufferObject theirs = Fixture.await(one);
            assertSame(mine, theirs, "round " + round + ": one import per client and buffer");
            assertEquals(1, mine.refCount(), "round " + round + ": one handle's reference");
            c.close();
        }
        drainDeferred();
        assertEquals(List.of(), buf.attachments(), "no stray import left attached");
        assertCounts(e, 2, 0, 0, 0, "at rest");
    }

    /** A worker body that uses an object until an operation throws IllegalStateException. */
    private interface Use {
        void once(SplittableRandom rnd);
    }

    /**
     * Threads use one side until it throws IllegalStateException (its manager closed); the test
     * closes that manager after each has done some work. Anything else thrown fails the test.
     */
    private void useUntilClosed(Fixture f, long seed, MemoryManager closing, List<Use> uses) {
        CountDownLatch warmedUp = new CountDownLatch(uses.size());
        AtomicInteger stoppedByClose = new AtomicInteger();
        Workers w = f.workers();
        for (int t = 0; t < uses.size(); t++) {
            Use use = uses.get(t);
            SplittableRandom rnd = new SplittableRandom(seed + t);
            w.add("user-" + t, () -> {
                for (int i = 0; ; i++) {
                    try {
                        use.once(rnd);
                    } catch (IllegalStateException closed) {
                        stoppedByClose.incrementAndGet();
                        warmedUp.countDown(); // in case it came before the warm-up
                        return;
                    }
                    if (i == 50) {
                        warmedUp.countDown();
                    }
                }
            });
        }
        w.start();
        Fixture.await(warmedUp, "every user did some work");
        closeStarted = true;
        closing.close();
        w.join();
        assertEquals(uses.size(), stoppedByClose.get(), "every user stopped with IllegalStateException");
    }

    @Test
    void closeOfTheImportersManagerWhileItsImportIsInUse(Fixture f) {
        long seed = seed();
        withSeed(seed, () -> {
            MemoryManager a = f.manager();
            MemoryManager b = f.manager();
            BufferObject e = f.client(a, "a").create(SIZE);
            byte[] content = Fixture.writePattern(e, 62);
            DmaBuf buf = e.export();
            BufferObject imp = f.client(b, "b").importBuffer(buf);
            Use reader = rnd -> {
                int p = rnd.nextInt((int) (SIZE / Fixture.PAGE));
                if (Fixture.contentOf(imp, pages(p), 1)[0] != content[(int) pages(p)]) {
                    fail("wrong byte through the import");
                }
            };
            Use pinner = rnd -> {
                imp.pin();
                try (Vmap v = imp.vmap()) {
                    int at = rnd.nextInt((int) SIZE);
                    if (v.segment().get(ValueLayout.JAVA_BYTE, at) != content[at]) {
                        fail("wrong byte through the import's view");
                    }
                } finally {
                    imp.unpin();
                }
            };
            Use pager = rnd -> {
                imp.getPages();
                imp.putPages();
            };
            AtomicBoolean stop = new AtomicBoolean();
            Workers exporterSide = f.workers();
            exporterSide.add("exporter-side", () -> {
                while (!stop.get()) {
                    a.reclaim(Long.MAX_VALUE);
                    Fixture.assertContent(content, e, "exporter while the importer's manager closes");
                }
            }).start();
            useUntilClosed(f, seed, b, List.of(reader, pinner, pager));
            stop.set(true);
            exporterSide.join();
            drainDeferred();
            assertEquals(List.of(), buf.attachments(), "the import's attachment went with its manager");
            assertCounts(e, 2, 0, 0, 0, "the import's pins, vmaps and uses undone");
            Fixture.assertContent(content, e, "the exporter is intact");
            buf.close();
            e.close();
            assertEquals(a.capacity(), a.stats().free(), "every frame back");
        });
    }

    @Test
    void closeOfTheExportersManagerWhileTheBufferIsInUse(Fixture f) {
        long seed = seed();
        withSeed(seed, () -> {
            MemoryManager a = f.manager();
            MemoryManager b = f.manager();
            Client cb = f.client(b, "b");
            BufferObject e = f.client(a, "a").create(SIZE);
            byte[] content = Fixture.writePattern(e, 63);
            DmaBuf buf = e.export();
            BufferObject imp = cb.importBuffer(buf);
            Attachment dyn = buf.attach("dynamic", att -> { });
            Use reader = rnd -> {
                int p = rnd.nextInt((int) (SIZE / Fixture.PAGE));
                if (Fixture.contentOf(imp, pages(p), 1)[0] != content[(int) pages(p)]) {
                    fail("wrong byte through the import");
                }
            };
            Use pinner = rnd -> {
                try (Vmap v = imp.vmap()) {
                    int at = rnd.nextInt((int) SIZE);
                    checkViewByte(v.segment().get(ValueLayout.JAVA_BYTE, at), content[at],
                            "wrong byte through the import's view");
                }
            };
            Use mapper = rnd -> {
                Reservation r = buf.resv();
                r.lock();
                try {
                    MemorySegment s = dyn.map();
                    int at = rnd.nextInt((int) SIZE);
                    checkViewByte(s.get(ValueLayout.JAVA_BYTE, at), content[at], "wrong byte through the attachment");
                    if (rnd.nextBoolean()) {
                        dyn.unmap();
                    }
                } finally {
                    r.unlock();
                }
            };
            Use evictor = rnd -> {
                if (a.reclaim(Long.MAX_VALUE) < 0) {
                    fail("negative reclaim");
                }
            };
            useUntilClosed(f, seed, a, List.of(reader, pinner, mapper, evictor));
            dyn.close();
            buf.close();
            imp.close();
            drainDeferred();
            assertEquals(0, imp.refCount());
            assertEquals(b.capacity(), b.stats().free(), "the importer's manager holds nothing");
            assertEquals(new ClientStats(0, 0, 0, 0, 0, 0), cb.stats());
            BufferObject own = cb.create(SIZE);
            Fixture.fill(own, (byte) 5);
            Fixture.assertAllBytes((byte) 5, Fixture.contentOf(own), "the importer's manager works on");
        });
    }

    @Test
    void aCloseRacingAMapInAnotherThreadNeverLeavesADetachedAttachmentMapped(Fixture f) throws Exception {
        BufferObject e = f.client(f.manager(), "race").create(SIZE);
        DmaBuf buf = e.export();
        Attachment a = buf.attach("static");
        AtomicReference<Throwable> closeFailed = new AtomicReference<>();
        Thread closer = new Thread(() -> {
            try {
                a.close();
            } catch (Throwable t) {
                closeFailed.set(t);
            }
        }, "closer");
        buf.resv().lock();
        try {
            closer.start(); // unmapped now: the close still waits for the lock
            Fixture.awaitCondition(() -> closer.getState() == Thread.State.WAITING
                    || closer.getState() == Thread.State.TIMED_WAITING, "the close waiting for the reservation");
            assertTrue(a.map().byteSize() > 0, "the map comes first");
        } finally {
            buf.resv().unlock();
        }
        closer.join(Fixture.DEADLINE.toMillis());
        assertEquals(null, closeFailed.get());
        assertTrue(!a.isMapped(), "unmapped");
        assertEquals(List.of(), buf.attachments(), "detached");
        assertCounts(e, 2, 0, 0, 0, "the map's pin was dropped by the close");
    }
}
