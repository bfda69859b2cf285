package dev.memmgr;

import static dev.memmgr.Fixture.PAGE;
import static dev.memmgr.Fixture.contentOf;
import static dev.memmgr.Fixture.pages;
import static dev.memmgr.Fixture.pattern;
import static dev.memmgr.Fixture.states;
import static dev.memmgr.Fixture.writePattern;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every public method with every kind of invalid argument, and every misuse (freed object, closed
 * client, closed manager, unbalanced counts, madvise rules, purged content, exhausted memory):
 * each throws its documented exception (or, where the contract says so, returns quietly) and
 * leaves the state as it was: counts, residency, content and the manager's figures.
 *
 * <p>Builder settings have their own table in {@link MemoryManagerTest}.
 */
@ExtendWith(MemmgrExtension.class)
class BadInputMatrixTest {
    /** Size of the object every case acts on: 3 pages. */
    static final long SIZE = pages(3);

    /** The states a case starts from. */
    enum Setup {
        /** Written with a pattern, resident, no uses, pins or extra references. */
        LIVE,
        /** Written, one retain, one getPages, one pin and one open vmap (non-trivial counts everywhere). */
        LIVE_WITH_COUNTS,
        /** Never written: unpopulated. */
        UNPOPULATED,
        /** Written and pinned once. */
        PINNED,
        /** Written with one open vmap. */
        VMAPPED,
        /** Written, two vmaps opened, the first closed again. */
        TWO_VMAPS_ONE_CLOSED,
        /** Written, one vmap opened and closed. */
        ONE_VMAP_CLOSED,
        /** Written and marked DONTNEED (not purged). */
        DONTNEED,
        /** Written, marked DONTNEED and purged by the shrinker. */
        PURGED,
        /** Written; the test thread holds the reservation. */
        LOCKED,
        /** Written and freed (handle closed, no other reference). */
        FREED,
        /** Written, retained, then its client closed. */
        CLIENT_CLOSED,
        /** Written, retained, one page use, a vmap open; then the manager closed. */
        MANAGER_CLOSED,
        /** The target is an unpopulated object larger than the capacity. */
        HUGE
    }

    /** The objects a case acts on. */
    static final class World {
        final MemoryManager mm;
        final Client client;
        final Client other;
        final BufferObject bo;
        final Fence fence = new Fence();
        BufferObject target;
        Vmap vmap;
        Vmap vmap2;

        World(Fixture fx, Setup setup) {
            mm = fx.manager();
            client = mm.openClient("matrix");
            other = mm.openClient("other");
            bo = client.create(SIZE);
            target = bo;
            if (setup != Setup.UNPOPULATED && setup != Setup.HUGE) {
                writePattern(bo, 42);
            }
            switch (setup) {
                case LIVE, UNPOPULATED -> { }
                case LIVE_WITH_COUNTS -> {
                    bo.retain();
                    bo.getPages();
                    bo.pin();
                    vmap = bo.vmap();
                }
                case PINNED -> bo.pin();
                case VMAPPED -> vmap = bo.vmap();
                case TWO_VMAPS_ONE_CLOSED -> {
                    vmap = bo.vmap();
                    vmap2 = bo.vmap();
                    vmap.close();
                }
                case ONE_VMAP_CLOSED -> {
                    vmap = bo.vmap();
                    vmap.close();
                }
                case DONTNEED -> bo.madvise(Madvise.DONTNEED);
                case PURGED -> {
                    bo.madvise(Madvise.DONTNEED);
                    mm.reclaim(Long.MAX_VALUE);
                    assertEquals(Residency.PURGED, bo.residency(), "setup: purged");
                }
                case LOCKED -> bo.resv().lock();
                case FREED -> bo.close();
                case CLIENT_CLOSED -> {
                    bo.retain();
                    client.close();
                }
                case MANAGER_CLOSED -> {
                    bo.retain();
                    bo.getPages();
                    vmap = client.create(PAGE).vmap();
                    mm.close();
                }
                case HUGE -> target = client.create(mm.capacity() + PAGE);
                default -> throw new AssertionError(setup);
            }
        }

        void close() {
            if (bo.refCount() > 0 && !mm.device().isClosed() && bo.resv().isHeldByCurrentThread()) {
                bo.resv().unlock();
            }
            mm.close();
        }
    }

    /** What must not change. */
    record Snapshot(int refCount, int pagesUseCount, int pinCount, int vmapCount, Residency residency, String content,
            boolean resvHeld, boolean resvIdle, boolean fenceSignaled, long free, long resident, long pinned,
            long purgeable, long swapUsed, long clientTotal, long clientResident) {

        static Snapshot of(World w) {
            BufferObject t = w.target;
            boolean managerOpen = !w.mm.device().isClosed();
            boolean alive = t.refCount() > 0 && managerOpen;
            Residency r = t.residency();
            String content = "n/a";
            if (alive && (r == Residency.RESIDENT || r == Residency.UNPOPULATED)) {
                content = digest(contentOf(t)); // reads neither populate nor swap in these states
            }
            boolean held = alive && t.resv().isHeldByCurrentThread();
            boolean idle = alive && t.resv().isIdle(FenceUsage.BOOKKEEP);
            MemoryStats s = w.mm.stats();
            long total = -1; // -1: the client (or the manager) is closed
            long cres = -1;
            try {
                ClientStats cs = w.client.stats();
                total = cs.total();
                cres = cs.resident();
            } catch (IllegalStateException closed) {
                // stays -1
            }
            return new Snapshot(t.refCount(), t.pagesUseCount(), t.pinCount(), t.vmapCount(), r, content, held, idle,
                    w.fence.isSignaled(), s.free(), s.resident(), s.pinned(), s.purgeable(), s.swapUsed(), total, cres);
        }

        private static String digest(byte[] b) {
            CRC32 crc = new CRC32();
            crc.update(b);
            return b.length + " bytes, crc " + Long.toHexString(crc.getValue());
        }
    }

    @FunctionalInterface
    interface Call {
        Object apply(World w) throws Throwable;
    }

    /** One row: from {@code setup}, {@code call} throws {@code expected} (or, if null, returns {@code result}). */
    record Case(String name, Setup setup, Call call, Class<? extends Throwable> expected, Object result) {
        @Override
        public String toString() {
            return name + " [" + setup + "] -> " + (expected == null ? "returns " + result : expected.getSimpleName());
        }
    }

    private static Case throwing(String name, Setup setup, Class<? extends Throwable> expected, Call call) {
        return new Case(name, setup, call, expected, null);
    }

    private static Case quiet(String name, Setup setup, Object result, Call call) {
        return new Case(name, setup, call, null, result);
    }

    private static MemorySegment buf(long n) {
        return MemorySegment.ofArray(new byte[Math.toIntExact(n)]);
    }

    // ---- the table -------------------------------------------------------------------------

    static Stream<Case> cases() {
        List<Case> c = new ArrayList<>();
        final Class<IllegalArgumentException> iae = IllegalArgumentException.class;
        final Class<IndexOutOfBoundsException> ioobe = IndexOutOfBoundsException.class;
        final Class<NullPointerException> npe = NullPointerException.class;
        final Class<IllegalStateException> ise = IllegalStateException.class;

        // -- invalid arguments: MemoryManager
        for (Setup s : List.of(Setup.LIVE, Setup.LIVE_WITH_COUNTS)) {
            c.add(throwing("mm.openClient(null)", s, npe, w -> w.mm.openClient(null)));
            c.add(throwing("mm.reclaim(-1)", s, iae, w -> w.mm.reclaim(-1)));
            c.add(throwing("mm.reclaim(MIN_VALUE)", s, iae, w -> w.mm.reclaim(Long.MIN_VALUE)));
        }

        // -- invalid arguments: Client
        for (Setup s : List.of(Setup.LIVE, Setup.LIVE_WITH_COUNTS)) {
            c.add(throwing("client.create(0)", s, iae, w -> w.client.create(0)));
            c.add(throwing("client.create(-1)", s, iae, w -> w.client.create(-1)));
            c.add(throwing("client.create(MIN_VALUE)", s, iae, w -> w.client.create(Long.MIN_VALUE)));
            c.add(throwing("client.create(MAX_VALUE)", s, iae, w -> w.client.create(Long.MAX_VALUE)));
            c.add(throwing("client.create(2^31 pages)", s, iae, w -> w.client.create((1L << 31) * PAGE)));
            c.add(throwing("client.create(2^31 - 1 pages + 1 byte)", s, iae,
                    w -> w.client.create((long) Integer.MAX_VALUE * PAGE + 1)));
            c.add(throwing("client.lookup(0)", s, NoSuchHandleException.class, w -> w.client.lookup(0)));
            c.add(throwing("client.lookup(-1)", s, NoSuchHandleException.class, w -> w.client.lookup(-1)));
            c.add(throwing("client.lookup(MAX_VALUE)", s, NoSuchHandleException.class,
                    w -> w.client.lookup(Integer.MAX_VALUE)));
            c.add(throwing("other.lookup(handle of another client)", s, NoSuchHandleException.class,
                    w -> w.other.lookup(w.bo.handle())));
        }

        // -- invalid arguments: BufferObject
        record Range(String desc, long offset, long length) {
        }
        List<Range> outside = List.of(
                new Range("-1, 1 byte", -1, 1),
                new Range("-1, 0 bytes", -1, 0),
                new Range("MIN_VALUE, 1 byte", Long.MIN_VALUE, 1),
                new Range("size, 1 byte", SIZE, 1),
                new Range("size - 1, 2 bytes", SIZE - 1, 2),
                new Range("0, size + 1 bytes", 0, SIZE + 1),
                new Range("size + 1, 0 bytes", SIZE + 1, 0),
                new Range("MAX_VALUE - 1, 4 bytes (offset + length overflows)", Long.MAX_VALUE - 1, 4),
                new Range("MAX_VALUE, 1 byte", Long.MAX_VALUE, 1));
        for (Setup s : List.of(Setup.LIVE_WITH_COUNTS, Setup.UNPOPULATED)) {
            for (Range r : outside) {
                c.add(throwing("bo.read(" + r.desc() + ")", s, ioobe, w -> {
                    w.bo.read(r.offset(), buf(r.length()));
                    return null;
                }));
                c.add(throwing("bo.write(" + r.desc() + ")", s, ioobe, w -> {
                    w.bo.write(r.offset(), buf(r.length()));
                    return null;
                }));
            }
            c.add(throwing("bo.read(0, null)", s, npe, w -> {
                w.bo.read(0, null);
                return null;
            }));
            c.add(throwing("bo.write(0, null)", s, npe, w -> {
                w.bo.write(0, null);
                return null;
            }));
            c.add(throwing("bo.read(0, read-only segment)", s, iae, w -> {
                w.bo.read(0, buf(PAGE).asReadOnly());
                return null;
            }));
            c.add(throwing("bo.read(size - 8, read-only segment of 8 bytes)", s, iae, w -> {
                w.bo.read(SIZE - 8, buf(8).asReadOnly());
                return null;
            }));
            c.add(throwing("bo.madvise(null)", s, npe, w -> w.bo.madvise(null)));
        }

        // -- invalid arguments: Reservation, Fence
        for (Setup s : List.of(Setup.LIVE, Setup.LOCKED)) {
            c.add(throwing("resv.addFence(null, READ)", s, npe, w -> {
                w.bo.resv().addFence(null, FenceUsage.READ);
                return null;
            }));
            c.add(throwing("resv.addFence(fence, null)", s, npe, w -> {
                w.bo.resv().addFence(w.fence, null);
                return null;
            }));
            c.add(throwing("resv.isIdle(null)", s, npe, w -> w.bo.resv().isIdle(null)));
            c.add(throwing("resv.awaitIdle(null, 0)", s, npe, w -> w.bo.resv().awaitIdle(null, Duration.ZERO)));
            c.add(throwing("resv.awaitIdle(READ, null)", s, npe, w -> w.bo.resv().awaitIdle(FenceUsage.READ, null)));
        }
        c.add(throwing("fence.await(null)", Setup.LIVE, npe, w -> w.fence.await(null)));
        c.add(throwing("fence.onSignal(null)", Setup.LIVE, npe, w -> {
            w.fence.onSignal(null);
            return null;
        }));

        // -- misuse: a freed object; close stays a quiet no-op
        c.add(throwing("bo.getPages()", Setup.FREED, ise, w -> {
            w.bo.getPages();
            return null;
        }));
        c.add(throwing("bo.putPages()", Setup.FREED, ise, w -> {
            w.bo.putPages();
            return null;
        }));
        c.add(throwing("bo.pin()", Setup.FREED, ise, w -> {
            w.bo.pin();
            return null;
        }));
        c.add(throwing("bo.unpin()", Setup.FREED, ise, w -> {
            w.bo.unpin();
            return null;
        }));
        c.add(throwing("bo.vmap()", Setup.FREED, ise, w -> w.bo.vmap()));
        c.add(throwing("bo.read(0, 8 bytes)", Setup.FREED, ise, w -> {
            w.bo.read(0, buf(8));
            return null;
        }));
        c.add(throwing("bo.write(0, 8 bytes)", Setup.FREED, ise, w -> {
            w.bo.write(0, buf(8));
            return null;
        }));
        c.add(throwing("bo.madvise(WILLNEED)", Setup.FREED, ise, w -> w.bo.madvise(Madvise.WILLNEED)));
        c.add(throwing("bo.madvise(DONTNEED)", Setup.FREED, ise, w -> w.bo.madvise(Madvise.DONTNEED)));
        c.add(throwing("bo.retain()", Setup.FREED, ise, w -> w.bo.retain()));
        c.add(throwing("bo.release()", Setup.FREED, ise, w -> {
            w.bo.release();
            return null;
        }));
        c.add(quiet("bo.close() again", Setup.FREED, null, w -> {
            w.bo.close();
            return null;
        }));

        // -- misuse: a closed client
        c.add(throwing("client.create(PAGE)", Setup.CLIENT_CLOSED, ise, w -> w.client.create(PAGE)));
        c.add(throwing("client.lookup(handle)", Setup.CLIENT_CLOSED, ise, w -> w.client.lookup(w.bo.handle())));
        c.add(throwing("client.stats()", Setup.CLIENT_CLOSED, ise, w -> w.client.stats()));
        c.add(throwing("client.fdinfo()", Setup.CLIENT_CLOSED, ise, w -> w.client.fdinfo()));
        c.add(quiet("client.close() again", Setup.CLIENT_CLOSED, null, w -> {
            w.client.close();
            return null;
        }));
        c.add(quiet("bo.close() of a handle its client closed", Setup.CLIENT_CLOSED, null, w -> {
            w.bo.close();
            return null;
        }));

        // -- misuse: a closed manager
        Setup mc = Setup.MANAGER_CLOSED;
        c.add(throwing("mm.openClient(\"x\")", mc, ise, w -> w.mm.openClient("x")));
        c.add(throwing("mm.reclaim(0)", mc, ise, w -> w.mm.reclaim(0)));
        c.add(throwing("mm.reclaim(1 MiB)", mc, ise, w -> w.mm.reclaim(1 << 20)));
        c.add(throwing("client.create(PAGE)", mc, ise, w -> w.client.create(PAGE)));
        c.add(throwing("client.lookup(handle)", mc, ise, w -> w.client.lookup(w.bo.handle())));
        c.add(throwing("client.stats()", mc, ise, w -> w.client.stats()));
        c.add(throwing("client.fdinfo()", mc, ise, w -> w.client.fdinfo()));
        c.add(throwing("bo.getPages()", mc, ise, w -> {
            w.bo.getPages();
            return null;
        }));
        c.add(throwing("bo.putPages()", mc, ise, w -> {
            w.bo.putPages();
            return null;
        }));
        c.add(throwing("bo.pin()", mc, ise, w -> {
            w.bo.pin();
            return null;
        }));
        c.add(throwing("bo.unpin()", mc, ise, w -> {
            w.bo.unpin();
            return null;
        }));
        c.add(throwing("bo.vmap()", mc, ise, w -> w.bo.vmap()));
        c.add(throwing("bo.read(0, 8 bytes)", mc, ise, w -> {
            w.bo.read(0, buf(8));
            return null;
        }));
        c.add(throwing("bo.write(0, 8 bytes)", mc, ise, w -> {
            w.bo.write(0, buf(8));
            return null;
        }));
        c.add(throwing("bo.madvise(WILLNEED)", mc, ise, w -> w.bo.madvise(Madvise.WILLNEED)));
        c.add(throwing("bo.retain()", mc, ise, w -> w.bo.retain()));
        c.add(throwing("bo.release() of a retained reference", mc, ise, w -> {
            w.bo.release();
            return null;
        }));
        c.add(throwing("open vmap segment read", mc, ise, w -> w.vmap.segment().get(ValueLayout.JAVA_BYTE, 0)));
        c.add(quiet("mm.close() again", mc, null, w -> {
            w.mm.close();
            return null;
        }));
        c.add(quiet("vmap.close() after the manager closed", mc, null, w -> {
            w.vmap.close();
            return null;
        }));

        // -- misuse: unbalanced counts
        c.add(throwing("bo.unpin() without pin", Setup.LIVE, ise, w -> {
            w.bo.unpin();
            return null;
        }));
        c.add(throwing("bo.putPages() without getPages", Setup.LIVE, ise, w -> {
            w.bo.putPages();
            return null;
        }));
        c.add(throwing("bo.release() without retain", Setup.LIVE, ise, w -> {
            w.bo.release();
            return null;
        }));
        c.add(throwing("bo.unpin() without pin", Setup.UNPOPULATED, ise, w -> {
            w.bo.unpin();
            return null;
        }));
        c.add(throwing("bo.putPages() without getPages", Setup.UNPOPULATED, ise, w -> {
            w.bo.putPages();
            return null;
        }));
        c.add(throwing("bo.putPages() of the use the pins hold", Setup.PINNED, ise, w -> {
            w.bo.putPages();
            return null;
        }));
        c.add(throwing("bo.putPages() of the use the vmap's pin holds", Setup.VMAPPED, ise, w -> {
            w.bo.putPages();
            return null;
        }));
        c.add(throwing("bo.unpin() of the pin the vmaps hold", Setup.VMAPPED, ise, w -> {
            w.bo.unpin();
            return null;
        }));
        c.add(quiet("vmap.close() twice (another vmap open)", Setup.TWO_VMAPS_ONE_CLOSED, null, w -> {
            w.vmap.close();
            return null;
        }));
        c.add(quiet("vmap.close() twice (last vmap)", Setup.ONE_VMAP_CLOSED, null, w -> {
            w.vmap.close();
            return null;
        }));

        // -- misuse: madvise rules
        c.add(throwing("bo.madvise(DONTNEED) while pinned", Setup.PINNED, ise, w -> w.bo.madvise(Madvise.DONTNEED)));
        c.add(throwing("bo.madvise(DONTNEED) while vmapped", Setup.VMAPPED, ise, w -> w.bo.madvise(Madvise.DONTNEED)));
        c.add(throwing("bo.pin() of a DONTNEED object", Setup.DONTNEED, ise, w -> {
            w.bo.pin();
            return null;
        }));
        c.add(throwing("bo.vmap() of a DONTNEED object", Setup.DONTNEED, ise, w -> w.bo.vmap()));

        // -- misuse: purged content
        Class<PurgedException> purged = PurgedException.class;
        c.add(throwing("bo.getPages()", Setup.PURGED, purged, w -> {
            w.bo.getPages();
            return null;
        }));
        c.add(throwing("bo.pin()", Setup.PURGED, purged, w -> {
            w.bo.pin();
            return null;
        }));
        c.add(throwing("bo.vmap()", Setup.PURGED, purged, w -> w.bo.vmap()));
        c.add(throwing("bo.read(0, 8 bytes)", Setup.PURGED, purged, w -> {
            w.bo.read(0, buf(8));
            return null;
        }));
        c.add(throwing("bo.write(0, 8 bytes)", Setup.PURGED, purged, w -> {
            w.bo.write(0, buf(8));
            return null;
        }));
        c.add(throwing("bo.putPages()", Setup.PURGED, ise, w -> {
            w.bo.putPages();
            return null;
        }));
        c.add(throwing("bo.unpin()", Setup.PURGED, ise, w -> {
            w.bo.unpin();
            return null;
        }));
        c.add(quiet("bo.madvise(WILLNEED)", Setup.PURGED, false, w -> w.bo.madvise(Madvise.WILLNEED)));
        c.add(quiet("bo.madvise(DONTNEED)", Setup.PURGED, false, w -> w.bo.madvise(Madvise.DONTNEED)));

        // -- misuse: the reservation
        c.add(throwing("resv.lock() while held by this thread", Setup.LOCKED, ise, w -> {
            w.bo.resv().lock();
            return null;
        }));
        c.add(quiet("resv.tryLock() while held by this thread", Setup.LOCKED, false, w -> w.bo.resv().tryLock()));
        c.add(throwing("resv.unlock() without holding", Setup.LIVE, ise, w -> {
            w.bo.resv().unlock();
            return null;
        }));

        // -- exhausted memory: nothing changes
        Class<GpuOutOfMemoryException> oom = GpuOutOfMemoryException.class;
        c.add(throwing("huge.getPages()", Setup.HUGE, oom, w -> {
            w.target.getPages();
            return null;
        }));
        c.add(throwing("huge.pin()", Setup.HUGE, oom, w -> {
            w.target.pin();
            return null;
        }));
        c.add(throwing("huge.vmap()", Setup.HUGE, oom, w -> w.target.vmap()));
        c.add(throwing("huge.write(0, whole object)", Setup.HUGE, oom, w -> {
            w.target.write(0, buf(w.target.size()));
            return null;
        }));

        return c.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void failsAsDocumentedAndChangesNothing(Case c, Fixture fx) throws Throwable {
        World w = new World(fx, c.setup());
        try {
            Snapshot before = Snapshot.of(w);
            if (c.expected() != null) {
                assertThrows(c.expected(), () -> c.call().apply(w), c.name());
            } else {
                assertEquals(c.result(), c.call().apply(w), c.name());
            }
            Snapshot after = Snapshot.of(w);
            assertEquals(before, after, "state changed by " + c);
        } finally {
            w.close();
        }
    }
}
