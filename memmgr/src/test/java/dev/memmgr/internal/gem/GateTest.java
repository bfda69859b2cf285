package dev.memmgr.internal.gem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memmgr.MemmgrExtension;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The device gate: entries refused after close, the teardown once nobody is inside, close from inside. */
@ExtendWith(MemmgrExtension.class)
class GateTest {
    private static Thread start(Runnable r) {
        Thread t = new Thread(r, "gate-test");
        t.setDaemon(true);
        t.start();
        return t;
    }

    @Test
    void closeWaitsForThoseInsideAndRunsTheTeardownOnceInTheClosingThread() throws Exception {
        Gate g = new Gate();
        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch leave = new CountDownLatch(1);
        Thread worker = start(() -> {
            assertTrue(g.enter());
            inside.countDown();
            try {
                leave.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            g.exit();
        });
        assertTrue(inside.await(10, TimeUnit.SECONDS));
        AtomicInteger runs = new AtomicInteger();
        AtomicReference<Thread> ranIn = new AtomicReference<>();
        CountDownLatch closed = new CountDownLatch(1);
        Thread closer = start(() -> {
            g.close(() -> {
                runs.incrementAndGet();
                ranIn.set(Thread.currentThread());
            });
            closed.countDown();
        });
        assertFalse(closed.await(50, TimeUnit.MILLISECONDS), "close waits while someone is inside");
        assertFalse(g.enter(), "no new entry once closing");
        leave.countDown();
        assertTrue(closed.await(10, TimeUnit.SECONDS));
        worker.join(10_000);
        assertEquals(1, runs.get());
        assertEquals(closer, ranIn.get());
        g.close(runs::incrementAndGet);
        assertEquals(1, runs.get(), "idempotent");
        assertTrue(g.isTornDown());
    }

    @Test
    void aThreadInsideMayCloseAndTheLastToLeaveRunsTheTeardown() {
        Gate g = new Gate();
        AtomicInteger runs = new AtomicInteger();
        assertTrue(g.enter());
        assertTrue(g.enter()); // nested
        g.close(runs::incrementAndGet); // returns at once: it cannot wait for itself
        assertEquals(0, runs.get());
        assertFalse(g.enter());
        g.exit();
        assertEquals(0, runs.get(), "still inside");
        g.exit();
        assertEquals(1, runs.get(), "run by the last exit");
        assertTrue(g.isTornDown());
    }

    @Test
    void manyThreadsEnterAndExitConcurrentlyWithoutLosingCount() throws Exception {
        Gate g = new Gate();
        int threads = 4;
        CountDownLatch done = new CountDownLatch(threads);
        for (int t = 0; t < threads; t++) {
            start(() -> {
                for (int i = 0; i < 100_000; i++) {
                    if (g.enter()) {
                        g.exit();
                    }
                }
                done.countDown();
            });
        }
        assertTrue(done.await(30, TimeUnit.SECONDS));
        AtomicInteger runs = new AtomicInteger();
        g.close(runs::incrementAndGet);
        assertEquals(1, runs.get(), "nobody left inside: the closer runs it at once");
    }
}
