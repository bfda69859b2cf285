package dev.memmgr;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memmgr.internal.dmabuf.Deferred;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Helpers of the buffer-sharing tests: map and unmap with the reservation held, a move listener
 * that records what it saw when told, and the deferred worker's drain.
 */
final class DmaBufTestSupport {
    private DmaBufTestSupport() {
    }

    /** Maps {@code a} holding its buffer's reservation around the call. */
    static MemorySegment map(Attachment a) {
        Reservation r = a.dmaBuf().resv();
        r.lock();
        try {
            return a.map();
        } finally {
            r.unlock();
        }
    }

    /** Unmaps {@code a} holding its buffer's reservation around the call. */
    static void unmap(Attachment a) {
        Reservation r = a.dmaBuf().resv();
        r.lock();
        try {
            a.unmap();
        } finally {
            r.unlock();
        }
    }

    /** Waits (bounded) until the deferred worker of the dma-buf free path has run every task handed to it so far. */
    static void drainDeferred() {
        assertTrue(Deferred.drain(Fixture.DEADLINE.toMillis()), "the deferred dma-buf worker finished its tasks");
    }

    /** What a {@link Recorder} saw at one notice. */
    record Notice(Attachment attachment, Thread thread, boolean resvHeld, boolean mappedWhenTold, byte[] oldContent) {
    }

    /**
     * A MoveListener that records each notice: the thread, whether it held the reservation,
     * whether the attachment was still mapped, and the bytes of the old mapping (read inside the
     * listener). An optional action runs after the recording (a listener that calls back).
     */
    static final class Recorder implements MoveListener {
        private final List<Notice> notices = new ArrayList<>();
        private final Consumer<Attachment> then;
        /** The segment to read inside the listener (set by the test after map). */
        volatile MemorySegment oldSegment;

        Recorder() {
            this(a -> { });
        }

        Recorder(Consumer<Attachment> then) {
            this.then = then;
        }

        @Override
        public void moveNotify(Attachment a) {
            MemorySegment s = oldSegment;
            byte[] content = s == null ? null : Fixture.bytesOf(s);
            synchronized (this) {
                notices.add(new Notice(a, Thread.currentThread(), a.dmaBuf().resv().isHeldByCurrentThread(),
                        a.isMapped(), content));
            }
            then.accept(a);
        }

        synchronized List<Notice> notices() {
            return List.copyOf(notices);
        }

        synchronized int count() {
            return notices.size();
        }
    }

    /** Asserts the counts of an object: refCount, pagesUseCount, pinCount, vmapCount. */
    static void assertCounts(BufferObject bo, int refs, int uses, int pins, int vmaps, String what) {
        assertEquals(List.of(refs, uses, pins, vmaps),
                List.of(bo.refCount(), bo.pagesUseCount(), bo.pinCount(), bo.vmapCount()),
                what + ": [refCount, pagesUseCount, pinCount, vmapCount]");
    }
}
