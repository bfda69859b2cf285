package dev.memmgr;

import static dev.memmgr.Fixture.DEADLINE;
import static dev.memmgr.Fixture.KiB;
import static dev.memmgr.Fixture.MiB;
import static dev.memmgr.Fixture.PAGE;
import static dev.memmgr.Fixture.assertBytes;
import static dev.memmgr.Fixture.await;
import static dev.memmgr.Fixture.awaitCondition;
import static dev.memmgr.Fixture.filled;
import static dev.memmgr.Fixture.pattern;
import static dev.memmgr.Fixture.writePattern;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@link MemoryManager#close()} while other threads work: it returns in bounded time, the other
 * threads get IllegalStateException and nothing else, every object is freed, open views throw
 * IllegalStateException, and the statistics still answer.
 */
@ExtendWith(MemmgrExtension.class)
class ManagerCloseTest {
    private Fixture fx;

    @BeforeEach
    void setUp(Fixture fx) {
        this.fx = fx;
    }
    private static final long CAP = 8 * MiB;


    /** A worker loop: runs {@code op} until it throws IllegalStateException (the manager closed). */
    @FunctionalInterface
    private interface Op {
        void run(int i) throws Exception;
    }

    private static Workers.Body untilClosed(String name, Op op, CountDownLatch warm,
            Map<String, Throwable> endedWith) {
        return () -> {
            long deadline = System.nanoTime() + 3 * DEADLINE.toNanos();
            boolean counted = false;
            try {
                for (int i = 0; ; i++) {
                    try {
                        op.run(i);
                    } catch (IllegalStateException closed) {
                        endedWith.put(name, closed);
                        return;
                    } catch (GpuOutOfMemoryException expected) {
                        // direct reclaim only try-locks: with eight threads on few cores, every
                        // evictable object may be locked by another thread at that moment
                    }
                    if (i == 10) {
                        counted = true;
                        warm.countDown();
                    }
                    if (System.nanoTime() - deadline > 0) {
                        fail(name + " kept working: no IllegalStateException after the manager was closed");
                    }
                }
            } finally {
                if (!counted) {
                    warm.countDown();
                }
            }
        };
    }

    @RepeatedTest(4)
    void closeWhileOtherThreadsWorkStopsThemWithIllegalStateException() throws Exception {
        MemoryManager mm = fx.build(fx.builder(CAP, 32 * MiB).watermarks(0.25, 0.5).backgroundReclaim(true));
        List<BufferObject> objects = Collections.synchronizedList(new ArrayList<>());
        Client c = mm.openClient("close");
        BufferObject pinObj = c.create(64L * PAGE);
        BufferObject rwObj = c.create(64L * PAGE);
        BufferObject vmapObj = c.create(64L * PAGE);
        BufferObject viewObj = c.create(64L * PAGE);
        for (BufferObject bo : List.of(pinObj, rwObj, vmapObj, viewObj)) {
            writePattern(bo, bo.handle());
            objects.add(bo);
        }
        List<BufferObject> ballast = new ArrayList<>();
        for (int i = 0; i < 14; i++) { // 7 MiB: with the rest, memory pressure and evictions
            BufferObject bo = c.create(512 * KiB);
            writePattern(bo, 100 + i);
            ballast.add(bo);
            objects.add(bo);
        }
        Vmap heldView = viewObj.vmap();
        MemorySegment held = heldView.segment();

        Map<String, Throwable> endedWith = new ConcurrentHashMap<>();
        String[] names = {"pinner-1", "pinner-2", "reader-writer", "vmapper", "view-reader", "creator", "reclaimer",
            "page-user"};
        CountDownLatch warm = new CountDownLatch(names.length);
        Workers w = fx.workers();
        w.add(names[0], untilClosed(names[0], i -> {
            pinObj.pin();
            pinObj.unpin();
        }, warm, endedWith));
        w.add(names[1], untilClosed(names[1], i -> {
            pinObj.pin();
            pinObj.unpin();
        }, warm, endedWith));
        SplittableRandom rnd = new SplittableRandom(7);
        w.add(names[2], untilClosed(names[2], i -> {
            int off = rnd.nextInt(60 * PAGE);
            byte[] data = pattern(i, 2 * PAGE);
            rwObj.write(off, MemorySegment.ofArray(data));
            byte[] back = new byte[data.length];
            rwObj.read(off, MemorySegment.ofArray(back));
            assertBytes(data, back, "read back what this thread wrote");
        }, warm, endedWith));
        w.add(names[3], untilClosed(names[3], i -> {
            try (Vmap v = vmapObj.vmap()) {
                v.segment().get(ValueLayout.JAVA_LONG, (i % 64) * (long) PAGE);
            }
        }, warm, endedWith));
        w.add(names[4], untilClosed(names[4], i -> held.get(ValueLayout.JAVA_LONG, (i % 64) * (long) PAGE),
                warm, endedWith));
        w.add(names[5], untilClosed(names[5], i -> {
            BufferObject b = c.create(64 * KiB);
            objects.add(b);
            b.write(0, filled(PAGE, (byte) i));
            if (i % 2 == 0) {
                b.close();
            }
            if (i % 8 == 0) {
                mm.openClient("short-lived-" + i).close();
            }
        }, warm, endedWith));
        w.add(names[6], untilClosed(names[6], i -> {
            mm.reclaim(MiB);
            ballast.get(i % ballast.size()).read(0, MemorySegment.ofArray(new byte[PAGE]));
        }, warm, endedWith));
        w.add(names[7], untilClosed(names[7], i -> {
            BufferObject bo = ballast.get((i * 5) % ballast.size());
            bo.getPages();
            bo.putPages();
        }, warm, endedWith));
        w.start();

        await(warm, "every worker at work");
        CompletableFuture<Void> closing = new CompletableFuture<>();
        Thread closer = new Thread(() -> {
            try {
                mm.close();
                closing.complete(null);
            } catch (Throwable e) {
                closing.completeExceptionally(e);
            }
        }, "closer");
        closer.setDaemon(true);
        closer.start();
        try {
            closing.get(DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            fail("close() did not return within " + DEADLINE);
        } catch (ExecutionException e) {
            throw new AssertionError("close() threw " + e.getCause(), e.getCause());
        }
        w.join(); // bounded; any exception other than IllegalStateException fails here

        for (String name : names) {
            assertInstanceOf(IllegalStateException.class, endedWith.get(name), name + " ended with IllegalStateException");
        }
        assertThrows(IllegalStateException.class, () -> held.get(ValueLayout.JAVA_LONG, 0), "an open vmap after close");
        heldView.close(); // idempotent, does nothing once the object is freed
        List<BufferObject> all;
        synchronized (objects) {
            all = new ArrayList<>(objects);
        }
        for (BufferObject bo : all) {
            assertEquals(new Fixture.State(Residency.UNPOPULATED, 0, 0, 0, 0), Fixture.State.of(bo),
                    "object " + bo.handle() + " is freed");
            assertThrows(IllegalStateException.class, () -> bo.read(0, MemorySegment.ofArray(new byte[8])));
            assertThrows(IllegalStateException.class, bo::pin);
        }
        MemoryStats s = mm.stats();
        assertEquals(CAP, s.capacity());
        assertEquals(CAP, s.free());
        assertEquals(0, s.resident());
        assertEquals(0, s.pinned());
        assertEquals(0, s.swapUsed());
        assertEquals(CAP, mm.capacity());
        assertEquals(PAGE, mm.pageSize());
        mm.close(); // idempotent
        assertThrows(IllegalStateException.class, () -> mm.openClient("late"));
        assertThrows(IllegalStateException.class, () -> mm.reclaim(PAGE));
        assertThrows(IllegalStateException.class, () -> c.create(PAGE));
        assertThrows(IllegalStateException.class, c::stats);
    }

    @Test
    void closeDoesNotWaitForAReservationAUserHolds() throws Exception {
        MemoryManager mm = fx.manager(CAP, 32 * MiB);
        Client c = mm.openClient("held");
        BufferObject bo = c.create(16L * PAGE);
        writePattern(bo, 1);
        Reservation r = bo.resv();
        CompletableFuture<Throwable> blocked = new CompletableFuture<>();
        r.lock();
        try {
            Thread reader = new Thread(() -> {
                try {
                    bo.read(0, MemorySegment.ofArray(new byte[PAGE]));
                    blocked.complete(null);
                } catch (Throwable e) {
                    blocked.complete(e);
                }
            }, "blocked-reader");
            reader.setDaemon(true);
            reader.start();
            awaitCondition(() -> reader.getState() == Thread.State.WAITING, "the reader blocked on the reservation");

            CompletableFuture<Void> closing = CompletableFuture.runAsync(mm::close);
            closing.get(DEADLINE.toMillis(), TimeUnit.MILLISECONDS); // TimeoutException fails the test
            assertInstanceOf(IllegalStateException.class, blocked.get(DEADLINE.toMillis(), TimeUnit.MILLISECONDS),
                    "the waiting operation gives up once the manager is closed, while the lock is still held");
            assertThrows(IllegalStateException.class, () -> bo.write(0, filled(8, (byte) 1)),
                    "the holder's own operations fail once closed");
            assertTrue(r.isHeldByCurrentThread());
        } finally {
            r.unlock(); // the holder can still unlock after the object is freed
        }
        assertEquals(CAP, mm.stats().free());
        assertEquals(0, bo.refCount());
    }

    @Test
    void concurrentClosesAllReturnAndTheManagerIsClosedOnce() throws Exception {
        MemoryManager mm = fx.build(fx.builder(CAP, 32 * MiB).backgroundReclaim(true));
        Client c = mm.openClient("many");
        List<BufferObject> bos = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            BufferObject bo = c.create(256 * KiB);
            writePattern(bo, i);
            bos.add(bo);
        }
        bos.get(0).pin();
        Workers w = fx.workers();
        for (int t = 0; t < 4; t++) {
            w.add("closer-" + t, mm::close);
        }
        w.start().join();
        for (BufferObject bo : bos) {
            assertEquals(0, bo.refCount());
        }
        assertEquals(CAP, mm.stats().free());
        assertEquals(0, mm.stats().pinned());
    }
}
