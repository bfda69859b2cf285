package dev.memmgr;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.memmgr.ModelRunner.Action;
import dev.memmgr.ModelRunner.Step;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.function.BiConsumer;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.function.Executable;

/**
 * Shared model for the model-based tests ({@link BufferObjectModelTest}, {@link ManagerModelTest}):
 * a {@link World} holds a real manager, its clients and objects next to a model of each, runs one
 * operation at a time, checks the outcome the contract demands (DESIGN.md sections 2 and 3, the
 * public Javadoc) and checks the invariants after each step; {@link ModelRunner} draws the steps.
 *
 * <p>What the model predicts exactly: reference, use, pin and vmap counts; madvise state; which
 * pages are backed; content; the leak WARNING logged when an object is freed with pins, vmaps or
 * page uses outstanding (and no other WARNING); residency except for the effect of reclaim on
 * other objects. Reclaim (direct, or {@link MemoryManager#reclaim(long)}) may evict or purge
 * objects; the model does not choose which, but it learns each change from
 * {@link BufferObject#residency()} and checks that it was allowed: only during an operation that
 * had to reclaim (it needed more frames than were free) or a reclaim request, never a pinned
 * object, eviction only of a resident WILLNEED object (with swap), purge only of a DONTNEED one,
 * and purgeable objects go before any eviction. From then on the model knows the new residency
 * exactly.
 *
 * <p>All managers are built with {@code backgroundReclaim(false)}, so nothing changes between
 * operations. Content of EVICTED objects is not read by the invariants (reading swaps in, which
 * may reclaim others); it is compared when an operation brings it back.
 */
final class ModelTestSupport {
    static final int PAGE = 4096;

    private ModelTestSupport() {
    }

    // ---- drawing steps ------------------------------------------------------------------------

    /**
     * The objects a run may create, in creation order: object {@code i} (label {@code oi}) is
     * created with {@code bytes.get(i)} bytes. The sizes are fixed, so that steps can pick an
     * object and a range inside it without looking at the state; a step whose object does not
     * exist (yet, or in a shrunk run) does nothing. So every step is drawn in advance, and any
     * subsequence of a failing run can be replayed.
     */
    record Slots(List<Long> bytes) {
        int count() {
            return bytes.size();
        }

        int pages(int i) {
            return (int) ((bytes.get(i) + PAGE - 1) / PAGE);
        }

        long size(int i) {
            return (long) pages(i) * PAGE;
        }

        long maxSize() {
            long max = 0;
            for (int i = 0; i < count(); i++) {
                max = Math.max(max, size(i));
            }
            return max;
        }

        String label(int i) {
            return "o" + i + "(" + pages(i) + "p)";
        }

        int index(SplittableRandom rnd) {
            return rnd.nextInt(count());
        }
    }

    /**
     * A long in [min, max], now and then (1 in 4) one of the edges a bug likes: min, max, one
     * inside either, a page boundary or one byte either side of it.
     */
    static long between(SplittableRandom rnd, long min, long max) {
        if (rnd.nextInt(4) == 0) {
            long[] edges = {min, max, min + 1, max - 1, PAGE - 1, PAGE, PAGE + 1, 2L * PAGE};
            long e = edges[rnd.nextInt(edges.length)];
            if (e >= min && e <= max) {
                return e;
            }
        }
        return rnd.nextLong(min, max + 1);
    }

    /** A step acting on object {@code i} of whatever world it runs in (nothing if absent). */
    static Step<World> step(String description, int i, BiConsumer<World, Obj> op) {
        return new Step<>(description, w -> {
            Obj o = w.obj(i);
            if (o != null) {
                op.accept(w, o);
            }
        });
    }

    static Action<World> simple(Slots slots, String name, BiConsumer<World, Obj> op) {
        return rnd -> {
            int i = slots.index(rnd);
            return step(name + "(" + slots.label(i) + ")", i, op);
        };
    }

    static Action<World> write(Slots slots) {
        return rnd -> {
            int i = slots.index(rnd);
            Span s = SpanSeed.draw(rnd, slots).fit(slots.size(i));
            byte b = fillByte(rnd);
            return step("write(" + slots.label(i) + ", " + s + ", " + b + ")", i, (w, o) -> w.write(o, s, b));
        };
    }

    static Action<World> read(Slots slots) {
        return rnd -> {
            int i = slots.index(rnd);
            Span s = SpanSeed.draw(rnd, slots).fit(slots.size(i));
            return step("read(" + slots.label(i) + ", " + s + ")", i, (w, o) -> w.read(o, s));
        };
    }

    static Action<World> madvise(Slots slots) {
        return rnd -> {
            int i = slots.index(rnd);
            Madvise a = Madvise.values()[rnd.nextInt(Madvise.values().length)];
            return step("madvise(" + slots.label(i) + ", " + a + ")", i, (w, o) -> w.madvise(o, a));
        };
    }

    /** Looks the handle of an object up in its own client (open or closed, handle open or closed). */
    static Action<World> lookupOwnHandle(Slots slots) {
        return rnd -> {
            int i = slots.index(rnd);
            return step("lookup(handle of " + slots.label(i) + ") in its client", i, (w, o) -> w.lookup(o.client, o.handle));
        };
    }

    /**
     * Creates the next object of {@code slots} in client {@code c} (of at most {@code clients}),
     * while fewer than {@code maxLive} objects are alive and slots remain.
     */
    static Action<World> create(Slots slots, int clients, int maxLive) {
        return rnd -> {
            int c = rnd.nextInt(clients);
            return new Step<>("create(c" + c + ", next object)", w -> {
                ClientModel cm = w.client(c);
                if (cm != null && w.objects.size() < slots.count() && w.liveObjects() < maxLive) {
                    w.create(cm, slots.bytes().get(w.objects.size()));
                }
            });
        };
    }

    /** A byte range for read or write: inside the object, or (now and then) not. */
    record Span(long offset, long length) {
        @Override
        public String toString() {
            return "[" + offset + ", +" + length + ")";
        }
    }

    /**
     * Raw choices for a range, fitted to an object's size by {@link #fit}: {@code kind} 0 to 21
     * is a range inside the object, 22 starts at -1, 23 ends past the end; {@code aligned} moves
     * the offset down to a page boundary.
     */
    record SpanSeed(int kind, long offset, long length, boolean aligned) {
        static final int KINDS = 24;

        static SpanSeed draw(SplittableRandom rnd, Slots slots) {
            long max = slots.maxSize();
            return new SpanSeed(rnd.nextInt(KINDS), between(rnd, 0, max), between(rnd, 0, max), rnd.nextBoolean());
        }

        Span fit(long size) {
            long off = offset % (size + 1);
            if (aligned) {
                off -= off % PAGE;
            }
            if (kind == KINDS - 2) {
                return new Span(-1, 1 + length % PAGE);
            }
            if (kind == KINDS - 1) {
                return new Span(off, size - off + 1 + length % PAGE);
            }
            return new Span(off, Math.min(length, size - off));
        }

        Span fitInside(long size) {
            return new SpanSeed(0, offset, length, aligned).fit(size);
        }
    }

    /** Non-zero fill bytes, so that a write is always visible against zeros. */
    static byte fillByte(SplittableRandom rnd) {
        return (byte) (1 + rnd.nextInt(255));
    }

    // ---- the model ----------------------------------------------------------------------------

    static final class ClientModel {
        final int id;
        final Client client;
        final List<Obj> objects = new ArrayList<>();
        boolean closed;

        ClientModel(int id, Client client) {
            this.id = id;
            this.client = client;
        }

        String label() {
            return "c" + id + (closed ? "(closed)" : "");
        }

        @Override
        public String toString() {
            return label();
        }
    }

    /** One buffer object and what the model knows of it. */
    static final class Obj {
        final int id;
        final ClientModel client;
        final BufferObject bo;
        final int pages;
        final long size;
        final int handle;
        /** Expected content; null once purged or freed. */
        byte[] content;
        /** Pages with a frame (RESIDENT) or a slot (EVICTED); all false when unpopulated, purged, freed. */
        final boolean[] backed;
        boolean handleOpen = true;
        /** retain() and lookup() references not yet released. */
        int userRefs;
        /** getPages() not yet matched by putPages(). */
        int uses;
        /** pin() not yet matched by unpin() (the vmaps' pin not included). */
        int pins;
        int openVmaps;
        boolean dontNeed;
        boolean purged;
        boolean freed;
        Residency residency = Residency.UNPOPULATED;

        Obj(int id, ClientModel client, BufferObject bo, int pages) {
            this.id = id;
            this.client = client;
            this.bo = bo;
            this.pages = pages;
            this.size = (long) pages * PAGE;
            this.handle = bo.handle();
            this.content = new byte[(int) size];
            this.backed = new boolean[pages];
        }

        String label() {
            return "o" + id + "(" + pages + "p)";
        }

        @Override
        public String toString() {
            return label();
        }

        int refCount() {
            return freed ? 0 : (handleOpen ? 1 : 0) + userRefs;
        }

        int vmapCount() {
            return freed ? 0 : openVmaps;
        }

        /** pins, plus the one all open vmaps hold together */
        int pinCount() {
            return freed ? 0 : pins + (openVmaps > 0 ? 1 : 0);
        }

        /** user uses, plus the one all pins hold together */
        int useCount() {
            return freed ? 0 : uses + (pinCount() > 0 ? 1 : 0);
        }

        int backedPages() {
            int n = 0;
            for (boolean b : backed) {
                n += b ? 1 : 0;
            }
            return n;
        }

        int holes(int from, int to) {
            int n = 0;
            for (int p = from; p < to; p++) {
                n += backed[p] ? 0 : 1;
            }
            return n;
        }

        /** Frames an operation securing pages [from, to) must allocate: the swapped-out pages and the holes. */
        int need(int from, int to) {
            return (residency == Residency.EVICTED ? backedPages() : 0) + holes(from, to);
        }

        void purge() {
            purged = true;
            content = null;
            Arrays.fill(backed, false);
            residency = Residency.PURGED;
        }

        /** @return whether the object was freed now */
        boolean freeIfUnreferenced() {
            if (freed || refCount() != 0) {
                return false;
            }
            freed = true;
            content = null;
            Arrays.fill(backed, false);
            residency = Residency.UNPOPULATED;
            return true;
        }
    }

    static final class VmapRef {
        final int id;
        final Obj owner;
        final Vmap vmap;
        boolean closed;

        VmapRef(int id, Obj owner, Vmap vmap) {
            this.id = id;
            this.owner = owner;
            this.vmap = vmap;
        }

        @Override
        public String toString() {
            return "v" + id + "(" + owner.label() + ")";
        }
    }

    record ObjState(int refCount, int pagesUseCount, int pinCount, int vmapCount, Residency residency) {
        static ObjState of(BufferObject bo) {
            return new ObjState(bo.refCount(), bo.pagesUseCount(), bo.pinCount(), bo.vmapCount(), bo.residency());
        }
    }

    record Snapshot(List<ObjState> objects, MemoryStats stats) {
    }

    /** What the manager could free for an allocation by {@code acting}, in frames. */
    record Reclaimable(long free, long purgeable, long evictable, long swapFree) {
        /** frames the allocation can certainly have: free, purgeable, and evictable if swap holds them all */
        long guaranteed() {
            return free + purgeable + (evictable <= swapFree ? evictable : 0);
        }

        /** frames the allocation can at most have */
        long possible() {
            return free + purgeable + evictable;
        }
    }

    /** The system under test and its model; the state of one try. */
    static final class World implements AutoCloseable {
        final MemoryManager mm;
        /** What the library logs: the leak WARNINGs the model predicts are claimed, any other fails. */
        final LogCapture logs;
        final boolean swap;
        final int capacityPages;
        final List<ClientModel> clients = new ArrayList<>();
        final List<Obj> objects = new ArrayList<>();
        final List<VmapRef> vmaps = new ArrayList<>();
        long evictions;
        long swapIns;
        long purges;
        /** What happened in this run, counted over the tries to check the generator's coverage. */
        final Set<String> events = new TreeSet<>();

        World(LogCapture logs, int capacityPages, boolean swap) {
            this.logs = logs;
            logs.clear();
            this.capacityPages = capacityPages;
            this.swap = swap;
            MemoryManager.Builder b = MemoryManager.builder().capacity((long) capacityPages * PAGE).pageSize(PAGE)
                    .backgroundReclaim(false);
            if (!swap) {
                b.noSwap();
            }
            this.mm = b.build();
        }

        @Override
        public void close() {
            mm.close();
        }

        @Override
        public String toString() {
            return "World[" + capacityPages + " pages, " + (swap ? "swap" : "no swap") + ", " + objects + "]";
        }

        ClientModel openClient() {
            ClientModel c = new ClientModel(clients.size(), mm.openClient("c" + clients.size()));
            clients.add(c);
            return c;
        }

        Obj obj(int i) {
            return i < objects.size() ? objects.get(i) : null;
        }

        ClientModel client(int i) {
            return i < clients.size() ? clients.get(i) : null;
        }

        /** @return the k-th view taken of {@code o} (not counting views the test closed, unless asked), or null */
        VmapRef vmapOf(Obj o, int k, boolean includeClosed) {
            int n = 0;
            for (VmapRef r : vmaps) {
                if (r.owner == o && (includeClosed || !r.closed) && n++ == k) {
                    return r;
                }
            }
            return null;
        }

        long liveObjects() {
            return objects.stream().filter(o -> !o.freed).count();
        }

        Snapshot snapshot() {
            List<ObjState> s = new ArrayList<>();
            for (Obj o : objects) {
                s.add(ObjState.of(o.bo));
            }
            return new Snapshot(s, mm.stats());
        }

        /** Runs an operation the contract rejects: it throws {@code type} and changes nothing. */
        void rejected(String what, Class<? extends Throwable> type, Executable op) {
            Snapshot before = snapshot();
            events.add("rejected " + type.getSimpleName());
            assertThrows(type, op, what + " must throw " + type.getSimpleName());
            assertEquals(before, snapshot(), what + " failed but changed the state");
        }

        /** As {@link #rejected}, when several exceptions are acceptable (unspecified precedence). */
        void rejectedAnyOf(String what, List<Class<? extends Throwable>> types, Executable op) {
            Snapshot before = snapshot();
            Throwable t = assertThrows(Throwable.class, op, what + " must throw one of " + types);
            assertTrue(types.stream().anyMatch(c -> c.isInstance(t)), what + " threw " + t + ", expected one of " + types);
            assertEquals(before, snapshot(), what + " failed but changed the state");
        }

        Reclaimable reclaimable(Obj acting) {
            MemoryStats s = mm.stats();
            long purgeable = 0;
            long evictable = 0;
            for (Obj o : objects) {
                if (o == acting || o.freed || o.residency != Residency.RESIDENT || o.pinCount() > 0) {
                    continue;
                }
                if (o.dontNeed) {
                    purgeable += o.backedPages();
                } else if (swap) {
                    evictable += o.backedPages();
                }
            }
            return new Reclaimable(s.free() / PAGE, purgeable, evictable, (s.swapCapacity() - s.swapUsed()) / PAGE);
        }

        /**
         * Runs an operation of {@code acting} that needs {@code need} new frames. It may throw
         * GpuOutOfMemoryException only if the frames could not certainly be found (free, or
         * purgeable, or evictable into the free swap; the acting object itself is locked, so not
         * reclaimable), and must then leave the acting object as it was (DESIGN: "the object is
         * left as it was"; others may have been reclaimed by the attempt); it may succeed only if
         * the frames could possibly be found. Other objects may be reclaimed only if {@code need}
         * exceeded the free frames.
         *
         * @return whether it succeeded (the caller then updates the model of {@code acting})
         */
        boolean allocating(String what, Obj acting, int need, Runnable op) {
            Reclaimable r = reclaimable(acting);
            ObjState before = ObjState.of(acting.bo);
            try {
                op.run();
            } catch (GpuOutOfMemoryException e) {
                events.add("out of memory");
                assertTrue(need > r.guaranteed(), what + " threw " + e + " but needed " + need
                        + " frames of which " + r + " could certainly be had");
                assertEquals(before, ObjState.of(acting.bo), what + ": a failed allocation changed the object");
                settle(what, acting, need > r.free());
                return false;
            }
            if (need > r.free()) {
                events.add("direct reclaim");
            }
            assertTrue(need <= r.possible(), what + " succeeded needing " + need + " frames with at most " + r);
            return true;
        }

        /**
         * Learns and checks what reclaim did to the objects other than {@code acting} during the
         * last operation.
         *
         * @param mayReclaim whether the operation may have run the shrinker
         * @return frames freed by the changes seen
         */
        long settle(String what, Obj acting, boolean mayReclaim) {
            long freedFrames = 0;
            boolean evicted = false;
            for (Obj o : objects) {
                if (o == acting || o.freed) {
                    continue;
                }
                Residency now = o.bo.residency();
                if (now == o.residency) {
                    continue;
                }
                String t = what + ": " + o.label() + " went " + o.residency + " -> " + now;
                assertTrue(mayReclaim, t + " although no reclaim could run (enough free frames)");
                assertEquals(0, o.pinCount(), t + " while pinned");
                if (now == Residency.EVICTED) {
                    assertTrue(swap, t + " without swap");
                    assertEquals(Residency.RESIDENT, o.residency, t);
                    assertFalse(o.dontNeed, t + ": a DONTNEED object is purged, not evicted");
                    freedFrames += o.backedPages();
                    o.residency = Residency.EVICTED;
                    evictions++;
                    evicted = true;
                    events.add("evicted");
                } else if (now == Residency.PURGED) {
                    assertTrue(o.dontNeed, t + ": only DONTNEED objects are purged");
                    assertTrue(o.residency == Residency.RESIDENT || o.residency == Residency.EVICTED, t);
                    if (o.residency == Residency.RESIDENT) {
                        freedFrames += o.backedPages();
                    }
                    o.purge();
                    purges++;
                    events.add("purged");
                } else {
                    fail(t + ": reclaim only evicts or purges");
                }
            }
            if (evicted) {
                for (Obj o : objects) {
                    if (o != acting && !o.freed && o.residency == Residency.RESIDENT && o.dontNeed && o.pinCount() == 0) {
                        fail(what + ": reclaim evicted while " + o.label() + " was still purgeable (the purge pass comes first)");
                    }
                }
            }
            return freedFrames;
        }

        /** Settles an operation that allocates nothing: no other object may change. */
        void settleQuiet(String what, Obj acting) {
            settle(what, acting, false);
        }

        // ---- operations on objects --------------------------------------------------------------

        private static boolean inside(Obj o, Span s) {
            return s.offset() >= 0 && s.length() >= 0 && s.offset() + s.length() <= o.size;
        }

        private void outOfRange(String what, Obj o, Executable op) {
            events.add("rejected out of range");
            List<Class<? extends Throwable>> ok = new ArrayList<>(List.of(IndexOutOfBoundsException.class));
            if (o.freed) {
                ok.add(IllegalStateException.class); // precedence of the two rules is unspecified
            } else if (o.purged) {
                ok.add(PurgedException.class);
            }
            rejectedAnyOf(what, ok, op);
        }

        void write(Obj o, Span s, byte b) {
            String what = "write(" + o + ", " + s + ", " + b + ")";
            int len = (int) Math.max(0, Math.min(s.length(), 1 << 20));
            MemorySegment src = MemorySegment.ofArray(new byte[len]).fill(b);
            if (!inside(o, s)) {
                outOfRange(what, o, () -> o.bo.write(s.offset(), src));
                return;
            }
            if (o.freed) {
                rejected(what, IllegalStateException.class, () -> o.bo.write(s.offset(), src));
                return;
            }
            if (len == 0) { // amendment: zero bytes do nothing, whatever the state (lifecycle aside)
                o.bo.write(s.offset(), src);
                return;
            }
            if (o.purged) {
                rejected(what, PurgedException.class, () -> o.bo.write(s.offset(), src));
                return;
            }
            int from = (int) (s.offset() / PAGE);
            int to = len == 0 ? from : (int) ((s.offset() + len - 1) / PAGE) + 1;
            int need = len == 0 ? 0 : o.need(from, to);
            long free = mm.stats().free() / PAGE;
            if (allocating(what, o, need, () -> o.bo.write(s.offset(), src))) {
                Arrays.fill(o.content, (int) s.offset(), (int) s.offset() + len, b);
                if (len > 0) {
                    swappedIn(o);
                    Arrays.fill(o.backed, from, to, true);
                    o.residency = Residency.RESIDENT;
                }
                settle(what, o, need > free);
            }
        }

        void read(Obj o, Span s) {
            String what = "read(" + o + ", " + s + ")";
            int len = (int) Math.max(0, Math.min(s.length(), 1 << 20));
            MemorySegment dst = MemorySegment.ofArray(new byte[len]);
            if (!inside(o, s)) {
                outOfRange(what, o, () -> o.bo.read(s.offset(), dst));
                return;
            }
            if (o.freed) {
                rejected(what, IllegalStateException.class, () -> o.bo.read(s.offset(), dst));
                return;
            }
            if (len == 0) { // amendment: zero bytes do nothing: no swap-in, no PurgedException
                o.bo.read(s.offset(), dst);
                return;
            }
            if (o.purged) {
                rejected(what, PurgedException.class, () -> o.bo.read(s.offset(), dst));
                return;
            }
            // Reading an EVICTED object swaps it in (DESIGN: "read and write of an EVICTED object swap
            // it in"), which needs frames: GpuOutOfMemoryException is then possible, as for any
            // population, although read's Javadoc does not list it.
            int need = o.residency == Residency.EVICTED ? o.backedPages() : 0;
            long free = mm.stats().free() / PAGE;
            if (allocating(what, o, need, () -> o.bo.read(s.offset(), dst))) {
                byte[] expected = Arrays.copyOfRange(o.content, (int) s.offset(), (int) s.offset() + len);
                assertArrayEquals(expected, dst.toArray(ValueLayout.JAVA_BYTE), what + " read other bytes than were written");
                swappedIn(o); // an UNPOPULATED object stays so: reads allocate nothing
                settle(what, o, need > free);
            }
        }

        private void swappedIn(Obj o) {
            if (o.residency == Residency.EVICTED) {
                o.residency = Residency.RESIDENT;
                swapIns++;
                events.add("swapped in");
            }
        }

        /** Model of a successful population of every page (getPages, first pin, first vmap). */
        private void populatedAll(Obj o) {
            swappedIn(o);
            Arrays.fill(o.backed, true);
            o.residency = Residency.RESIDENT;
        }

        void getPages(Obj o) {
            String what = "getPages(" + o + ")";
            if (o.freed) {
                rejected(what, IllegalStateException.class, o.bo::getPages);
                return;
            }
            if (o.purged) {
                rejected(what, PurgedException.class, o.bo::getPages);
                return;
            }
            int need = o.need(0, o.pages);
            long free = mm.stats().free() / PAGE;
            if (allocating(what, o, need, o.bo::getPages)) {
                o.uses++;
                populatedAll(o);
                settle(what, o, need > free);
            }
        }

        void putPages(Obj o) {
            String what = "putPages(" + o + ")";
            if (o.freed) {
                rejected(what, IllegalStateException.class, o.bo::putPages);
                return;
            }
            if (o.uses == 0) { // the use all pins hold is not the caller's to drop
                rejected(what + " without getPages", IllegalStateException.class, o.bo::putPages);
                return;
            }
            o.bo.putPages(); // content stays; allowed on a PURGED object (needs no content)
            o.uses--;
            settleQuiet(what, o);
        }

        void pin(Obj o) {
            String what = "pin(" + o + ")";
            if (o.freed) {
                rejected(what, IllegalStateException.class, o.bo::pin);
                return;
            }
            if (o.purged) { // PURGED is its own madvise state, not DONTNEED: PurgedException
                rejected(what, PurgedException.class, o.bo::pin);
                return;
            }
            if (o.dontNeed) {
                rejected(what + " of a DONTNEED object", IllegalStateException.class, o.bo::pin);
                return;
            }
            int need = o.pinCount() > 0 ? 0 : o.need(0, o.pages);
            long free = mm.stats().free() / PAGE;
            if (allocating(what, o, need, o.bo::pin)) {
                o.pins++;
                populatedAll(o);
                settle(what, o, need > free);
            }
        }

        void unpin(Obj o) {
            String what = "unpin(" + o + ")";
            if (o.freed) {
                rejected(what, IllegalStateException.class, o.bo::unpin);
                return;
            }
            if (o.pins == 0) {
                // The pin that open vmaps hold together is theirs, not the caller's: an unpin
                // without a matching pin() is unbalanced even while vmaps are open (DESIGN:
                // "Unbalanced unpin ... throw IllegalStateException and change nothing").
                rejected(what + " without pin (vmaps " + o.openVmaps + ")", IllegalStateException.class, o.bo::unpin);
                return;
            }
            o.bo.unpin();
            o.pins--;
            settleQuiet(what, o);
        }

        void vmap(Obj o) {
            String what = "vmap(" + o + ")";
            if (o.freed) {
                rejected(what, IllegalStateException.class, o.bo::vmap);
                return;
            }
            if (o.purged) {
                rejected(what, PurgedException.class, o.bo::vmap);
                return;
            }
            if (o.dontNeed) {
                rejected(what + " of a DONTNEED object", IllegalStateException.class, o.bo::vmap);
                return;
            }
            int need = o.pinCount() > 0 ? 0 : o.need(0, o.pages);
            long free = mm.stats().free() / PAGE;
            Vmap[] got = new Vmap[1];
            if (allocating(what, o, need, () -> got[0] = o.bo.vmap())) {
                assertNotNull(got[0], what);
                assertEquals(o.size, got[0].segment().byteSize(), what + ": segment size");
                vmaps.add(new VmapRef(vmaps.size(), o, got[0]));
                o.openVmaps++;
                populatedAll(o);
                settle(what, o, need > free);
            }
        }

        void closeVmap(VmapRef r) {
            String what = "close(" + r + ")";
            r.vmap.close(); // idempotent; does nothing once the object is freed
            assertTrue(r.vmap.isClosed(), what);
            if (!r.closed && !r.owner.freed) {
                r.owner.openVmaps--;
            }
            r.closed = true;
            settleQuiet(what, r.owner);
        }

        /** Writes through an open view: the object's content. Through a view of a freed object: IllegalStateException. */
        void writeThroughVmap(VmapRef r, Span s, byte b) {
            String what = "writeThrough(" + r + ", " + s + ", " + b + ")";
            MemorySegment seg = r.vmap.segment();
            if (r.owner.freed) {
                events.add("stale vmap access");
                rejected(what + " after the object was freed", IllegalStateException.class,
                        () -> seg.asSlice(s.offset(), s.length()).fill(b));
                return;
            }
            seg.asSlice(s.offset(), s.length()).fill(b);
            Arrays.fill(r.owner.content, (int) s.offset(), (int) (s.offset() + s.length()), b);
            settleQuiet(what, r.owner);
        }

        void madvise(Obj o, Madvise advice) {
            String what = "madvise(" + o + ", " + advice + ")";
            if (o.freed) {
                rejected(what, IllegalStateException.class, () -> o.bo.madvise(advice));
                return;
            }
            if (o.purged) {
                Snapshot before = snapshot();
                assertFalse(o.bo.madvise(advice), what + " of a PURGED object must answer 'not retained'");
                assertEquals(before, snapshot(), what + " of a PURGED object changed the state");
                return;
            }
            if (advice == Madvise.DONTNEED && o.pinCount() > 0) {
                rejected(what + " of a pinned object (pins " + o.pins + ", vmaps " + o.openVmaps + ")",
                        IllegalStateException.class, () -> o.bo.madvise(advice));
                return;
            }
            assertTrue(o.bo.madvise(advice), what + " must answer 'retained'");
            o.dontNeed = advice == Madvise.DONTNEED;
            settleQuiet(what, o);
        }

        void retain(Obj o) {
            String what = "retain(" + o + ")";
            if (o.freed) {
                rejected(what, IllegalStateException.class, o.bo::retain);
                return;
            }
            assertSame(o.bo, o.bo.retain(), what);
            o.userRefs++;
            settleQuiet(what, o);
        }

        void release(Obj o) {
            String what = "release(" + o + ")";
            if (o.freed) {
                rejected(what, IllegalStateException.class, o.bo::release);
                return;
            }
            if (o.userRefs == 0) {
                rejected(what + " without retain or lookup", IllegalStateException.class, o.bo::release);
                return;
            }
            o.bo.release();
            o.userRefs--;
            freeIfUnreferenced(o);
            settleQuiet(what, o);
        }

        void closeHandle(Obj o) {
            String what = "close(" + o + ")";
            o.bo.close(); // idempotent, never drops a second reference
            if (o.handleOpen && !o.freed) {
                o.handleOpen = false;
                freeIfUnreferenced(o);
            }
            settleQuiet(what, o);
        }

        /**
         * Frees the model of {@code o} if nothing references it any more; freed with pins, vmaps
         * or page uses outstanding, the library must have logged the leak WARNING of the contract
         * ("reports the leak through System.Logger at WARNING") with those counts, once.
         */
        private void freeIfUnreferenced(Obj o) {
            int pins = o.pinCount();
            int vmapsOpen = o.vmapCount();
            int uses = o.useCount();
            if (o.freeIfUnreferenced()) {
                events.add(vmapsOpen > 0 ? "freed with vmaps open" : pins > 0 ? "freed pinned" : uses > 0 ? "freed in use" : "freed");
                String[] leak = Fixture.leakFragments(o.handle, o.client.client.name(), pins, vmapsOpen, uses);
                if (pins > 0 || vmapsOpen > 0 || uses > 0) {
                    logs.expectWarning(leak);
                } else {
                    logs.expect(0, "about a leak of " + o.label() + " freed with no count outstanding",
                            r -> LogCapture.text(r).contains(leak[0]));
                }
            }
        }

        // ---- operations on clients and the manager ----------------------------------------------

        Obj create(ClientModel c, long bytes) {
            String what = "create(" + c + ", " + bytes + ")";
            if (c.closed) {
                rejected(what, IllegalStateException.class, () -> c.client.create(bytes));
                return null;
            }
            int pages = (int) ((bytes + PAGE - 1) / PAGE);
            MemoryStats before = mm.stats();
            BufferObject bo = c.client.create(bytes);
            assertEquals((long) pages * PAGE, bo.size(), what + ": size is rounded up to pages");
            assertTrue(bo.handle() > 0, what + ": handle " + bo.handle());
            for (Obj other : c.objects) {
                if (other.handleOpen) {
                    assertTrue(other.handle != bo.handle(), what + ": handle " + bo.handle() + " is already open in " + c);
                }
            }
            assertSame(c.client, bo.owner(), what + ": owner");
            assertEquals(before, mm.stats(), what + ": creation is lazy, it allocates nothing");
            Obj o = new Obj(objects.size(), c, bo, pages);
            objects.add(o);
            c.objects.add(o);
            settleQuiet(what, o);
            return o;
        }

        /**
         * Looks {@code handle} up in client {@code c}. A handle of another client (handles are
         * per client) finds whatever object of {@code c} has that number, if any.
         */
        void lookup(ClientModel c, int handle) {
            String what = "lookup(" + c + ", " + handle + ")";
            if (c.closed) {
                events.add("lookup in a closed client");
                rejected(what + " in a closed client", IllegalStateException.class, () -> c.client.lookup(handle));
                return;
            }
            Obj expected = null;
            for (Obj o : c.objects) {
                if (o.handleOpen && o.handle == handle) {
                    expected = o;
                }
            }
            boolean otherClients = objects.stream().anyMatch(o -> o.client != c && o.handle == handle);
            if (otherClients) {
                events.add(expected == null ? "lookup of another client's handle: none" : "lookup of another client's handle: own object");
            }
            if (expected == null) {
                rejected(what + ": not open in " + c, NoSuchHandleException.class, () -> c.client.lookup(handle));
                return;
            }
            assertSame(expected.bo, c.client.lookup(handle), what + " must return the created instance");
            expected.userRefs++;
            settleQuiet(what, expected);
        }

        void closeClient(ClientModel c) {
            String what = "close(" + c + ")";
            c.client.close(); // idempotent
            if (!c.closed) {
                c.closed = true;
                for (Obj o : c.objects) {
                    if (o.handleOpen && !o.freed) {
                        o.handleOpen = false;
                        freeIfUnreferenced(o);
                        if (!o.freed) {
                            events.add("object outlived its client");
                        }
                    }
                }
            }
            settleQuiet(what, null);
            rejected(what + ", then create", IllegalStateException.class, () -> c.client.create(PAGE));
        }

        /**
         * MemoryManager.reclaim: returns exactly the bytes of frames freed, a whole number of pages;
         * with background reclaim off, free grows by that; never touches pinned objects; purges
         * before it evicts; and frees less than asked only when nothing more can be freed.
         */
        void reclaim(long bytes) {
            String what = "reclaim(" + bytes + ")";
            if (bytes < 0) {
                rejected(what, IllegalArgumentException.class, () -> mm.reclaim(bytes));
                return;
            }
            MemoryStats before = mm.stats();
            long got = mm.reclaim(bytes);
            MemoryStats after = mm.stats();
            assertTrue(got >= 0 && got % PAGE == 0, what + " returned " + got + ", not a whole number of pages");
            assertEquals(before.free() + got, after.free(), what + " returned " + got + " but free went "
                    + before.free() + " -> " + after.free());
            long freedFrames = settle(what, null, true);
            assertEquals(freedFrames * PAGE, got, what + " returned " + got + " but the objects it evicted or purged held "
                    + freedFrames + " frames");
            long target = bytes / PAGE + (bytes % PAGE == 0 ? 0 : 1);
            events.add(got == 0 ? "reclaim freed nothing" : got / PAGE < target ? "reclaim freed less than asked"
                    : "reclaim freed what was asked");
            if (got / PAGE < target) {
                long swapFree = (after.swapCapacity() - after.swapUsed()) / PAGE;
                for (Obj o : objects) {
                    if (o.freed || o.residency != Residency.RESIDENT || o.pinCount() > 0) {
                        continue;
                    }
                    assertFalse(o.dontNeed, what + " freed only " + got + " bytes but left " + o.label() + " purgeable");
                    if (!o.dontNeed && swap) {
                        events.add("reclaim left objects for lack of swap");
                    }
                    assertFalse(swap && o.backedPages() <= swapFree, what + " freed only " + got + " bytes but left "
                            + o.label() + " evictable (" + o.backedPages() + " pages, " + swapFree + " swap pages free)");
                }
            }
        }

        // ---- invariants ------------------------------------------------------------------------

        void checkInvariants() {
            List<LogRecord> unexpected = logs.unexpected();
            if (!unexpected.isEmpty()) {
                fail("unexpected WARNING(s) logged:" + LogCapture.describe(unexpected));
            }
            MemoryStats s = mm.stats();
            long pinned = 0;
            long resident = 0;
            long evicted = 0;
            long purgeable = 0;
            for (Obj o : objects) {
                String l = o.label();
                BufferObject bo = o.bo;
                assertEquals(o.size, bo.size(), l + " size");
                assertEquals(o.handle, bo.handle(), l + " handle");
                assertEquals(o.refCount(), bo.refCount(), l + " refCount");
                assertEquals(o.useCount(), bo.pagesUseCount(), l + " pagesUseCount");
                assertEquals(o.pinCount(), bo.pinCount(), l + " pinCount");
                assertEquals(o.vmapCount(), bo.vmapCount(), l + " vmapCount");
                assertEquals(o.residency, bo.residency(), l + " residency");
                if (bo.pinCount() > 0) {
                    assertTrue(bo.pagesUseCount() > 0, l + ": pinned without a page use");
                    assertEquals(Residency.RESIDENT, bo.residency(), l + ": pinned but not resident");
                }
                if (bo.vmapCount() > 0) {
                    assertTrue(bo.pinCount() >= 1, l + ": vmapped but not pinned");
                }
                if (o.freed) {
                    continue;
                }
                if (o.pinCount() > 0) {
                    pinned += o.size;
                }
                if (o.residency == Residency.RESIDENT) {
                    resident += (long) o.backedPages() * PAGE;
                    if (o.dontNeed && o.pinCount() == 0) {
                        purgeable += (long) o.backedPages() * PAGE;
                    }
                } else if (o.residency == Residency.EVICTED) {
                    evicted += (long) o.backedPages() * PAGE;
                }
            }
            assertEquals((long) capacityPages * PAGE, s.capacity(), "stats.capacity");
            assertEquals(s.capacity(), s.free() + s.resident(), "stats: free + resident == capacity");
            assertEquals((long) mm.device().frames().freeFrames() * PAGE, s.free(), "stats.free vs the frame allocator");
            assertEquals(resident, s.resident(), "stats.resident == frames of resident objects");
            assertEquals(pinned, s.pinned(), "stats.pinned == sizes of pinned objects");
            assertEquals(purgeable, s.purgeable(), "stats.purgeable == frames of resident DONTNEED objects");
            assertEquals(evicted, s.evicted(), "stats.evicted == pages of evicted objects");
            assertEquals(evicted, s.swapUsed(), "stats.swapUsed");
            assertEquals(evictions, s.evictions(), "stats.evictions");
            assertEquals(swapIns, s.swapIns(), "stats.swapIns");
            assertEquals(purges, s.purges(), "stats.purges");

            for (Obj o : objects) {
                if (o.freed || o.purged || o.residency == Residency.EVICTED) {
                    continue;
                }
                byte[] actual = new byte[(int) o.size];
                o.bo.read(0, MemorySegment.ofArray(actual));
                assertContent(o.content, actual, o.label() + " content");
            }
            for (VmapRef r : vmaps) {
                if (!r.closed && !r.owner.freed) {
                    assertContent(r.owner.content, r.vmap.segment().toArray(ValueLayout.JAVA_BYTE), r + " segment");
                }
            }
            assertEquals(s, mm.stats(), "reading resident or unpopulated objects changed the manager");

            for (ClientModel c : clients) {
                if (c.closed) {
                    assertThrows(IllegalStateException.class, c.client::stats, c + ".stats() of a closed client");
                    continue;
                }
                long total = 0;
                long cResident = 0;
                long cPurgeable = 0;
                long cEvicted = 0;
                for (Obj o : c.objects) {
                    if (!o.handleOpen || o.freed) {
                        continue;
                    }
                    total += o.size;
                    long bytes = (long) o.backedPages() * PAGE;
                    if (o.residency == Residency.RESIDENT) {
                        cResident += bytes;
                        cPurgeable += o.dontNeed && o.pinCount() == 0 ? bytes : 0;
                    } else if (o.residency == Residency.EVICTED) {
                        cEvicted += bytes;
                    }
                }
                assertEquals(new ClientStats(total, 0, cResident, cPurgeable, 0, cEvicted), c.client.stats(),
                        c + ".stats() (total, shared, resident, purgeable, active, evicted)");
            }
        }

        private static void assertContent(byte[] expected, byte[] actual, String what) {
            if (!Arrays.equals(expected, actual)) {
                int i = Arrays.mismatch(expected, actual);
                fail(what + " differs from the model at byte " + i + " (page " + i / PAGE + "): expected "
                        + expected[i] + ", was " + actual[i]);
            }
        }
    }
}
