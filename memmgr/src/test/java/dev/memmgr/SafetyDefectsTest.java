package dev.memmgr;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.memmgr.internal.Access;
import dev.memmgr.internal.gem.EvictionListener;
import dev.memmgr.internal.gem.GemObject;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.channels.Pipe;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The defects found by trying memmgr as an adversarial user would (issue "Safety and
 * structure"), each as the user meets it. Every test here failed before its fix.
 */
@ExtendWith(MemmgrExtension.class)
class SafetyDefectsTest {
    private static final int PAGE = 4096;
    private static final long WAIT_MS = 10_000;

    private static MemoryManager manager(long capacity) {
        return MemoryManager.builder().capacity(capacity).backgroundReclaim(false).build();
    }

    private static MemorySegment filled(long n, int b) {
        byte[] a = new byte[Math.toIntExact(n)];
        Arrays.fill(a, (byte) b);
        return MemorySegment.ofArray(a);
    }

    private static byte[] content(BufferObject bo) {
        byte[] a = new byte[Math.toIntExact(bo.size())];
        bo.read(0, MemorySegment.ofArray(a));
        return a;
    }

    private static void awaitCondition(BooleanSupplier c, String what) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
        while (!c.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                fail("timed out waiting for: " + what);
            }
            Thread.onSpinWait();
            Thread.yield();
        }
    }

    /** Runs a task in a new daemon thread (not the common pool: it has one worker on two cores). */
    private static <T> CompletableFuture<T> async(java.util.concurrent.Callable<T> task) {
        CompletableFuture<T> f = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                f.complete(task.call());
            } catch (Throwable e) {
                f.completeExceptionally(e);
            }
        }, "safety-test-worker");
        t.setDaemon(true);
        t.start();
        return f;
    }

    private static CompletableFuture<Void> async(Runnable task) {
        return async(() -> {
            task.run();
            return null;
        });
    }

    private static <T> T get(CompletableFuture<T> f, String what) throws Exception {
        try {
            return f.get(WAIT_MS, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            return fail(what + ": did not finish within " + WAIT_MS + " ms");
        }
    }

    private static Throwable failure(CompletableFuture<?> f, String what) throws Exception {
        try {
            f.get(WAIT_MS, TimeUnit.MILLISECONDS);
            return fail(what + ": expected a failure");
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (TimeoutException e) {
            return fail(what + ": hangs");
        }
    }

    /** Whether a thread is inside a blocking channel read (polled from its stack). */
    private static boolean inChannelRead(Thread t) {
        for (StackTraceElement e : t.getStackTrace()) {
            if (e.getMethodName().equals("read0") || e.getMethodName().equals("read") && e.getClassName().contains("IOUtil")) {
                return true;
            }
        }
        return false;
    }

    // ---- 1. a view in use when its mapping is torn down ------------------------------------

    /** What the stale segment and the other client's object look like after a blocked read completes. */
    private record Outcome(Throwable reclaimFailure, byte[] victimAfter) {
    }

    private interface Teardown {
        void run(MemoryManager mm, BufferObject bo) throws Exception;
    }

    private static void blockedReadIntoAViewDuring(Teardown teardown, boolean managerGone) throws Exception {
        MemoryManager mm = manager(4L << 20);
        Client owner = mm.openClient("owner");
        Client other = mm.openClient("other");
        BufferObject bo = owner.create(16 * PAGE);
        bo.write(0, filled(bo.size(), 1));
        Vmap view = bo.vmap();
        MemorySegment segment = view.segment();
        view.close(); // the mapping stays cached: the segment still works, the object is evictable
        Pipe pipe = Pipe.open();
        CompletableFuture<Integer> reading = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            try {
                reading.complete(pipe.source().read(segment.asSlice(0, PAGE).asByteBuffer()));
            } catch (Throwable e) {
                reading.completeExceptionally(e);
            }
        }, "blocked-reader");
        reader.setDaemon(true);
        reader.start();
        awaitCondition(() -> inChannelRead(reader), "the reader blocks in the pipe read");
        try {
            teardown.run(mm, bo); // must not throw, must not hang
            BufferObject victim = null;
            if (!managerGone) {
                victim = other.create(mm.capacity()); // takes every frame, the freed ones included
                victim.write(0, filled(victim.size(), 7));
            }
            ByteBuffer junk = ByteBuffer.allocate(PAGE);
            Arrays.fill(junk.array(), (byte) 66);
            pipe.sink().write(junk);
            assertEquals(PAGE, get(reading, "the blocked read"));
            if (victim != null) {
                assertArrayEquals(filled(victim.size(), 7).toArray(ValueLayout.JAVA_BYTE), content(victim),
                        "the stale view's read wrote into another client's object");
            }
            try {
                byte b = segment.get(ValueLayout.JAVA_BYTE, 100);
                assertTrue(b == 0 || b == 66, "the stale view shows another object's byte: " + b);
            } catch (IllegalStateException expected) {
                // torn down for good
            }
        } finally {
            pipe.sink().close();
            pipe.source().close();
            mm.close();
        }
        assertEquals(mm.capacity(), mm.stats().free());
    }

    @Test
    void aViewInUseByBlockingIoSurvivesEvictionWithoutExposingAnotherObject() throws Exception {
        blockedReadIntoAViewDuring((mm, bo) -> assertEquals(bo.size(), mm.reclaim(bo.size()), "reclaim evicts it"), false);
    }

    @Test
    void aViewInUseByBlockingIoSurvivesTheLastReferenceGoing() throws Exception {
        blockedReadIntoAViewDuring((mm, bo) -> bo.close(), false);
    }

    @Test
    void aViewInUseByBlockingIoSurvivesManagerClose() throws Exception {
        blockedReadIntoAViewDuring((mm, bo) -> {
            mm.close();
            assertEquals(mm.capacity(), mm.stats().free(), "every frame released");
            mm.close();
        }, true);
    }

    // ---- 2. mapping exhaustion --------------------------------------------------------------

    @Test
    void scatteredVmapsBeyondTheMappingBudgetFailCleanlyInsteadOfKillingTheJvm() {
        try (MemoryManager mm = MemoryManager.builder().backgroundReclaim(false).build(); // 256 MiB
             Client c = mm.openClient("frag")) {
            int frames = (int) (mm.capacity() / PAGE);
            List<BufferObject> ones = new ArrayList<>(frames);
            MemorySegment page = filled(PAGE, 3);
            for (int i = 0; i < frames; i++) {
                BufferObject b = c.create(PAGE);
                b.write(0, page);
                ones.add(b);
            }
            for (int i = 0; i < frames; i += 2) {
                ones.get(i).close(); // every other frame free
            }
            List<Vmap> open = new ArrayList<>();
            int failures = 0;
            for (int k = 0; k < 2; k++) {
                BufferObject big = c.create(32_768L * PAGE);
                try {
                    big.write(0, filled(big.size(), 9));
                    open.add(big.vmap());
                } catch (MemoryManagerException e) {
                    failures++;
                    assertTrue(e.getMessage().contains("mapping") || e.getMessage().contains("cannot allocate"), e.getMessage());
                }
            }
            assertTrue(failures >= 1, "two scattered 32,768-page views cannot both fit the mapping limit");
            for (Vmap v : open) {
                assertEquals(9, v.segment().get(ValueLayout.JAVA_BYTE, 12345));
                v.close();
            }
        }
    }

    // ---- 3. a holder whose object is freed under it; waiters ------------------------------

    @Test
    void aHolderCanUnlockAfterTheObjectIsFreedAndWaitersDoNotHang() throws Exception {
        MemoryManager mm = manager(4L << 20);
        Client c = mm.openClient("holder");
        BufferObject bo = c.create(4 * PAGE);
        bo.write(0, filled(bo.size(), 5));
        bo.resv().lock();
        CompletableFuture<Void> reader = async(() -> bo.read(0, MemorySegment.ofArray(new byte[PAGE])));
        try {
            awaitCondition(SafetyDefectsTest::waitingInResv, "the read waits for the lock");
            c.close(); // another thread frees the object: here, the last handle goes with the client
            assertInstanceOf(IllegalStateException.class, failure(reader, "the waiting read"),
                    "a waiter gives up once the object is freed, even though the lock is still held");
        } finally {
            bo.resv().unlock(); // resv() answers after free, and its unlock works
        }
        assertFalse(bo.resv().isHeldByCurrentThread());
        mm.close();
    }

    @Test
    void waitersDoNotHangAfterManagerClose() throws Exception {
        MemoryManager mm = manager(4L << 20);
        Client c = mm.openClient("holder");
        BufferObject bo = c.create(4 * PAGE);
        Reservation r = bo.resv();
        r.lock();
        CompletableFuture<Void> pinner = async(bo::pin);
        try {
            awaitCondition(SafetyDefectsTest::waitingInResv, "the pin waits for the lock");
            async(mm::close).get(WAIT_MS, TimeUnit.MILLISECONDS);
            assertInstanceOf(IllegalStateException.class, failure(pinner, "the waiting pin"));
        } finally {
            r.unlock();
        }
    }

    // ---- 4. eviction listeners that call back ---------------------------------------------

    private static void listen(BufferObject bo, EvictionListener l) {
        GemObject o = Access.gem(bo);
        bo.resv().lock();
        try {
            o.dev().addEvictionListenerLocked(o, l);
        } finally {
            bo.resv().unlock();
        }
    }

    @Test
    void anObjectPinnedByAnEvictionListenerIsNotEvicted() {
        try (MemoryManager mm = manager(1L << 20); Client c = mm.openClient("listener")) {
            BufferObject bo = c.create(16 * PAGE);
            byte[] bytes = new byte[Math.toIntExact(bo.size())];
            for (int i = 0; i < bytes.length; i++) {
                bytes[i] = (byte) (i * 7 + 3);
            }
            bo.write(0, MemorySegment.ofArray(bytes));
            listen(bo, (o, purged) -> bo.pin());
            assertEquals(0, mm.reclaim(bo.size()), "a listener pinned it: nothing may be evicted");
            assertEquals(Residency.RESIDENT, bo.residency());
            assertEquals(1, bo.pinCount());
            try (Vmap v = bo.vmap()) {
                assertArrayEquals(bytes, v.segment().toArray(ValueLayout.JAVA_BYTE), "the view shows the object's own bytes");
            }
            bo.unpin();
        }
    }

    @Test
    void anEvictionListenerThatClosesTheManagerDoesNotDeadlock() throws Exception {
        MemoryManager mm = manager(1L << 20);
        Client c = mm.openClient("listener");
        BufferObject bo = c.create(16 * PAGE);
        bo.write(0, filled(bo.size(), 1));
        CountDownLatch told = new CountDownLatch(1);
        listen(bo, (o, purged) -> {
            told.countDown();
            mm.close();
        });
        long freed = get(async(() -> (Long) mm.reclaim(bo.size())), "reclaim whose listener closes the manager");
        assertEquals(0, told.getCount());
        assertEquals(0, freed, "the manager closed under the eviction: the object is not evicted");
        get(async(mm::close), "a later close");
        assertEquals(mm.capacity(), mm.stats().free());
        assertThrows(IllegalStateException.class, () -> bo.read(0, MemorySegment.ofArray(new byte[8])));
    }

    // ---- 5. copies that alias the object ----------------------------------------------------

    private static BufferObject fourPages(Client c) {
        BufferObject bo = c.create(4 * PAGE);
        for (int p = 0; p < 4; p++) {
            bo.write((long) p * PAGE, filled(PAGE, p + 1));
        }
        return bo;
    }

    private static int[] pageBytes(BufferObject bo) {
        byte[] all = content(bo);
        int[] out = new int[all.length / PAGE];
        for (int p = 0; p < out.length; p++) {
            for (int i = 0; i < PAGE; i++) {
                assertEquals(all[p * PAGE], all[p * PAGE + i], "page " + p + " is uniform");
            }
            out[p] = all[p * PAGE];
        }
        return out;
    }

    @Test
    void aWriteFromTheObjectsOwnViewBehavesAsMemmove() {
        try (MemoryManager mm = manager(1L << 20); Client c = mm.openClient("alias")) {
            BufferObject bo = fourPages(c);
            try (Vmap v = bo.vmap()) {
                bo.write(PAGE, v.segment().asSlice(0, 2 * PAGE)); // pages 0..1 onto 1..2
            }
            assertArrayEquals(new int[] {1, 1, 2, 4}, pageBytes(bo));
            try (Vmap v = bo.vmap()) {
                bo.write(0, v.segment().asSlice(PAGE, 2 * PAGE)); // pages 1..2 onto 0..1
            }
            assertArrayEquals(new int[] {1, 2, 2, 4}, pageBytes(bo));
        }
    }

    @Test
    void aReadIntoTheObjectsOwnViewBehavesAsMemmove() {
        try (MemoryManager mm = manager(1L << 20); Client c = mm.openClient("alias")) {
            BufferObject bo = fourPages(c);
            try (Vmap v = bo.vmap()) {
                bo.read(0, v.segment().asSlice(PAGE, 2 * PAGE)); // pages 0..1 into 1..2
            }
            assertArrayEquals(new int[] {1, 1, 2, 4}, pageBytes(bo));
        }
    }

    @Test
    void aSegmentMadeFromTheViewsAddressIsRecognisedToo() {
        try (MemoryManager mm = manager(1L << 20); Client c = mm.openClient("alias")) {
            BufferObject bo = fourPages(c);
            try (Vmap v = bo.vmap()) {
                // not a slice of the view: a segment of its own over the view's pages 1..2
                MemorySegment raw = MemorySegment.ofAddress(v.segment().address() + PAGE).reinterpret(2 * PAGE);
                bo.write(2 * PAGE, raw); // pages 1..2 onto 2..3
            }
            assertArrayEquals(new int[] {1, 2, 2, 3}, pageBytes(bo));
        }
    }

    // ---- 6. vmap racing the last reference --------------------------------------------------

    @Test
    void aVmapWaitingWhileTheLastReferenceGoesGetsIllegalStateException(Fixture f) throws Exception {
        try (MemoryManager mm = manager(1L << 20); Client c = mm.openClient("race")) {
            BufferObject bo = c.create(4 * PAGE);
            Reservation r = bo.resv();
            r.lock();
            CompletableFuture<Vmap> waiting = async(bo::vmap);
            Vmap mine;
            try {
                awaitCondition(() -> bo.refCount() == 1 && !waiting.isDone() && waitingInResv(), "the other vmap waits for the lock");
                mine = bo.vmap(); // the holder maps it...
                bo.close(); // ...and drops the last reference
            } finally {
                r.unlock();
            }
            Throwable t = failure(waiting, "the waiting vmap");
            assertInstanceOf(IllegalStateException.class, t, "not a NullPointerException");
            assertEquals(0, bo.refCount());
            assertEquals(0, bo.vmapCount());
            assertThrows(IllegalStateException.class, () -> mine.segment().get(ValueLayout.JAVA_BYTE, 0));
            f.expectLeakWarning(bo, 1, 1, 1); // freed with the holder's view open
            mine.close();
            assertEquals(mm.capacity(), mm.stats().free());
        }
    }

    private static boolean waitingInResv() {
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getState() == Thread.State.WAITING || t.getState() == Thread.State.TIMED_WAITING) {
                for (StackTraceElement e : t.getStackTrace()) {
                    if (e.getClassName().endsWith(".Resv")) { // an operation waiting for a reservation
                        return true;
                    }
                }
            }
        }
        return false;
    }

    // ---- 7. huge sparse objects --------------------------------------------------------------

    @Test
    void aOnePageWriteIntoATebibyteObjectNeedsOneFrameAndLittleHeap() {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (MemoryManager mm = manager(16L << 20); Client c = mm.openClient("sparse")) {
            BufferObject huge = c.create(1L << 40);
            huge.write(0, filled(8, 1)); // warm the paths up on page 0
            long before = threads.getCurrentThreadAllocatedBytes();
            huge.write(PAGE, filled(1, 9)); // page 1
            long allocated = threads.getCurrentThreadAllocatedBytes() - before;
            assertEquals(2L * PAGE, mm.stats().resident(), "one frame per page written");
            assertTrue(allocated < 16 * 1024, "heap for a one-page write: " + allocated + " bytes");
            byte[] b = new byte[2];
            huge.read(PAGE - 1, MemorySegment.ofArray(b));
            assertArrayEquals(new byte[] {0, 9}, b);
            huge.read((1L << 40) - 2, MemorySegment.ofArray(b));
            assertArrayEquals(new byte[] {0, 0}, b);
        }
    }

    // ---- 8. failed and empty operations change nothing -------------------------------------

    @Test
    void aWriteFromAClosedSegmentChangesNothing() {
        try (MemoryManager mm = manager(1L << 20); Client c = mm.openClient("failed")) {
            BufferObject bo = c.create(4 * PAGE);
            MemorySegment closed;
            try (Arena a = Arena.ofConfined()) {
                closed = a.allocate(PAGE);
            }
            assertThrows(IllegalStateException.class, () -> bo.write(0, closed));
            assertEquals(Residency.UNPOPULATED, bo.residency());
            assertEquals(mm.capacity(), mm.stats().free(), "no frame taken");
            bo.write(0, filled(PAGE, 4));
            mm.reclaim(mm.capacity());
            assertEquals(Residency.EVICTED, bo.residency());
            assertThrows(IllegalStateException.class, () -> bo.write(0, closed));
            assertEquals(Residency.EVICTED, bo.residency(), "not swapped in by a write that fails");
        }
    }

    @Test
    void aWriteFromAnotherThreadsConfinedSegmentChangesNothing() throws Exception {
        try (MemoryManager mm = manager(1L << 20); Client c = mm.openClient("failed"); Arena a = Arena.ofConfined()) {
            BufferObject bo = c.create(4 * PAGE);
            MemorySegment confined = a.allocate(PAGE);
            Throwable t = failure(async(() -> bo.write(0, confined)), "write from a foreign thread");
            assertInstanceOf(WrongThreadException.class, t);
            assertEquals(Residency.UNPOPULATED, bo.residency());
        }
    }

    @Test
    void zeroLengthReadsAndWritesDoNothing() {
        try (MemoryManager mm = manager(1L << 20); Client c = mm.openClient("empty")) {
            BufferObject evicted = c.create(4 * PAGE);
            evicted.write(0, filled(evicted.size(), 2));
            BufferObject purged = c.create(4 * PAGE);
            purged.write(0, filled(purged.size(), 3));
            purged.madvise(Madvise.DONTNEED);
            mm.reclaim(mm.capacity());
            assertEquals(Residency.EVICTED, evicted.residency());
            assertEquals(Residency.PURGED, purged.residency());
            long swapIns = mm.stats().swapIns();

            evicted.read(0, MemorySegment.ofArray(new byte[0]));
            evicted.write(4 * PAGE, MemorySegment.ofArray(new byte[0]));
            purged.read(0, MemorySegment.ofArray(new byte[0]));
            purged.write(0, MemorySegment.ofArray(new byte[0]));

            assertEquals(Residency.EVICTED, evicted.residency(), "a zero-length read does not swap in");
            assertEquals(swapIns, mm.stats().swapIns());
            assertEquals(Residency.PURGED, purged.residency());
            purged.close();
            assertThrows(IllegalStateException.class, () -> purged.read(0, MemorySegment.ofArray(new byte[0])),
                    "the lifecycle check still applies");
        }
    }
}
