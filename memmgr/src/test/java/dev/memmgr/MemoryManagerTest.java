package dev.memmgr;

import static dev.memmgr.Fixture.CAPACITY;
import static dev.memmgr.Fixture.MiB;
import static dev.memmgr.Fixture.PAGE;
import static dev.memmgr.Fixture.assertAllBytes;
import static dev.memmgr.Fixture.awaitCondition;
import static dev.memmgr.Fixture.contentOf;
import static dev.memmgr.Fixture.fill;
import static dev.memmgr.Fixture.filled;
import static dev.memmgr.Fixture.freeFrames;
import static dev.memmgr.Fixture.inOtherThread;
import static dev.memmgr.Fixture.pages;
import static dev.memmgr.Fixture.writePattern;
import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Contract of {@link MemoryManager} and its {@link MemoryManager.Builder}. */
@ExtendWith(MemmgrExtension.class)
class MemoryManagerTest {
    private Fixture fx;

    @BeforeEach
    void setUp(Fixture fx) {
        this.fx = fx;
    }

    // ---- builder ---------------------------------------------------------------------------

    @Test
    void builderDefaults() {
        try (MemoryManager mm = MemoryManager.builder().build()) {
            MemoryStats s = mm.stats();
            assertAll(
                    () -> assertEquals(256L << 20, mm.capacity()),
                    () -> assertEquals(4096, mm.pageSize()),
                    () -> assertEquals(256L << 20, s.capacity()),
                    () -> assertEquals(mm.capacity(), s.free()),
                    () -> assertEquals(2 * mm.capacity(), s.swapCapacity(), "default swap: twice the capacity"),
                    () -> assertTrue(mm.device().backgroundPasses() >= 0, "background reclaim is on by default"));
        }
    }

    @Test
    void settersApply() {
        Path swap = fx.tempDir().resolve("swap");
        try (MemoryManager mm = MemoryManager.builder().capacity(1 << 20).pageSize(8192).swapFile(swap, 10 * 8192 + 100)
                .watermarks(0.2, 0.3).backgroundReclaim(false).build()) {
            assertEquals(1 << 20, mm.capacity());
            assertEquals(8192, mm.pageSize());
            assertEquals(10 * 8192, mm.stats().swapCapacity(), "swap bytes rounded down to pages");
            assertEquals(-1, mm.device().backgroundPasses(), "no background reclaim thread");
            assertTrue(Files.exists(swap));
        }
    }

    @Test
    void watermarkBoundariesAreAccepted() {
        MemoryManager.Builder b = MemoryManager.builder();
        assertDoesNotThrow(() -> b.watermarks(0, 0));
        assertDoesNotThrow(() -> b.watermarks(1, 1));
        assertDoesNotThrow(() -> b.watermarks(0, 1));
        assertDoesNotThrow(() -> b.watermarks(0.3, 0.3));
        assertDoesNotThrow(() -> b.pageSize(1 << 30));
        assertDoesNotThrow(() -> b.capacity(Long.MAX_VALUE), "the setter checks the sign only; build() checks the rest");
    }

    static Stream<Arguments> invalidSetters() {
        Path p = Path.of("unused-swap-file");
        return Stream.of(
                setter("capacity(0)", IllegalArgumentException.class, b -> b.capacity(0)),
                setter("capacity(-1)", IllegalArgumentException.class, b -> b.capacity(-1)),
                setter("capacity(MIN)", IllegalArgumentException.class, b -> b.capacity(Long.MIN_VALUE)),
                setter("pageSize(0)", IllegalArgumentException.class, b -> b.pageSize(0)),
                setter("pageSize(-4096)", IllegalArgumentException.class, b -> b.pageSize(-4096)),
                setter("pageSize(MIN)", IllegalArgumentException.class, b -> b.pageSize(Integer.MIN_VALUE)),
                setter("pageSize(2048) below the OS page", IllegalArgumentException.class, b -> b.pageSize(2048)),
                setter("pageSize(4095)", IllegalArgumentException.class, b -> b.pageSize(4095)),
                setter("pageSize(6144) not a power of two", IllegalArgumentException.class, b -> b.pageSize(6144)),
                setter("pageSize(MAX)", IllegalArgumentException.class, b -> b.pageSize(Integer.MAX_VALUE)),
                setter("swapFile(null, 1 MiB)", NullPointerException.class, b -> b.swapFile(null, 1 << 20)),
                setter("swapFile(p, 0)", IllegalArgumentException.class, b -> b.swapFile(p, 0)),
                setter("swapFile(p, -1)", IllegalArgumentException.class, b -> b.swapFile(p, -1)),
                setter("watermarks(-0.01, 0.1)", IllegalArgumentException.class, b -> b.watermarks(-0.01, 0.1)),
                setter("watermarks(0.2, 0.1) low > high", IllegalArgumentException.class, b -> b.watermarks(0.2, 0.1)),
                setter("watermarks(0.1, 1.01)", IllegalArgumentException.class, b -> b.watermarks(0.1, 1.01)),
                setter("watermarks(NaN, 0.1)", IllegalArgumentException.class, b -> b.watermarks(Double.NaN, 0.1)),
                setter("watermarks(0.1, NaN)", IllegalArgumentException.class, b -> b.watermarks(0.1, Double.NaN)),
                setter("watermarks(-inf, +inf)", IllegalArgumentException.class,
                        b -> b.watermarks(Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY)));
    }

    private static Arguments setter(String name, Class<? extends Throwable> expected, Consumer<MemoryManager.Builder> call) {
        return Arguments.of(Named.of(name, call), expected);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalidSetters")
    void invalidSettingsAreRejectedAtOnceAndLeaveTheBuilderUnchanged(Consumer<MemoryManager.Builder> call,
            Class<? extends Throwable> expected) {
        MemoryManager.Builder b = MemoryManager.builder().capacity(CAPACITY).pageSize(PAGE).watermarks(0.05, 0.1)
                .backgroundReclaim(false);
        assertThrows(expected, () -> call.accept(b));
        try (MemoryManager mm = b.build()) {
            assertEquals(CAPACITY, mm.capacity());
            assertEquals(PAGE, mm.pageSize());
            assertEquals(2 * CAPACITY, mm.stats().swapCapacity(), "the default swap is still configured");
        }
    }

    @Test
    void buildRejectsACapacityThatIsNotAMultipleOfThePageSize() {
        assertThrows(IllegalArgumentException.class, () -> MemoryManager.builder().capacity(PAGE + 1).build());
        assertThrows(IllegalArgumentException.class, () -> MemoryManager.builder().capacity(3 * PAGE).pageSize(8192).build());
        assertThrows(IllegalArgumentException.class, () -> MemoryManager.builder().pageSize(1 << 30).build(),
                "the default 256 MiB is not a multiple of 1 GiB pages");
    }

    @Test
    void buildRejectsACapacityOfMoreThanMaxIntPages() {
        assertThrows(IllegalArgumentException.class,
                () -> MemoryManager.builder().capacity(((long) Integer.MAX_VALUE + 1) * PAGE).build());
        assertThrows(IllegalArgumentException.class, () -> MemoryManager.builder().capacity(Long.MAX_VALUE - Long.MAX_VALUE % PAGE).build());
    }

    @Test
    void buildRejectsASwapFileSmallerThanAPage() {
        Path swap = fx.tempDir().resolve("small-swap");
        assertThrows(IllegalArgumentException.class,
                () -> MemoryManager.builder().capacity(CAPACITY).swapFile(swap, PAGE - 1).build());
        assertThrows(IllegalArgumentException.class,
                () -> MemoryManager.builder().capacity(pages(4)).pageSize(8192).swapFile(swap, 8191).build());
        assertFalse(Files.exists(swap), "a rejected build creates no swap file");
    }

    @Test
    void swapFileIsCreatedAndDeletedOnCloseWhenItDidNotExist() {
        Path swap = fx.tempDir().resolve("swap");
        try (MemoryManager mm = MemoryManager.builder().capacity(CAPACITY).swapFile(swap, pages(64))
                .backgroundReclaim(false).build()) {
            Client c = mm.openClient("c");
            assertTrue(Files.exists(swap));
            assertEquals(pages(64), mm.stats().swapCapacity());
            BufferObject bo = c.create(pages(8));
            byte[] p = writePattern(bo, 1);
            assertEquals(pages(8), mm.reclaim(Long.MAX_VALUE));
            assertEquals(pages(8), mm.stats().swapUsed());
            assertArrayEquals(p, contentOf(bo));
        }
        assertFalse(Files.exists(swap), "created by the manager: deleted on close");
    }

    @Test
    void existingSwapFileIsKeptAndTruncatedOnClose() throws IOException {
        Path swap = fx.tempDir().resolve("existing");
        Files.write(swap, new byte[] {1, 2, 3});
        Files.setPosixFilePermissions(swap, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        try (MemoryManager mm = MemoryManager.builder().capacity(CAPACITY).swapFile(swap, pages(16))
                .backgroundReclaim(false).build()) {
            assertEquals(pages(16), mm.stats().swapCapacity());
        }
        assertTrue(Files.exists(swap));
        assertEquals(0, Files.size(swap));
    }

    @Test
    void evictionStopsWhenSwapIsFull() {
        try (MemoryManager mm = MemoryManager.builder().capacity(CAPACITY).swapFile(fx.tempDir().resolve("s"), pages(4))
                .backgroundReclaim(false).build()) {
            Client c = mm.openClient("c");
            BufferObject a = c.create(pages(3));
            BufferObject b = c.create(pages(3));
            fill(a, (byte) 1);
            fill(b, (byte) 2);
            assertEquals(pages(3), mm.reclaim(Long.MAX_VALUE), "room in swap for one object only");
            assertEquals(pages(3), mm.stats().swapUsed());
            assertEquals(1, (a.residency() == Residency.EVICTED ? 1 : 0) + (b.residency() == Residency.EVICTED ? 1 : 0));
        }
    }

    @Test
    void noSwapDisablesEvictionButPurgeStillWorks() {
        try (MemoryManager mm = fx.managerNoSwap(CAPACITY)) {
            Client c = mm.openClient("c");
            assertEquals(0, mm.stats().swapCapacity());
            BufferObject keep = c.create(pages(2));
            fill(keep, (byte) 1);
            BufferObject junk = c.create(pages(3));
            fill(junk, (byte) 2);
            junk.madvise(Madvise.DONTNEED);
            assertEquals(pages(3), mm.reclaim(Long.MAX_VALUE));
            assertEquals(Residency.PURGED, junk.residency());
            assertEquals(Residency.RESIDENT, keep.residency());
            assertEquals(0, mm.reclaim(Long.MAX_VALUE));
        }
    }

    @Test
    void laterSwapSettingsOverrideEarlierOnes() {
        try (MemoryManager mm = MemoryManager.builder().capacity(CAPACITY).swapFile(fx.tempDir().resolve("a"), pages(8)).noSwap()
                .backgroundReclaim(false).build()) {
            assertEquals(0, mm.stats().swapCapacity());
            assertFalse(Files.exists(fx.tempDir().resolve("a")));
        }
        try (MemoryManager mm = MemoryManager.builder().capacity(CAPACITY).noSwap().swapFile(fx.tempDir().resolve("b"), pages(8))
                .backgroundReclaim(false).build()) {
            assertEquals(pages(8), mm.stats().swapCapacity());
        }
    }

    @Test
    void backgroundReclaimKeepsFreeFramesUpToTheHighWatermark() {
        // low 50% (8 MiB), high 75% (12 MiB): dropping under 8 MiB free wakes the thread, which
        // evicts idle objects until at least 12 MiB are free.
        try (MemoryManager mm = MemoryManager.builder().capacity(CAPACITY).watermarks(0.5, 0.75).build();
             Client c = mm.openClient("c")) {
            BufferObject a = c.create(5L << 20);
            fill(a, (byte) 1);
            assertEquals(0, mm.stats().evictions(), "11 MiB free: above the low watermark");
            BufferObject b = c.create(4L << 20);
            fill(b, (byte) 2); // 7 MiB free: below the low watermark
            awaitCondition(() -> mm.stats().free() >= 12L << 20, "free frames back above the high watermark");
            assertTrue(mm.stats().evictions() >= 1);
            // the pass that freed the frames is counted when it ends: wait for it, bounded
            awaitCondition(() -> mm.device().backgroundPasses() >= 1, "the background pass to complete");
            assertAllBytes((byte) 1, contentOf(a));
        }
    }

    // ---- stats, openClient -----------------------------------------------------------------

    @Test
    void freshManagerStats() {
        try (MemoryManager mm = fx.manager()) {
            assertEquals(new MemoryStats(CAPACITY, CAPACITY, 0, 0, 0, 0, 2 * CAPACITY, 0, 0, 0, 0, 0, 0), mm.stats());
            assertEquals(CAPACITY, mm.capacity());
            assertEquals(PAGE, mm.pageSize());
            assertEquals(CAPACITY / PAGE, freeFrames(mm), "the whole capacity is usable by objects");
        }
    }

    @Test
    void statsFollowPopulationPinsPurgeableEvictionsSwapInsAndPurges() {
        try (MemoryManager mm = fx.manager()) {
            Client c = mm.openClient("c");
            BufferObject pinned = c.create(pages(2));
            pinned.pin();
            BufferObject idle = c.create(pages(3));
            fill(idle, (byte) 1);
            BufferObject junk = c.create(pages(4));
            junk.write(0, filled(1, (byte) 1)); // 1 page backed
            junk.madvise(Madvise.DONTNEED);
            MemoryStats s = mm.stats();
            assertAll(
                    () -> assertEquals(CAPACITY - pages(6), s.free()),
                    () -> assertEquals(pages(6), s.resident()),
                    () -> assertEquals(pages(2), s.pinned()),
                    () -> assertEquals(pages(1), s.purgeable()),
                    () -> assertEquals(0, s.evicted()));
            assertEquals(pages(4), mm.reclaim(Long.MAX_VALUE));
            MemoryStats r = mm.stats();
            assertAll(
                    () -> assertEquals(CAPACITY - pages(2), r.free()),
                    () -> assertEquals(pages(2), r.resident()),
                    () -> assertEquals(0, r.purgeable()),
                    () -> assertEquals(pages(3), r.evicted()),
                    () -> assertEquals(pages(3), r.swapUsed()),
                    () -> assertEquals(1, r.evictions()),
                    () -> assertEquals(1, r.purges()),
                    () -> assertEquals(0, r.swapIns()));
            idle.getPages();
            MemoryStats in = mm.stats();
            assertAll(
                    () -> assertEquals(1, in.swapIns()),
                    () -> assertEquals(0, in.evicted()),
                    () -> assertEquals(0, in.swapUsed()),
                    () -> assertEquals(pages(5), in.resident()));
        }
    }

    @Test
    void openClientGivesIndependentNamedClients() {
        try (MemoryManager mm = fx.manager()) {
            Client a = mm.openClient("a");
            Client b = mm.openClient("a");
            assertNotSame(a, b);
            assertEquals("a", b.name());
            assertEquals("", mm.openClient("").name());
            assertThrows(NullPointerException.class, () -> mm.openClient(null));
        }
    }

    // ---- reclaim ---------------------------------------------------------------------------

    @Test
    void reclaimRejectsNegativeBytes() {
        try (MemoryManager mm = fx.manager()) {
            Client c = mm.openClient("c");
            fill(c.create(pages(1)), (byte) 1);
            assertThrows(IllegalArgumentException.class, () -> mm.reclaim(-1));
            assertThrows(IllegalArgumentException.class, () -> mm.reclaim(Long.MIN_VALUE));
            assertEquals(CAPACITY - pages(1), mm.stats().free(), "nothing reclaimed");
            assertEquals(0, mm.stats().evictions());
        }
    }

    @Test
    void reclaimOfZeroFreesNothing() {
        try (MemoryManager mm = fx.manager()) {
            Client c = mm.openClient("c");
            fill(c.create(pages(1)), (byte) 1);
            assertEquals(0, mm.reclaim(0));
            assertEquals(CAPACITY - pages(1), mm.stats().free());
        }
    }

    @Test
    void reclaimReturnsExactlyTheBytesOfFramesFreedAndFreeGrowsByThatAmount() {
        try (MemoryManager mm = fx.manager()) {
            Client c = mm.openClient("c");
            BufferObject junk = c.create(pages(4));
            junk.write(PAGE, filled(PAGE + 1, (byte) 1)); // pages 1 and 2 backed
            junk.madvise(Madvise.DONTNEED);
            BufferObject idle = c.create(pages(3));
            fill(idle, (byte) 2);
            BufferObject used = c.create(pages(5));
            used.getPages(); // weak use: still evictable
            BufferObject pinned = c.create(pages(6));
            pinned.pin();
            BufferObject lazy = c.create(pages(7));
            long freeBefore = mm.stats().free();
            long got = mm.reclaim(Long.MAX_VALUE);
            assertEquals(pages(2 + 3 + 5), got, "purged 2 frames, evicted 3 + 5, pinned and unpopulated untouched");
            assertEquals(freeBefore + got, mm.stats().free());
            assertEquals(Residency.UNPOPULATED, lazy.residency());
            assertEquals(Residency.RESIDENT, pinned.residency());
            assertEquals(0, mm.reclaim(Long.MAX_VALUE), "nothing left to reclaim");
        }
    }

    @Test
    void reclaimRoundsUpToPagesAndFreesWholeObjects() {
        try (MemoryManager mm = fx.manager()) {
            Client c = mm.openClient("c");
            BufferObject a = c.create(pages(4));
            fill(a, (byte) 1);
            long freeBefore = mm.stats().free();
            assertEquals(pages(4), mm.reclaim(1), "one byte asks for a page; the object goes whole");
            assertEquals(freeBefore + pages(4), mm.stats().free());
        }
    }

    @Test
    void reclaimStopsWhenTheTargetIsMetAndEvictsTheLeastRecentlyUsedFirst() {
        try (MemoryManager mm = fx.manager()) {
            Client c = mm.openClient("c");
            BufferObject older = c.create(pages(2));
            byte[] p = writePattern(older, 1);
            BufferObject newer = c.create(pages(2));
            fill(newer, (byte) 2);
            assertEquals(pages(2), mm.reclaim(pages(2)));
            assertEquals(Residency.EVICTED, older.residency());
            assertEquals(Residency.RESIDENT, newer.residency());
            assertArrayEquals(p, contentOf(older));
        }
    }

    @Test
    void reclaimPurgesDontNeedObjectsBeforeEvictingOthers() {
        try (MemoryManager mm = fx.manager()) {
            Client c = mm.openClient("c");
            BufferObject idle = c.create(pages(2));
            fill(idle, (byte) 1);
            BufferObject junk = c.create(pages(2));
            fill(junk, (byte) 2);
            junk.madvise(Madvise.DONTNEED);
            assertEquals(pages(2), mm.reclaim(pages(1)));
            assertEquals(Residency.PURGED, junk.residency());
            assertEquals(Residency.RESIDENT, idle.residency());
            assertEquals(0, mm.stats().evictions());
        }
    }

    @Test
    void allocationRunsDirectReclaimWhenFramesRunOut() {
        try (MemoryManager mm = fx.manager(pages(16))) {
            Client c = mm.openClient("c");
            BufferObject old = c.create(pages(12));
            byte[] p = writePattern(old, 4);
            BufferObject next = c.create(pages(8));
            fill(next, (byte) 3);
            assertEquals(Residency.EVICTED, old.residency(), "the idle object made room");
            assertEquals(Residency.RESIDENT, next.residency());
            assertEquals(1, mm.stats().evictions());
            assertAllBytes((byte) 3, contentOf(next));
            next.close();
            assertArrayEquals(p, contentOf(old));
        }
    }

    @Test
    void allocationFailsWithGpuOutOfMemoryWhenNothingIsReclaimable() {
        try (MemoryManager mm = fx.manager(pages(16))) {
            Client c = mm.openClient("c");
            BufferObject pinned = c.create(pages(12));
            pinned.pin();
            BufferObject bo = c.create(pages(8));
            assertThrows(GpuOutOfMemoryException.class, bo::getPages);
            assertEquals(Residency.UNPOPULATED, bo.residency());
            assertEquals(0, bo.pagesUseCount());
            assertEquals(pages(4), mm.stats().free());
        }
    }

    // ---- close -----------------------------------------------------------------------------

    @Test
    void closeIsIdempotentAndStatsPageSizeCapacityStillAnswer() {
        MemoryManager mm = fx.manager();
        Client c = mm.openClient("c");
        BufferObject bo = c.create(pages(2));
        fill(bo, (byte) 1);
        mm.reclaim(Long.MAX_VALUE);
        mm.close();
        mm.close();
        assertEquals(CAPACITY, mm.capacity());
        assertEquals(PAGE, mm.pageSize());
        MemoryStats s = mm.stats();
        assertEquals(CAPACITY, s.capacity());
        assertEquals(1, s.evictions(), "counters since the manager was built");
        assertEquals(s.capacity() - s.free(), s.resident());
    }

    static Stream<Arguments> operationsAfterClose() {
        return Stream.of(
                afterClose("openClient", f -> f.mm.openClient("late")),
                afterClose("reclaim(0)", f -> f.mm.reclaim(0)),
                afterClose("reclaim(1 MiB)", f -> f.mm.reclaim(1 << 20)),
                afterClose("client.create", f -> f.client.create(PAGE)),
                afterClose("client.lookup", f -> f.client.lookup(f.bo.handle())),
                afterClose("client.stats", f -> f.client.stats()),
                afterClose("client.fdinfo", f -> f.client.fdinfo()),
                afterClose("bo.getPages", f -> f.bo.getPages()),
                afterClose("bo.putPages", f -> f.bo.putPages()),
                afterClose("bo.pin", f -> f.bo.pin()),
                afterClose("bo.unpin", f -> f.bo.unpin()),
                afterClose("bo.vmap", f -> f.bo.vmap()),
                afterClose("bo.read", f -> f.bo.read(0, MemorySegment.ofArray(new byte[4]))),
                afterClose("bo.write", f -> f.bo.write(0, MemorySegment.ofArray(new byte[4]))),
                afterClose("bo.madvise", f -> f.bo.madvise(Madvise.WILLNEED)),
                afterClose("bo.retain", f -> f.bo.retain()),
                afterClose("bo.release", f -> f.bo.release()),
                afterClose("segment of an open vmap", f -> f.vmap.segment().get(ValueLayout.JAVA_BYTE, 0)));
    }

    /** A manager with a client, an object with one retain and one page use, and an open vmap of another object. */
    record Closed(MemoryManager mm, Client client, BufferObject bo, Vmap vmap) {
    }

    private static Arguments afterClose(String name, Consumer<Closed> op) {
        return Arguments.of(Named.of(name, op));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("operationsAfterClose")
    void everythingElseThrowsIllegalStateExceptionAfterClose(Consumer<Closed> op) {
        MemoryManager mm = fx.manager();
        Client c = mm.openClient("c");
        BufferObject bo = c.create(pages(2)).retain();
        bo.getPages();
        BufferObject mapped = c.create(pages(1));
        Vmap v = mapped.vmap();
        mm.close();
        assertThrows(IllegalStateException.class, () -> op.accept(new Closed(mm, c, bo, v)));
    }

    @Test
    void closeFreesEveryObject() {
        MemoryManager mm = fx.manager();
        Client c = mm.openClient("c");
        BufferObject bo = c.create(pages(2)).retain();
        fill(bo, (byte) 1);
        bo.pin();
        mm.close();
        // MemoryManager.close(): "Frees every object"; BufferObject: counters "0 once freed",
        // residency "UNPOPULATED once freed", refCount "0 once freed".
        assertAll(
                () -> assertEquals(0, bo.refCount()),
                () -> assertEquals(Residency.UNPOPULATED, bo.residency()),
                () -> assertEquals(0, bo.pinCount()),
                () -> assertEquals(0, bo.pagesUseCount()),
                () -> assertEquals(0, bo.vmapCount()),
                () -> assertEquals(pages(2), bo.size()));
    }

    @Test
    void closingClientsAndObjectsAfterTheManagerIsHarmless() {
        MemoryManager mm = fx.manager();
        Client c = mm.openClient("c");
        BufferObject bo = c.create(pages(1));
        Vmap v = c.create(pages(1)).vmap();
        mm.close();
        assertDoesNotThrow(v::close);
        assertDoesNotThrow(bo::close);
        assertDoesNotThrow(c::close);
        assertEquals("c", c.name());
    }

    @Test
    void closeWaitsForNothingWhenIdleAndIsCallableFromAnotherThread() {
        MemoryManager mm = fx.manager();
        inOtherThread(mm::close);
        assertThrows(IllegalStateException.class, () -> mm.openClient("x"));
    }
}
