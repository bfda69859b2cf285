package dev.memmgr;

import static dev.memmgr.Fixture.PAGE;
import static dev.memmgr.Fixture.assertAllBytes;
import static dev.memmgr.Fixture.await;
import static dev.memmgr.Fixture.bytesOf;
import static dev.memmgr.Fixture.contentOf;
import static dev.memmgr.Fixture.fill;
import static dev.memmgr.Fixture.filled;
import static dev.memmgr.Fixture.freeFrames;
import static dev.memmgr.Fixture.pages;
import static dev.memmgr.Fixture.pattern;
import static dev.memmgr.Fixture.seg;
import static dev.memmgr.Fixture.startInOtherThread;
import static dev.memmgr.Fixture.writePattern;
import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Contract of {@link BufferObject}: lifetime, page counts, read/write, madvise, owner. */
@ExtendWith(MemmgrExtension.class)
class BufferObjectTest {
    private Fixture fx;
    private MemoryManager mm;
    private Client client;

    @BeforeEach
    void setUp(Fixture fx) {
        this.fx = fx;
        mm = fx.manager();
        client = mm.openClient("bo");
    }

    private long free() {
        return mm.stats().free();
    }

    /** Marks the object DONTNEED and purges it through the shrinker. */
    private void purge(BufferObject bo) {
        assertTrue(bo.madvise(Madvise.DONTNEED));
        mm.reclaim(Long.MAX_VALUE);
        assertEquals(Residency.PURGED, bo.residency(), "setup: the object should have been purged");
    }

    /** Evicts every idle object through the shrinker. */
    private void evict(BufferObject bo) {
        mm.reclaim(Long.MAX_VALUE);
        assertEquals(Residency.EVICTED, bo.residency(), "setup: the object should have been evicted");
    }

    // ---- lifetime --------------------------------------------------------------------------

    @Test
    void aNewObjectHasOneReferenceNoUsesAndItsOwner() {
        BufferObject bo = client.create(pages(3));
        assertAll(
                () -> assertEquals(pages(3), bo.size()),
                () -> assertTrue(bo.handle() > 0, "handles are positive"),
                () -> assertEquals(1, bo.refCount()),
                () -> assertEquals(0, bo.pagesUseCount()),
                () -> assertEquals(0, bo.pinCount()),
                () -> assertEquals(0, bo.vmapCount()),
                () -> assertEquals(Residency.UNPOPULATED, bo.residency()),
                () -> assertSame(client, bo.owner()));
    }

    @Test
    void retainReturnsThisAndAddsAReferenceThatReleaseGivesBack() {
        BufferObject bo = client.create(PAGE);
        assertSame(bo, bo.retain());
        assertEquals(2, bo.refCount());
        bo.retain();
        assertEquals(3, bo.refCount());
        bo.release();
        bo.release();
        assertEquals(1, bo.refCount());
        assertEquals(Residency.UNPOPULATED, bo.residency());
        bo.write(0, filled(1, (byte) 1)); // still alive and usable
    }

    @Test
    void releaseWithoutRetainThrowsAndChangesNothing() {
        BufferObject bo = client.create(PAGE);
        fill(bo, (byte) 4);
        assertThrows(IllegalStateException.class, bo::release, "the handle's reference is dropped by close(), not release()");
        assertEquals(1, bo.refCount());
        bo.retain();
        bo.release();
        assertThrows(IllegalStateException.class, bo::release, "more releases than retains");
        assertEquals(1, bo.refCount());
        assertAllBytes((byte) 4, contentOf(bo));
    }

    @Test
    void closeDropsTheHandleReferenceOnlyOnce() {
        BufferObject bo = client.create(PAGE).retain();
        bo.close();
        assertEquals(1, bo.refCount());
        bo.close();
        bo.close();
        assertEquals(1, bo.refCount(), "close is idempotent: never drops a second reference");
        fill(bo, (byte) 3);
        assertAllBytes((byte) 3, contentOf(bo));
        bo.release();
        assertEquals(0, bo.refCount());
    }

    @Test
    void closingTheLastReferenceFreesTheFrames() {
        BufferObject bo = client.create(pages(5));
        fill(bo, (byte) 1);
        assertEquals(mm.capacity() - pages(5), free());
        bo.close();
        assertEquals(0, bo.refCount());
        assertEquals(mm.capacity(), free());
        assertEquals(0, mm.stats().resident());
    }

    @Test
    void releasingTheLastReferenceFreesAfterTheHandleIsClosed() {
        BufferObject bo = client.create(pages(2)).retain();
        fill(bo, (byte) 1);
        bo.close();
        assertEquals(mm.capacity() - pages(2), free(), "the retained reference keeps the object");
        bo.release();
        assertEquals(0, bo.refCount());
        assertEquals(mm.capacity(), free());
    }

    @Test
    void freedObjectStillAnswersIdentityAndCountersAreZero() {
        BufferObject bo = client.create(pages(3));
        int handle = bo.handle();
        fill(bo, (byte) 1);
        bo.getPages();
        bo.pin();
        Vmap v = bo.vmap();
        assertEquals(List.of(2, 1, 2), List.of(bo.pinCount(), bo.vmapCount(), bo.pagesUseCount()));
        bo.close(); // frees with outstanding uses, pins and a vmap (a leak, reported as a warning)
        fx.expectLeakWarning(bo, 2, 1, 2);
        assertAll(
                () -> assertEquals(pages(3), bo.size()),
                () -> assertEquals(handle, bo.handle()),
                () -> assertEquals(0, bo.refCount()),
                () -> assertEquals(Residency.UNPOPULATED, bo.residency()),
                () -> assertEquals(0, bo.pagesUseCount()),
                () -> assertEquals(0, bo.pinCount()),
                () -> assertEquals(0, bo.vmapCount()),
                () -> assertEquals(mm.capacity(), free(), "frames freed despite the leak"),
                () -> assertEquals(0, mm.stats().pinned()),
                () -> assertThrows(IllegalStateException.class, () -> v.segment().get(ValueLayout.JAVA_BYTE, 0)));
        assertDoesNotThrow(v::close, "closing a vmap of a freed object does nothing");
        assertDoesNotThrow(bo::close, "close stays idempotent after free");
        assertEquals(0, bo.refCount());
    }

    static Stream<Arguments> actingOperations() {
        return Stream.of(
                op("getPages", BufferObject::getPages),
                op("putPages", BufferObject::putPages),
                op("pin", BufferObject::pin),
                op("unpin", BufferObject::unpin),
                op("vmap", BufferObject::vmap),
                op("read", bo -> bo.read(0, MemorySegment.ofArray(new byte[8]))),
                op("write", bo -> bo.write(0, MemorySegment.ofArray(new byte[8]))),
                op("madvise(WILLNEED)", bo -> bo.madvise(Madvise.WILLNEED)),
                op("madvise(DONTNEED)", bo -> bo.madvise(Madvise.DONTNEED)),
                op("retain", BufferObject::retain),
                op("release", BufferObject::release));
    }

    private static Arguments op(String name, Consumer<BufferObject> op) {
        return Arguments.of(Named.of(name, op));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("actingOperations")
    void everyActingOperationOfAFreedObjectThrowsIllegalStateException(Consumer<BufferObject> op) {
        BufferObject bo = client.create(pages(2));
        fill(bo, (byte) 1);
        bo.close();
        assertThrows(IllegalStateException.class, () -> op.accept(bo));
        assertEquals(0, bo.refCount());
        assertEquals(Residency.UNPOPULATED, bo.residency());
        assertEquals(mm.capacity(), free());
    }

    // ---- getPages / putPages / pin / unpin ---------------------------------------------------

    @Test
    void getPagesPopulatesZeroedFramesAndCountsUses() {
        BufferObject bo = client.create(pages(3));
        bo.getPages();
        assertEquals(Residency.RESIDENT, bo.residency());
        assertEquals(1, bo.pagesUseCount());
        assertEquals(mm.capacity() - pages(3), free());
        assertAllBytes((byte) 0, contentOf(bo));
        bo.getPages();
        assertEquals(2, bo.pagesUseCount());
        assertEquals(mm.capacity() - pages(3), free(), "a second use allocates nothing");
        bo.putPages();
        bo.putPages();
        assertEquals(0, bo.pagesUseCount());
    }

    @Test
    void putPagesToZeroKeepsContentAndResidency() {
        BufferObject bo = client.create(pages(2));
        bo.getPages();
        byte[] p = writePattern(bo, 11);
        bo.putPages();
        assertEquals(0, bo.pagesUseCount());
        assertEquals(Residency.RESIDENT, bo.residency());
        assertEquals(mm.capacity() - pages(2), free());
        assertArrayEquals(p, contentOf(bo));
    }

    @Test
    void getPagesCompletesAPartlyWrittenObjectAndKeepsItsContent() {
        BufferObject bo = client.create(pages(4));
        bo.write(pages(1), filled(PAGE, (byte) 6));
        assertEquals(mm.capacity() - pages(1), free());
        bo.getPages();
        assertEquals(mm.capacity() - pages(4), free(), "getPages backs every page");
        byte[] c = contentOf(bo);
        assertAllBytes((byte) 0, Arrays.copyOfRange(c, 0, PAGE));
        assertAllBytes((byte) 6, Arrays.copyOfRange(c, PAGE, 2 * PAGE));
        assertAllBytes((byte) 0, Arrays.copyOfRange(c, 2 * PAGE, 4 * PAGE));
    }

    @Test
    void allPinsHoldOneUse() {
        BufferObject bo = client.create(pages(2));
        bo.pin();
        assertEquals(1, bo.pinCount());
        assertEquals(1, bo.pagesUseCount());
        assertEquals(Residency.RESIDENT, bo.residency());
        bo.pin();
        assertEquals(2, bo.pinCount());
        assertEquals(1, bo.pagesUseCount(), "all pins together hold one use");
        bo.getPages();
        assertEquals(2, bo.pagesUseCount());
        bo.unpin();
        assertEquals(1, bo.pinCount());
        assertEquals(2, bo.pagesUseCount());
        bo.unpin();
        assertEquals(0, bo.pinCount());
        assertEquals(1, bo.pagesUseCount(), "the last unpin drops the pins' use");
        bo.putPages();
        assertEquals(0, bo.pagesUseCount());
    }

    @Test
    void pinCountAboveZeroImpliesUsesAboveZeroThroughAnInterleaving() {
        BufferObject bo = client.create(pages(1));
        Runnable[] steps = {bo::getPages, bo::pin, bo::putPages, bo::pin, bo::getPages, bo::unpin, bo::unpin,
            bo::putPages, bo::pin, bo::unpin};
        for (Runnable step : steps) {
            step.run();
            assertTrue(bo.pinCount() == 0 || bo.pagesUseCount() > 0,
                    "pinCount " + bo.pinCount() + " with pagesUseCount " + bo.pagesUseCount());
            assertTrue(bo.pagesUseCount() == 0 || bo.residency() == Residency.RESIDENT);
        }
        assertEquals(0, bo.pinCount());
        assertEquals(0, bo.pagesUseCount());
    }

    @Test
    void putPagesOfTheUseHeldByPinsIsUnbalanced() {
        BufferObject bo = client.create(pages(1));
        bo.pin();
        assertThrows(IllegalStateException.class, bo::putPages, "the pins' use is not the caller's to drop");
        assertEquals(1, bo.pinCount());
        assertEquals(1, bo.pagesUseCount());
    }

    @Test
    void unbalancedUnpinAndPutPagesThrowAndChangeNothing() {
        BufferObject bo = client.create(pages(1));
        assertThrows(IllegalStateException.class, bo::unpin);
        assertThrows(IllegalStateException.class, bo::putPages);
        bo.getPages();
        bo.putPages();
        assertThrows(IllegalStateException.class, bo::putPages);
        bo.pin();
        bo.unpin();
        assertThrows(IllegalStateException.class, bo::unpin);
        assertEquals(0, bo.pinCount());
        assertEquals(0, bo.pagesUseCount());
        assertEquals(Residency.RESIDENT, bo.residency());
    }

    @Test
    void pinnedObjectIsNeverReclaimedAndCountsAsPinned() {
        BufferObject bo = client.create(pages(3));
        byte[] p = writePattern(bo, 2);
        bo.pin();
        assertEquals(pages(3), mm.stats().pinned());
        assertEquals(0, mm.reclaim(Long.MAX_VALUE));
        assertEquals(Residency.RESIDENT, bo.residency());
        bo.unpin();
        assertEquals(0, mm.stats().pinned());
        assertEquals(pages(3), mm.reclaim(Long.MAX_VALUE));
        assertEquals(Residency.EVICTED, bo.residency());
        assertArrayEquals(p, contentOf(bo));
    }

    @Test
    void weakUsesDoNotPreventEvictionAndGetPagesSwapsBackIn() {
        BufferObject bo = client.create(pages(2));
        bo.getPages();
        byte[] p = writePattern(bo, 8);
        evict(bo);
        assertEquals(1, bo.pagesUseCount(), "eviction keeps the weak use");
        assertEquals(mm.capacity(), free());
        bo.getPages();
        assertEquals(Residency.RESIDENT, bo.residency());
        assertEquals(2, bo.pagesUseCount());
        assertEquals(1, mm.stats().swapIns());
        assertArrayEquals(p, contentOf(bo));
    }

    @Test
    void pinSwapsInAnEvictedObject() {
        BufferObject bo = client.create(pages(2));
        byte[] p = writePattern(bo, 9);
        evict(bo);
        bo.pin();
        assertEquals(Residency.RESIDENT, bo.residency());
        assertEquals(1, bo.pinCount());
        assertArrayEquals(p, contentOf(bo));
    }

    @Test
    void concurrentBalancedPinsAndUsesEndAtZero() throws Exception {
        BufferObject bo = client.create(pages(1));
        bo.pin(); // keep it resident so that the fast paths are exercised too
        CountDownLatch go = new CountDownLatch(1);
        List<CompletableFuture<Void>> workers = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            workers.add(startInOtherThread(() -> {
                go.await();
                for (int i = 0; i < 2_000; i++) {
                    bo.pin();
                    bo.getPages();
                    bo.putPages();
                    bo.unpin();
                }
                return null;
            }));
        }
        go.countDown();
        for (CompletableFuture<Void> w : workers) {
            await(w);
        }
        assertEquals(1, bo.pinCount());
        assertEquals(1, bo.pagesUseCount());
        bo.unpin();
        assertEquals(0, bo.pinCount());
        assertEquals(0, bo.pagesUseCount());
    }

    @Test
    void getPagesOfAnObjectLargerThanTheCapacityFailsAndChangesNothing() {
        BufferObject bo = client.create(mm.capacity() + PAGE);
        assertThrows(GpuOutOfMemoryException.class, bo::getPages);
        assertThrows(GpuOutOfMemoryException.class, bo::pin);
        assertThrows(GpuOutOfMemoryException.class, bo::vmap);
        assertEquals(0, bo.pagesUseCount());
        assertEquals(0, bo.pinCount());
        assertEquals(0, bo.vmapCount());
        assertEquals(Residency.UNPOPULATED, bo.residency());
        assertEquals(mm.capacity(), free());
    }

    @Test
    void writeIsAllOrNothingWhenFramesRunOut() {
        try (MemoryManager small = fx.manager(pages(16))) {
            Client c = small.openClient("oom");
            BufferObject pinned = c.create(pages(12));
            pinned.pin();
            BufferObject bo = c.create(pages(8));
            byte[] first = pattern(3, PAGE);
            bo.write(0, seg(first));
            long freeBefore = small.stats().free();
            assertEquals(pages(3), freeBefore);
            assertThrows(GpuOutOfMemoryException.class, () -> fill(bo, (byte) 0x55),
                    "7 more frames needed, 3 free, the rest pinned");
            assertEquals(freeBefore, small.stats().free(), "no frame kept by the failed write");
            assertEquals(Residency.RESIDENT, bo.residency());
            byte[] c1 = contentOf(bo);
            assertArrayEquals(first, Arrays.copyOfRange(c1, 0, PAGE), "content unchanged");
            assertAllBytes((byte) 0, Arrays.copyOfRange(c1, PAGE, c1.length));
            assertEquals(pages(1), c.stats().resident() - pages(12));
        }
    }

    // ---- read / write ------------------------------------------------------------------------

    @Test
    void writeAndReadAcrossPageBoundaries() {
        BufferObject bo = client.create(pages(3));
        byte[] data = pattern(4, PAGE + 200);
        long at = PAGE - 100; // spans pages 0, 1 and 2
        bo.write(at, seg(data));
        assertArrayEquals(data, contentOf(bo, at, data.length));
        byte[] all = contentOf(bo);
        assertAllBytes((byte) 0, Arrays.copyOfRange(all, 0, (int) at));
        assertArrayEquals(data, Arrays.copyOfRange(all, (int) at, (int) at + data.length));
        assertAllBytes((byte) 0, Arrays.copyOfRange(all, (int) at + data.length, all.length));
        // a read that starts in the middle of the written range and ends in a hole
        assertArrayEquals(Arrays.copyOfRange(data, 50, data.length), Arrays.copyOfRange(contentOf(bo, at + 50, data.length + 10), 0, data.length - 50));
    }

    @Test
    void writeOfTheLastByteAndReadOfTheWholeObject() {
        BufferObject bo = client.create(pages(2));
        bo.write(bo.size() - 1, filled(1, (byte) 0x7f));
        byte[] c = contentOf(bo);
        assertEquals(0x7f, c[c.length - 1]);
        assertAllBytes((byte) 0, Arrays.copyOf(c, c.length - 1));
    }

    @Test
    void overwritesReplaceOnlyTheirRange() {
        BufferObject bo = client.create(pages(2));
        fill(bo, (byte) 1);
        bo.write(PAGE - 2, filled(4, (byte) 2));
        byte[] c = contentOf(bo);
        for (int i = 0; i < c.length; i++) {
            assertEquals(i >= PAGE - 2 && i < PAGE + 2 ? 2 : 1, c[i], "byte " + i);
        }
    }

    @Test
    void readingUnpopulatedPagesReturnsZerosAndAllocatesNothing() {
        BufferObject bo = client.create(pages(4));
        int framesBefore = freeFrames(mm);
        byte[] dirty = new byte[(int) bo.size()];
        Arrays.fill(dirty, (byte) 0x33);
        bo.read(0, seg(dirty));
        assertAllBytes((byte) 0, dirty);
        assertEquals(Residency.UNPOPULATED, bo.residency());
        assertEquals(mm.capacity(), free());
        assertEquals(framesBefore, freeFrames(mm));
        assertEquals(0, client.stats().resident());
    }

    @Test
    void readingHolesOfAWrittenObjectReturnsZerosAndAllocatesNothing() {
        BufferObject bo = client.create(pages(4));
        bo.write(pages(2), filled(10, (byte) 5));
        long freeBefore = free();
        byte[] dst = new byte[PAGE * 2];
        Arrays.fill(dst, (byte) 0x44);
        bo.read(0, seg(dst));
        assertAllBytes((byte) 0, dst);
        assertEquals(freeBefore, free(), "reading holes allocates nothing");
        assertEquals(pages(1), client.stats().resident());
    }

    @Test
    void writePopulatesOnlyThePagesItTouches() {
        BufferObject bo = client.create(pages(8));
        bo.write(pages(4) - 1, filled(2, (byte) 9)); // pages 3 and 4
        assertEquals(Residency.RESIDENT, bo.residency());
        assertEquals(mm.capacity() - pages(2), free());
        assertEquals(pages(2), client.stats().resident());
        assertEquals(pages(8), client.stats().total());
    }

    @Test
    void emptyReadsAndWritesAtTheEndAreAllowedAndAllocateNothing() {
        BufferObject bo = client.create(pages(1));
        bo.write(bo.size(), MemorySegment.ofArray(new byte[0]));
        bo.read(bo.size(), MemorySegment.ofArray(new byte[0]));
        bo.write(0, MemorySegment.ofArray(new byte[0]));
        assertEquals(Residency.UNPOPULATED, bo.residency());
        assertEquals(mm.capacity(), free());
    }

    @Test
    void writeFromAReadOnlySegmentAndReadIntoANativeSegment() {
        BufferObject bo = client.create(pages(2));
        byte[] p = pattern(1, PAGE + 7);
        bo.write(3, seg(p).asReadOnly());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment dst = arena.allocate(p.length);
            bo.read(3, dst);
            assertArrayEquals(p, bytesOf(dst));
        }
    }

    @Test
    void readIntoAReadOnlySegmentIsRejected() {
        BufferObject bo = client.create(pages(1));
        fill(bo, (byte) 1);
        byte[] dst = new byte[16];
        assertThrows(IllegalArgumentException.class, () -> bo.read(0, seg(dst).asReadOnly()));
        assertAllBytes((byte) 0, dst);
    }

    @Test
    void readAndWriteOfAnEvictedObjectSwapItIn() {
        BufferObject bo = client.create(pages(3));
        byte[] p = writePattern(bo, 12);
        evict(bo);
        assertArrayEquals(Arrays.copyOfRange(p, 10, 20), contentOf(bo, 10, 10));
        assertEquals(Residency.RESIDENT, bo.residency(), "read swaps in");
        evict(bo);
        bo.write(PAGE, filled(4, (byte) 0));
        assertEquals(Residency.RESIDENT, bo.residency(), "write swaps in");
        byte[] expected = p.clone();
        Arrays.fill(expected, PAGE, PAGE + 4, (byte) 0);
        assertArrayEquals(expected, contentOf(bo));
        assertEquals(2, mm.stats().swapIns());
    }

    @Test
    void aPartlyWrittenObjectIsEvictedAndSwappedInWithItsHoles() {
        BufferObject bo = client.create(pages(4));
        bo.write(pages(1), filled(PAGE, (byte) 3));
        assertEquals(pages(1), mm.reclaim(Long.MAX_VALUE), "only the backed page is evicted");
        assertEquals(Residency.EVICTED, bo.residency());
        assertEquals(pages(1), mm.stats().swapUsed());
        byte[] c = contentOf(bo);
        assertEquals(mm.capacity() - pages(1), free(), "swap-in brings back the backed page only");
        assertAllBytes((byte) 0, Arrays.copyOfRange(c, 0, PAGE));
        assertAllBytes((byte) 3, Arrays.copyOfRange(c, PAGE, 2 * PAGE));
        assertAllBytes((byte) 0, Arrays.copyOfRange(c, 2 * PAGE, 4 * PAGE));
    }

    @Test
    void writeIntoAHoleOfAnEvictedObjectSwapsInAndKeepsTheRest() {
        BufferObject bo = client.create(pages(4));
        bo.write(0, filled(PAGE, (byte) 1));
        evict(bo);
        bo.write(pages(3), filled(PAGE, (byte) 2));
        assertEquals(Residency.RESIDENT, bo.residency());
        assertEquals(mm.capacity() - pages(2), free());
        byte[] c = contentOf(bo);
        assertAllBytes((byte) 1, Arrays.copyOfRange(c, 0, PAGE));
        assertAllBytes((byte) 0, Arrays.copyOfRange(c, PAGE, 3 * PAGE));
        assertAllBytes((byte) 2, Arrays.copyOfRange(c, 3 * PAGE, 4 * PAGE));
    }

    @Test
    void failedSwapInLeavesTheObjectEvictedWithItsContent() {
        try (MemoryManager small = fx.manager(pages(16))) {
            Client c = small.openClient("oom");
            BufferObject bo = c.create(pages(8));
            byte[] p = writePattern(bo, 5);
            small.reclaim(Long.MAX_VALUE);
            assertEquals(Residency.EVICTED, bo.residency());
            BufferObject pinned = c.create(pages(12));
            pinned.pin();
            assertThrows(GpuOutOfMemoryException.class, () -> bo.write(0, filled(1, (byte) 0)));
            assertThrows(GpuOutOfMemoryException.class, bo::getPages);
            assertThrows(GpuOutOfMemoryException.class, () -> contentOf(bo));
            assertEquals(Residency.EVICTED, bo.residency());
            assertEquals(0, bo.pagesUseCount());
            assertEquals(pages(8), small.stats().swapUsed());
            assertEquals(pages(4), small.stats().free());
            pinned.unpin();
            pinned.close();
            assertArrayEquals(p, contentOf(bo));
        }
    }

    // ---- madvise ---------------------------------------------------------------------------

    @Test
    void madviseOfALiveObjectReturnsRetained() {
        BufferObject bo = client.create(pages(1));
        assertTrue(bo.madvise(Madvise.DONTNEED));
        assertTrue(bo.madvise(Madvise.DONTNEED));
        assertTrue(bo.madvise(Madvise.WILLNEED));
        assertTrue(bo.madvise(Madvise.WILLNEED));
    }

    @Test
    void dontNeedMakesTheObjectPurgeable() {
        BufferObject bo = client.create(pages(3));
        bo.write(0, filled(PAGE + 1, (byte) 1)); // 2 pages backed
        bo.madvise(Madvise.DONTNEED);
        assertEquals(pages(2), mm.stats().purgeable());
        assertEquals(pages(2), client.stats().purgeable());
        bo.madvise(Madvise.WILLNEED);
        assertEquals(0, mm.stats().purgeable());
        assertEquals(0, client.stats().purgeable());
    }

    @Test
    void dontNeedOnAPinnedObjectThrowsAndChangesNothing() {
        BufferObject bo = client.create(pages(1));
        fill(bo, (byte) 1);
        bo.pin();
        assertThrows(IllegalStateException.class, () -> bo.madvise(Madvise.DONTNEED));
        assertEquals(0, mm.stats().purgeable());
        bo.unpin();
        assertEquals(0, mm.stats().purgeable(), "still WILLNEED after the rejected madvise");
        bo.pin(); // would throw if the rejected madvise had marked it DONTNEED
        assertEquals(1, bo.pinCount());
    }

    @Test
    void dontNeedOnAVmappedObjectThrows() {
        BufferObject bo = client.create(pages(1));
        try (Vmap v = bo.vmap()) {
            assertThrows(IllegalStateException.class, () -> bo.madvise(Madvise.DONTNEED));
            assertEquals(1, bo.vmapCount());
            assertEquals(bo.size(), v.segment().byteSize());
        }
        assertTrue(bo.madvise(Madvise.WILLNEED));
    }

    @Test
    void pinOrVmapOfADontNeedObjectThrowsAndChangesNothing() {
        BufferObject bo = client.create(pages(2));
        fill(bo, (byte) 1);
        bo.madvise(Madvise.DONTNEED);
        assertThrows(IllegalStateException.class, bo::pin);
        assertThrows(IllegalStateException.class, bo::vmap);
        assertEquals(0, bo.pinCount());
        assertEquals(0, bo.vmapCount());
        assertEquals(0, bo.pagesUseCount());
        assertEquals(0, mm.stats().pinned());
        assertEquals(pages(2), mm.stats().purgeable());
        bo.madvise(Madvise.WILLNEED);
        bo.pin();
        assertEquals(1, bo.pinCount());
    }

    @Test
    void willNeedBeforeReclaimSavesTheContent() {
        try (MemoryManager noSwap = fx.managerNoSwap(pages(16))) {
            Client c = noSwap.openClient("x");
            BufferObject bo = c.create(pages(2));
            byte[] p = writePattern(bo, 1);
            bo.madvise(Madvise.DONTNEED);
            assertTrue(bo.madvise(Madvise.WILLNEED));
            assertEquals(0, noSwap.reclaim(Long.MAX_VALUE));
            assertEquals(Residency.RESIDENT, bo.residency());
            assertArrayEquals(p, contentOf(bo));
        }
    }

    @Test
    void purgedObjectRejectsContentOperationsAndMadviseReturnsFalse() {
        BufferObject bo = client.create(pages(2));
        fill(bo, (byte) 1);
        purge(bo);
        assertEquals(mm.capacity(), free());
        assertEquals(1, mm.stats().purges());
        assertFalse(bo.madvise(Madvise.WILLNEED));
        assertFalse(bo.madvise(Madvise.DONTNEED));
        assertEquals(Residency.PURGED, bo.residency(), "madvise on a purged object changes nothing");
        assertThrows(PurgedException.class, bo::getPages);
        assertThrows(PurgedException.class, bo::pin);
        assertThrows(PurgedException.class, bo::vmap);
        assertThrows(PurgedException.class, () -> bo.read(0, MemorySegment.ofArray(new byte[1])));
        assertThrows(PurgedException.class, () -> bo.write(0, MemorySegment.ofArray(new byte[1])));
        assertAll(
                () -> assertEquals(Residency.PURGED, bo.residency()),
                () -> assertEquals(0, bo.pagesUseCount()),
                () -> assertEquals(0, bo.pinCount()),
                () -> assertEquals(0, bo.vmapCount()),
                () -> assertEquals(1, bo.refCount()),
                () -> assertEquals(mm.capacity(), free()));
        bo.close(); // a purged object can still be freed
        assertEquals(0, bo.refCount());
        assertEquals(Residency.UNPOPULATED, bo.residency());
    }

    @Test
    void dontNeedOnAnEvictedObjectMakesItPurgeableAndPurgingFreesItsSlots() {
        BufferObject bo = client.create(pages(3));
        fill(bo, (byte) 1);
        evict(bo);
        assertEquals(pages(3), mm.stats().swapUsed());
        assertTrue(bo.madvise(Madvise.DONTNEED));
        assertEquals(Residency.EVICTED, bo.residency());
        assertEquals(0, mm.reclaim(Long.MAX_VALUE), "purging an evicted object frees slots, not frames");
        assertEquals(Residency.PURGED, bo.residency());
        assertEquals(0, mm.stats().swapUsed());
        assertEquals(0, mm.stats().evicted());
        assertEquals(1, mm.stats().purges());
    }

    @Test
    void purgeRunsBeforeEviction() {
        BufferObject keep = client.create(pages(2));
        byte[] p = writePattern(keep, 3);
        BufferObject junk = client.create(pages(2));
        fill(junk, (byte) 1);
        junk.madvise(Madvise.DONTNEED);
        assertEquals(pages(2), mm.reclaim(1));
        assertEquals(Residency.PURGED, junk.residency());
        assertEquals(Residency.RESIDENT, keep.residency());
        assertArrayEquals(p, contentOf(keep));
    }

    // ---- owner -----------------------------------------------------------------------------

    @Test
    void ownerIsTheCreatingClientEvenAfterItCloses() {
        Client other = mm.openClient("other");
        BufferObject a = client.create(pages(1));
        BufferObject b = other.create(pages(1)).retain();
        assertSame(client, a.owner());
        assertSame(other, b.owner());
        other.close();
        assertSame(other, b.owner());
        b.release();
    }
}
