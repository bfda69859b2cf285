package dev.memmgr;

import static dev.memmgr.Fixture.DEADLINE;
import static dev.memmgr.Fixture.KiB;
import static dev.memmgr.Fixture.MiB;
import static dev.memmgr.Fixture.PAGE;
import static dev.memmgr.Fixture.assertBytes;
import static dev.memmgr.Fixture.assertContent;
import static dev.memmgr.Fixture.await;
import static dev.memmgr.Fixture.awaitCondition;
import static dev.memmgr.Fixture.filled;
import static dev.memmgr.Fixture.pattern;
import static dev.memmgr.Fixture.writePattern;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.memmgr.internal.Access;
import dev.memmgr.internal.resv.AcquireContext;
import dev.memmgr.internal.resv.Resv;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Several threads on the same objects, with reclaim running concurrently: counts stay balanced,
 * pinned or viewed objects are never evicted, content is never wrong, operations on an object
 * being freed either complete or throw IllegalStateException, reservations lock without
 * deadlock, and an interrupted lock wait keeps waiting. Loops are bounded by iteration counts
 * (one test by a fixed duration of work); every wait is bounded; no outcome depends on timing.
 */
@ExtendWith(MemmgrExtension.class)
class ConcurrencyTest {
    private static final long CAP = 8 * MiB;

    private Fixture fx;
    private MemoryManager mm;
    private Client client;

    @BeforeEach
    void setUp(Fixture fx) {
        this.fx = fx;
        mm = fx.manager(CAP, 32 * MiB);
        client = mm.openClient("concurrency");
    }

    /** Reads {@code length} bytes at {@code offset} and compares them with the expected content. */
    private static void assertSlice(byte[] expected, BufferObject bo, int offset, int length, String what) {
        byte[] got = new byte[length];
        bo.read(offset, MemorySegment.ofArray(got));
        assertBytes(Arrays.copyOfRange(expected, offset, offset + length), got, what + " at " + offset);
    }

    /** Idle objects that a reclaimer thread swaps in and out, so that reclaim always has work. */
    private List<BufferObject> ballast(int n, List<byte[]> contents) {
        List<BufferObject> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            BufferObject bo = client.create(64 * KiB);
            contents.add(writePattern(bo, 1000 + i));
            out.add(bo);
        }
        return out;
    }

    /** Reclaim passes the workers wait for before they stop, so that the race really takes place. */
    private static final int MIN_RECLAIMS = 300;

    /**
     * Runs reclaim of everything, then touches the ballast, until {@code done} opens; counts its
     * passes in {@code passes}.
     */
    private Workers.Body reclaimer(CountDownLatch done, List<BufferObject> ballast, AtomicLong passes,
            Runnable check) {
        return () -> {
            int i = 0;
            do {
                mm.reclaim(Long.MAX_VALUE);
                check.run();
                ballast.get(i++ % ballast.size()).read(0, MemorySegment.ofArray(new byte[8]));
                passes.incrementAndGet();
            } while (done.getCount() > 0);
        };
    }

    /** Whether a worker goes on: its own iterations first, then until the reclaimer made its passes. */
    private static boolean goOn(int i, int iterations, AtomicLong passes, Workers w) {
        return (i < iterations || passes.get() < MIN_RECLAIMS) && !w.failed();
    }

    // ---- pin / unpin ---------------------------------------------------------------------------

    @Test
    void pinAndUnpinFromManyThreadsStayBalancedAndPinnedObjectIsNeverEvicted() {
        BufferObject bo = client.create(32L * PAGE);
        byte[] p = writePattern(bo, 1);
        List<byte[]> ballastContent = new ArrayList<>();
        List<BufferObject> ballast = ballast(4, ballastContent);
        int threads = 4;
        int iterations = 2000;

        // phase 1: a pin held throughout: the object must stay resident at every look
        bo.pin();
        runPinners(bo, p, ballast, threads, iterations, true);
        assertEquals(1, bo.pinCount());
        bo.unpin();

        // phase 2: no pin held in between: reclaim may evict between pins, each pin swaps in
        runPinners(bo, p, ballast, threads, iterations, false);

        assertEquals(new Fixture.State(bo.residency(), 1, 0, 0, 0), Fixture.State.of(bo));
        assertEquals(0, mm.stats().pinned());
        assertThrows(IllegalStateException.class, bo::unpin, "balanced: one more unpin is refused");
        assertEquals(0, bo.pinCount());
        assertContent(p, bo, "after the pinning");
        for (int i = 0; i < ballast.size(); i++) {
            assertContent(ballastContent.get(i), ballast.get(i), "ballast " + i);
        }
    }

    private void runPinners(BufferObject bo, byte[] p, List<BufferObject> ballast, int threads, int iterations,
            boolean heldThroughout) {
        CountDownLatch done = new CountDownLatch(threads);
        AtomicLong passes = new AtomicLong();
        Workers w = fx.workers();
        for (int t = 0; t < threads; t++) {
            int seed = t;
            w.add("pinner-" + t, () -> {
                try {
                    SplittableRandom rnd = new SplittableRandom(seed);
                    for (int i = 0; goOn(i, iterations, passes, w); i++) {
                        bo.pin();
                        try {
                            assertEquals(Residency.RESIDENT, bo.residency(), "pinned: resident");
                            assertTrue(bo.pinCount() >= (heldThroughout ? 2 : 1), "my pin counts");
                            if (i % 64 == 0) {
                                assertSlice(p, bo, rnd.nextInt(31 * PAGE), PAGE, "pinned object");
                            }
                        } finally {
                            bo.unpin();
                        }
                    }
                } finally {
                    done.countDown();
                }
            });
        }
        w.add("reclaimer", reclaimer(done, ballast, passes, () -> {
            if (heldThroughout) {
                assertEquals(Residency.RESIDENT, bo.residency(), "a pin is held: never evicted");
            }
        }));
        w.start().join();
    }

    // ---- getPages / putPages -------------------------------------------------------------------

    @Test
    void getPagesAndPutPagesRacingWithReclaimKeepContentAndBalance() {
        BufferObject bo = client.create(32L * PAGE);
        byte[] p = writePattern(bo, 2);
        List<byte[]> ballastContent = new ArrayList<>();
        List<BufferObject> ballast = ballast(4, ballastContent);
        int threads = 3;
        int iterations = 2000;
        CountDownLatch done = new CountDownLatch(threads);
        AtomicLong passes = new AtomicLong();
        Workers w = fx.workers();
        for (int t = 0; t < threads; t++) {
            int seed = t;
            w.add("user-" + t, () -> {
                try {
                    SplittableRandom rnd = new SplittableRandom(seed);
                    for (int i = 0; goOn(i, iterations, passes, w); i++) {
                        bo.getPages();
                        try {
                            assertTrue(bo.pagesUseCount() >= 1);
                            if (i % 50 == 0) { // a weak use does not keep it in: the read may swap in
                                assertSlice(p, bo, rnd.nextInt(31 * PAGE), PAGE, "used object");
                            }
                        } finally {
                            bo.putPages();
                        }
                    }
                } finally {
                    done.countDown();
                }
            });
        }
        w.add("reclaimer", reclaimer(done, ballast, passes, () -> { }));
        w.start().join();

        assertEquals(0, bo.pagesUseCount());
        assertThrows(IllegalStateException.class, bo::putPages, "balanced");
        assertContent(p, bo, "after the race");
        for (int i = 0; i < ballast.size(); i++) {
            assertContent(ballastContent.get(i), ballast.get(i), "ballast " + i);
        }
    }

    // ---- vmap / close --------------------------------------------------------------------------

    @Test
    void vmapAndCloseFromSeveralThreadsKeepCountsConsistentAndViewsReadable() {
        BufferObject bo = client.create(16L * PAGE);
        byte[] p = writePattern(bo, 3);
        long[] offsets = {0, 8L * PAGE + 8, 16L * PAGE - 8};
        List<byte[]> ballastContent = new ArrayList<>();
        List<BufferObject> ballast = ballast(4, ballastContent);
        int threads = 4;
        int iterations = 1500;
        CountDownLatch done = new CountDownLatch(threads);
        AtomicLong passes = new AtomicLong();
        Workers w = fx.workers();
        for (int t = 0; t < threads; t++) {
            w.add("vmapper-" + t, () -> {
                try {
                    for (int i = 0; goOn(i, iterations, passes, w); i++) {
                        try (Vmap v = bo.vmap()) {
                            MemorySegment s = v.segment();
                            assertEquals(bo.size(), s.byteSize());
                            for (long off : offsets) {
                                assertEquals(MemorySegment.ofArray(p).get(ValueLayout.JAVA_LONG_UNALIGNED, off),
                                        s.get(ValueLayout.JAVA_LONG_UNALIGNED, off), "view content at " + off);
                            }
                            assertEquals(1, bo.pinCount(), "all open views hold exactly one pin");
                            assertTrue(bo.vmapCount() >= 1);
                            assertEquals(Residency.RESIDENT, bo.residency());
                        }
                    }
                } finally {
                    done.countDown();
                }
            });
        }
        w.add("reclaimer", reclaimer(done, ballast, passes, () -> { }));
        w.start().join();

        assertEquals(new Fixture.State(bo.residency(), 1, 0, 0, 0), Fixture.State.of(bo));
        assertEquals(0, mm.stats().pinned());
        assertContent(p, bo, "after the race");
    }

    // ---- read / write racing with the object's free -------------------------------------------

    @Test
    void readAndWriteRacingWithCloseAndReleaseCompleteOrThrowIllegalStateException() {
        long deadline = System.nanoTime() + 3 * DEADLINE.toNanos();
        for (int round = 0; round < 6; round++) {
            BufferObject bo = client.create(16L * PAGE);
            bo.write(0, filled(bo.size(), (byte) 1));
            BufferObject bystander = client.create(4L * PAGE);
            byte[] pb = writePattern(bystander, round);
            bo.retain();
            bo.retain();
            assertEquals(3, bo.refCount());
            int size = (int) bo.size();
            CountDownLatch warmedUp = new CountDownLatch(4);
            Workers w = fx.workers();
            for (int t = 0; t < 2; t++) {
                w.add("reader-" + t, () -> {
                    byte[] buf = new byte[size];
                    boolean warm = false;
                    try {
                        for (int ops = 0; ; ops++) {
                            Arrays.fill(buf, (byte) 0x5A);
                            try {
                                bo.read(0, MemorySegment.ofArray(buf));
                            } catch (IllegalStateException freed) {
                                Fixture.assertAllBytes((byte) 0x5A, buf, "a failed read copies nothing");
                                return;
                            }
                            byte v = buf[0];
                            assertTrue(v >= 1 && v <= 9, "a value that was written: " + v);
                            Fixture.assertAllBytes(v, buf, "reads and writes are atomic");
                            if (ops == 20) {
                                warm = true;
                                warmedUp.countDown();
                            }
                            assertTrue(System.nanoTime() < deadline, "reads kept working after the object was freed");
                        }
                    } finally {
                        if (!warm) {
                            warmedUp.countDown();
                        }
                    }
                });
                int writer = t;
                w.add("writer-" + t, () -> {
                    boolean warm = false;
                    try {
                        for (int ops = 0; ; ops++) {
                            try {
                                bo.write(0, filled(size, (byte) (2 + (writer * 4 + ops) % 8)));
                            } catch (IllegalStateException freed) {
                                return;
                            }
                            if (ops == 20) {
                                warm = true;
                                warmedUp.countDown();
                            }
                            assertTrue(System.nanoTime() < deadline, "writes kept working after the object was freed");
                        }
                    } finally {
                        if (!warm) {
                            warmedUp.countDown();
                        }
                    }
                });
            }
            w.add("closer", () -> {
                await(warmedUp, "readers and writers at work");
                bo.close();
            });
            w.add("releaser", () -> {
                await(warmedUp, "readers and writers at work");
                bo.release();
                bo.release();
            });
            w.start().join();

            assertEquals(0, bo.refCount());
            assertThrows(IllegalStateException.class, () -> bo.read(0, MemorySegment.ofArray(new byte[8])));
            assertThrows(IllegalStateException.class, () -> bo.write(0, MemorySegment.ofArray(new byte[8])));
            assertThrows(IllegalStateException.class, bo::release);
            assertContent(pb, bystander, "an unrelated object, round " + round);
            assertEquals(CAP - (round + 1) * 4L * PAGE, mm.stats().free(), "the freed object's frames are back");
        }
        client.close();
        assertEquals(CAP, mm.stats().free(), "every frame is back once everything is closed");
        assertEquals(0, mm.stats().swapUsed());
    }

    // ---- everything at once, with background reclaim -------------------------------------------

    @Test
    void mixedOperationsFromTwoThreadsWithBackgroundReclaimKeepEveryByte() {
        MemoryManager bg = fx.build(fx.builder(4 * MiB, 32 * MiB).watermarks(0.25, 0.5).backgroundReclaim(true));
        Client c = bg.openClient("mixed");
        BufferObject shared = c.create(256 * KiB);
        byte[] sharedContent = writePattern(shared, 99);
        long end = System.nanoTime() + Duration.ofSeconds(3).toNanos();
        List<Mixer> mixers = List.of(new Mixer(bg, c, shared, sharedContent, 1), new Mixer(bg, c, shared, sharedContent, 2));
        Workers w = fx.workers();
        for (Mixer m : mixers) {
            w.add("mixer-" + m.seed, () -> m.run(end, w));
        }
        w.start().join();

        for (Mixer m : mixers) {
            for (int i = 0; i < m.objects.size(); i++) {
                BufferObject bo = m.objects.get(i);
                // residency is left out: the background thread may evict at any moment
                assertEquals(List.of(1, 0, 0, 0), List.of(bo.refCount(), bo.pagesUseCount(), bo.pinCount(), bo.vmapCount()),
                        "refs, page uses, pins, vmaps of mixer " + m.seed + " object " + i);
                assertContent(m.shadow.get(i), bo, "mixer " + m.seed + " object " + i);
            }
            assertTrue(m.ops > 0);
        }
        assertContent(sharedContent, shared, "the shared object");
        assertEquals(0, bg.stats().pinned());
    }

    /** One thread's share of the mixed workload: its own objects and their expected content. */
    private static final class Mixer {
        final MemoryManager mm;
        final Client client;
        final BufferObject shared;
        final byte[] sharedContent;
        final int seed;
        final List<BufferObject> objects = new ArrayList<>();
        final List<byte[]> shadow = new ArrayList<>();
        long ops;

        Mixer(MemoryManager mm, Client client, BufferObject shared, byte[] sharedContent, int seed) {
            this.mm = mm;
            this.client = client;
            this.shared = shared;
            this.sharedContent = sharedContent;
            this.seed = seed;
        }

        void run(long end, Workers workers) {
            SplittableRandom rnd = new SplittableRandom(seed);
            for (int i = 0; i < 10; i++) { // 10 x 256 KiB per thread: 5 MiB in 4 MiB
                BufferObject bo = client.create(256 * KiB);
                objects.add(bo);
                shadow.add(writePattern(bo, seed * 100L + i));
            }
            BufferObject scratch = null;
            ArrayDeque<Fence> pending = new ArrayDeque<>();
            try {
                while (System.nanoTime() < end && !workers.failed()) {
                    ops++;
                    int k = rnd.nextInt(objects.size());
                    BufferObject bo = objects.get(k);
                    byte[] exp = shadow.get(k);
                    int size = exp.length;
                    int len = 1 + rnd.nextInt(16 * PAGE);
                    int off = rnd.nextInt(size - len + 1);
                    switch (rnd.nextInt(10)) {
                        case 0 -> {
                            byte[] data = pattern(rnd.nextLong(), len);
                            bo.write(off, MemorySegment.ofArray(data));
                            System.arraycopy(data, 0, exp, off, len);
                        }
                        case 1 -> assertSlice(exp, bo, off, len, "read");
                        case 2 -> {
                            bo.pin();
                            try {
                                assertEquals(Residency.RESIDENT, bo.residency());
                                assertSlice(exp, bo, off, len, "pinned read");
                            } finally {
                                bo.unpin();
                            }
                        }
                        case 3 -> {
                            bo.getPages();
                            try {
                                assertSlice(exp, bo, off, len, "read under getPages");
                            } finally {
                                bo.putPages();
                            }
                        }
                        case 4 -> {
                            try (Vmap v = bo.vmap()) {
                                MemorySegment s = v.segment();
                                assertBytes(Arrays.copyOfRange(exp, off, off + len),
                                        s.asSlice(off, len).toArray(ValueLayout.JAVA_BYTE), "view at " + off);
                                long x = rnd.nextLong();
                                int at = Math.min(off, size - 8);
                                s.set(ValueLayout.JAVA_LONG_UNALIGNED, at, x); // zero copy: this is the content
                                MemorySegment.ofArray(exp).set(ValueLayout.JAVA_LONG_UNALIGNED, at, x);
                            }
                        }
                        case 5 -> {
                            Fence f = new Fence();
                            bo.resv().addFence(f, FenceUsage.values()[rnd.nextInt(4)]);
                            pending.add(f);
                            if (pending.size() > 2) {
                                pending.poll().signal();
                            }
                        }
                        case 6 -> mm.reclaim((1 + rnd.nextInt(64)) * (long) PAGE);
                        case 7 -> {
                            if (rnd.nextBoolean()) {
                                shared.pin();
                                try {
                                    assertSlice(sharedContent, shared, off, len, "shared pinned");
                                } finally {
                                    shared.unpin();
                                }
                            } else {
                                assertSlice(sharedContent, shared, off, len, "shared");
                            }
                        }
                        case 8 -> {
                            if (scratch == null) {
                                scratch = client.create(128 * KiB);
                            }
                            try {
                                scratch.write(0, filled(PAGE, (byte) 7));
                                scratch.madvise(Madvise.DONTNEED);
                            } catch (PurgedException purged) { // allowed: it was purgeable
                                scratch.close();
                                scratch = null;
                            }
                        }
                        default -> {
                            Reservation r = bo.resv();
                            r.lock();
                            try { // several operations made atomic by the held reservation
                                byte[] data = pattern(rnd.nextLong(), len);
                                bo.write(off, MemorySegment.ofArray(data));
                                System.arraycopy(data, 0, exp, off, len);
                                assertSlice(exp, bo, off, len, "under the lock");
                            } finally {
                                r.unlock();
                            }
                        }
                    }
                }
            } finally {
                while (!pending.isEmpty()) {
                    pending.poll().signal();
                }
            }
        }
    }

    // ---- reservations --------------------------------------------------------------------------

    @Test
    void acquireContextsLockingInOppositeOrderDoNotDeadlock() {
        BufferObject a = client.create(PAGE);
        BufferObject b = client.create(PAGE);
        Resv ra = Access.gem(a).resv();
        Resv rb = Access.gem(b).resv();
        int iterations = 3000;
        long[] inside = {0}; // guarded by both reservations
        Workers w = fx.workers();
        for (List<Resv> order : List.of(List.of(ra, rb), List.of(rb, ra))) {
            w.add("ctx-" + (order.get(0) == ra ? "ab" : "ba"), () -> {
                for (int i = 0; i < iterations; i++) {
                    try (AcquireContext ctx = new AcquireContext()) {
                        ctx.lockAll(order);
                        assertTrue(ra.isHeldByCurrentThread() && rb.isHeldByCurrentThread(), "both held");
                        inside[0]++;
                    }
                    assertFalse(ra.isHeldByCurrentThread() || rb.isHeldByCurrentThread(), "close unlocks both");
                }
            });
        }
        w.start().join(); // bounded: a deadlock fails here naming the stuck threads
        assertEquals(2L * iterations, inside[0], "mutual exclusion: no increment lost");
        assertFalse(ra.isLocked());
        assertFalse(rb.isLocked());
        a.write(0, filled(8, (byte) 1)); // and the objects' operations can take the locks again
        b.write(0, filled(8, (byte) 2));
    }

    @Test
    void interruptDuringReservationLockKeepsWaitingThenAcquiresWithTheInterruptStatusSet() throws Exception {
        BufferObject bo = client.create(PAGE);
        Reservation r = bo.resv();
        r.lock();
        CompletableFuture<String> result = new CompletableFuture<>();
        AtomicLong acquiredAt = new AtomicLong();
        Thread waiter = new Thread(() -> {
            try {
                r.lock();
                acquiredAt.set(System.nanoTime());
                boolean interrupted = Thread.currentThread().isInterrupted();
                boolean held = r.isHeldByCurrentThread();
                r.unlock();
                result.complete("held=" + held + ", interrupted=" + interrupted);
            } catch (Throwable e) {
                result.completeExceptionally(e);
            }
        }, "resv-waiter");
        waiter.setDaemon(true);
        waiter.start();
        try {
            awaitCondition(() -> waiter.getState() == Thread.State.WAITING, "the waiter blocked in lock()");
            waiter.interrupt();
            try {
                String early = result.get(100, TimeUnit.MILLISECONDS);
                fail("lock() returned while the lock was held elsewhere: " + early);
            } catch (TimeoutException stillWaiting) {
                // as it should: the interrupt does not end the wait
            } catch (ExecutionException e) {
                fail("lock() threw on interrupt instead of waiting: " + e.getCause(), e.getCause());
            }
            assertTrue(r.isHeldByCurrentThread(), "the lock is still ours");
            assertEquals(0, acquiredAt.get());
        } finally {
            long releasedAt = System.nanoTime();
            r.unlock();
            assertEquals("held=true, interrupted=true", result.get(DEADLINE.toMillis(), TimeUnit.MILLISECONDS));
            assertTrue(acquiredAt.get() - releasedAt >= 0, "acquired only after the release");
        }
        waiter.join(DEADLINE.toMillis());
        assertFalse(waiter.isAlive());
        assertFalse(r.isHeldByCurrentThread());
        assertTrue(r.tryLock(), "free again");
        r.unlock();
    }
}
