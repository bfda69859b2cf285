package dev.memmgr.internal.mem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memmgr.internal.sys.LibC;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.Pipe;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Tearing a view down while another thread's I/O or native call holds its segment: unmap returns
 * normally, the range stops showing the frames at once (the frames can be given to another
 * object), the blocked call's bytes land in anonymous memory, and a later retry closes the arena.
 * The reader is known to be blocked from /proc (it sleeps in read(2)), not from timing.
 */
class VmappingTeardownTest {
    private static final int PAGE = 4096;
    private static final byte OLD = 0x11;
    private static final byte REUSED = 0x55;
    private static final byte PIPED = 0x7A;

    private PhysMem mem;
    private MapBudget budget;
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @BeforeEach
    void setUp() {
        mem = PhysMem.create(64L * PAGE, PAGE);
        budget = new MapBudget(100);
    }

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : toClose) {
            c.close();
        }
        Vmapping.retryDeferredCloses();
        mem.close();
    }

    private static ExtentList scattered() {
        ExtentList frames = new ExtentList();
        frames.add(5, 2);
        frames.add(20, 1);
        return frames;
    }

    private static byte[] bytes(int n, byte value) {
        byte[] b = new byte[n];
        Arrays.fill(b, value);
        return b;
    }

    @Test
    void aPipeReadIntoTheViewsByteBufferDoesNotStopTeardown() throws Exception {
        Vmapping v = Vmapping.map(mem, scattered(), budget);
        MemorySegment view = v.segment();
        view.fill(OLD);
        Pipe pipe = Pipe.open();
        toClose.add(pipe.source());
        toClose.add(pipe.sink());
        int[] tid = {-1};
        CompletableFuture<Integer> read = new CompletableFuture<>();
        Thread reader = Thread.ofPlatform().start(() -> {
            try {
                tid[0] = Syscalls.currentTid();
                synchronized (tid) {
                    tid.notifyAll();
                }
                read.complete(pipe.source().read(view.asByteBuffer()));
            } catch (Throwable t) {
                read.completeExceptionally(t);
            }
        });
        Syscalls.awaitBlockedInRead(awaitTid(tid), -1, 10);

        tearDownWhileHeld(v, view);
        pipe.sink().write(ByteBuffer.wrap(bytes(100, PIPED)));
        assertEquals(100, read.get(10, TimeUnit.SECONDS));
        reader.join(TimeUnit.SECONDS.toMillis(10));
        afterTheHolderReturned(view, 100);
    }

    @Test
    void aNativeCallHoldingTheSegmentDoesNotStopTeardown() throws Throwable {
        Vmapping v = Vmapping.map(mem, scattered(), budget);
        MemorySegment view = v.segment();
        view.fill(OLD);
        int[] fds = Syscalls.pipe();
        toClose.add(() -> LibC.close(fds[0]));
        toClose.add(() -> LibC.close(fds[1]));
        int[] tid = {-1};
        CompletableFuture<Long> read = new CompletableFuture<>();
        Thread reader = Thread.ofPlatform().start(() -> {
            try {
                tid[0] = Syscalls.currentTid();
                synchronized (tid) {
                    tid.notifyAll();
                }
                read.complete(Syscalls.nativeRead(fds[0], view));
            } catch (Throwable t) {
                read.completeExceptionally(t);
            }
        });
        Syscalls.awaitBlockedInRead(awaitTid(tid), fds[0], 10);

        tearDownWhileHeld(v, view);
        Syscalls.nativeWrite(fds[1], bytes(300, PIPED));
        assertEquals(300L, read.get(10, TimeUnit.SECONDS));
        reader.join(TimeUnit.SECONDS.toMillis(10));
        afterTheHolderReturned(view, 300);
    }

    /** Unmaps while the segment is held, then hands its frames to "another object". */
    private void tearDownWhileHeld(Vmapping v, MemorySegment view) throws IOException {
        int deferredBefore = Vmapping.deferredCloses();
        long base = view.address();
        assertEquals(2, areasIn(base, view.byteSize()).size(), "one area per extent: " + areasIn(base, view.byteSize()));
        assertEquals(2, budget.used());

        v.unmap(); // returns normally although the arena cannot be closed
        v.unmap(); // idempotent
        assertTrue(v.isUnmapped());
        assertEquals(deferredBefore + 1, Vmapping.deferredCloses());
        assertEquals(1, budget.used(), "the replaced range counts one area until it closes");
        assertEquals(1, budget.deferredAreas());
        List<String> areas = areasIn(base, view.byteSize());
        assertEquals(1, areas.size(), "one anonymous area replaced the view: " + areas);
        assertFalse(areas.get(0).contains("memfd"), areas.get(0));
        assertEquals(0, view.get(ValueLayout.JAVA_BYTE, 0), "the old range reads zeros at once");
        assertEquals(0, view.get(ValueLayout.JAVA_BYTE, 2L * PAGE + 7));

        // the frames go to another object, which writes them
        mem.frames(5, 2).fill(REUSED);
        mem.frames(20, 1).fill(REUSED);
        view.set(ValueLayout.JAVA_BYTE, 2L * PAGE + 9, (byte) 1); // a stale write
        assertEquals(0, Vmapping.retryDeferredCloses(), "still held: nothing to close");
    }

    /** The held call has returned: its bytes went nowhere near the frames; a retry closes the view. */
    private void afterTheHolderReturned(MemorySegment view, int piped) {
        assertEquals(PIPED, view.get(ValueLayout.JAVA_BYTE, 0), "the read landed in the anonymous memory");
        assertEquals(PIPED, view.get(ValueLayout.JAVA_BYTE, piped - 1));
        for (int f : new int[] {5, 6, 20}) {
            MemorySegment frame = mem.frames(f, 1);
            for (long i = 0; i < PAGE; i++) {
                assertEquals(REUSED, frame.get(ValueLayout.JAVA_BYTE, i), "frame " + f + " byte " + i);
            }
        }
        int deferred = Vmapping.deferredCloses();
        assertTrue(Vmapping.retryDeferredCloses() >= 1);
        assertEquals(deferred - 1, Vmapping.deferredCloses());
        assertEquals(0, budget.used());
        assertEquals(0, budget.deferredAreas());
        assertThrows(IllegalStateException.class, () -> view.get(ValueLayout.JAVA_BYTE, 0));
        assertThrows(IllegalStateException.class, () -> view.set(ValueLayout.JAVA_BYTE, 0, (byte) 1));
        assertEquals(List.of(), areasIn(view.address(), view.byteSize()), "the range is unmapped");
    }

    @Test
    void aLaterUnmapRetriesTheDeferredClose() throws Throwable {
        Vmapping held = Vmapping.map(mem, scattered(), budget);
        MemorySegment view = held.segment();
        int[] fds = Syscalls.pipe();
        toClose.add(() -> LibC.close(fds[0]));
        toClose.add(() -> LibC.close(fds[1]));
        int[] tid = {-1};
        CompletableFuture<Long> read = new CompletableFuture<>();
        Thread.ofPlatform().start(() -> {
            try {
                tid[0] = Syscalls.currentTid();
                synchronized (tid) {
                    tid.notifyAll();
                }
                read.complete(Syscalls.nativeRead(fds[0], view.asSlice(0, 16)));
            } catch (Throwable t) {
                read.completeExceptionally(t);
            }
        });
        Syscalls.awaitBlockedInRead(awaitTid(tid), fds[0], 10);
        held.unmap();
        assertEquals(1, budget.deferredAreas());
        Syscalls.nativeWrite(fds[1], bytes(16, PIPED));
        assertEquals(16L, read.get(10, TimeUnit.SECONDS));

        ExtentList one = new ExtentList();
        one.add(30, 1);
        Vmapping other = Vmapping.map(mem, one, budget);
        other.unmap(); // closes its own arena, then retries the deferred one
        assertEquals(0, budget.used());
        assertEquals(0, budget.deferredAreas());
        assertThrows(IllegalStateException.class, () -> view.get(ValueLayout.JAVA_BYTE, 0));
    }

    @Test
    void anUnheldViewClosesAtOnceAndReleasesItsAreas() {
        int deferred = Vmapping.deferredCloses();
        Vmapping v = Vmapping.map(mem, scattered(), budget);
        MemorySegment view = v.segment();
        v.unmap();
        assertEquals(deferred, Vmapping.deferredCloses());
        assertEquals(0, budget.used());
        assertEquals(0, budget.deferredAreas());
        assertThrows(IllegalStateException.class, () -> view.get(ValueLayout.JAVA_BYTE, 0));
        assertEquals(List.of(), areasIn(view.address(), view.byteSize()));
    }

    @Test
    void closingPhysMemWhileItsDirectMapIsHeldNeitherFailsNorLeaksTheFrames() throws Throwable {
        PhysMem other = PhysMem.create(16L * PAGE, PAGE);
        MemorySegment frame = other.frames(3, 1);
        frame.fill(OLD);
        int[] fds = Syscalls.pipe();
        toClose.add(() -> LibC.close(fds[0]));
        toClose.add(() -> LibC.close(fds[1]));
        int[] tid = {-1};
        CompletableFuture<Long> read = new CompletableFuture<>();
        Thread.ofPlatform().start(() -> {
            try {
                tid[0] = Syscalls.currentTid();
                synchronized (tid) {
                    tid.notifyAll();
                }
                read.complete(Syscalls.nativeRead(fds[0], frame));
            } catch (Throwable t) {
                read.completeExceptionally(t);
            }
        });
        Syscalls.awaitBlockedInRead(awaitTid(tid), fds[0], 10);
        int deferred = Vmapping.deferredCloses();
        other.close(); // returns normally
        assertTrue(other.isClosed());
        assertEquals(deferred + 1, Vmapping.deferredCloses());
        assertEquals(0, frame.get(ValueLayout.JAVA_BYTE, 0), "the direct map's range is anonymous memory now");
        List<String> areas = areasIn(other.directMap().address(), other.capacity());
        assertEquals(1, areas.size(), String.valueOf(areas));
        assertFalse(areas.get(0).contains("memfd"), areas.get(0));
        Syscalls.nativeWrite(fds[1], bytes(8, PIPED));
        assertEquals(8L, read.get(10, TimeUnit.SECONDS));
        assertEquals(PIPED, frame.get(ValueLayout.JAVA_BYTE, 7));
        assertTrue(Vmapping.retryDeferredCloses() >= 1);
        assertEquals(deferred, Vmapping.deferredCloses());
        assertThrows(IllegalStateException.class, () -> frame.get(ValueLayout.JAVA_BYTE, 0));
        other.close(); // idempotent
    }

    private static int awaitTid(int[] tid) throws InterruptedException {
        synchronized (tid) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (tid[0] < 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError("the reader did not start");
                }
                TimeUnit.NANOSECONDS.timedWait(tid, left);
            }
            return tid[0];
        }
    }

    /** @return the lines of /proc/self/maps that lie inside [base, base + bytes) */
    static List<String> areasIn(long base, long bytes) {
        List<String> inside = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
                int dash = line.indexOf('-');
                int space = line.indexOf(' ');
                long start = Long.parseUnsignedLong(line.substring(0, dash), 16);
                long end = Long.parseUnsignedLong(line.substring(dash + 1, space), 16);
                if (start < base + bytes && end > base) {
                    inside.add(line);
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return inside;
    }
}
