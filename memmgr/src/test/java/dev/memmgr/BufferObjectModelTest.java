package dev.memmgr;

import static dev.memmgr.ModelTestSupport.PAGE;
import static dev.memmgr.ModelTestSupport.create;
import static dev.memmgr.ModelTestSupport.fillByte;
import static dev.memmgr.ModelTestSupport.lookupOwnHandle;
import static dev.memmgr.ModelTestSupport.madvise;
import static dev.memmgr.ModelTestSupport.read;
import static dev.memmgr.ModelTestSupport.simple;
import static dev.memmgr.ModelTestSupport.step;
import static dev.memmgr.ModelTestSupport.write;

import dev.memmgr.ModelRunner.Action;
import dev.memmgr.ModelTestSupport.ClientModel;
import dev.memmgr.ModelTestSupport.Slots;
import dev.memmgr.ModelTestSupport.Span;
import dev.memmgr.ModelTestSupport.SpanSeed;
import dev.memmgr.ModelTestSupport.VmapRef;
import dev.memmgr.ModelTestSupport.World;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Random operation sequences on the objects of one client of a manager of 12 pages: 4 objects to
 * start with and 2 more created along the way once others are freed (at most 4 alive), of 1 byte
 * to 8 pages, so that populating one object often has to reclaim another. Checked against the
 * model of {@link ModelTestSupport.World}: counts, madvise state, backed pages, residency and
 * content per object, the manager's statistics, and the leak WARNING of every object freed with
 * counts outstanding. Every operation is also tried where the contract rejects it (unbalanced
 * putPages, unpin and release; pin and vmap of DONTNEED; DONTNEED of a pinned object; content
 * operations on a purged or freed object; access through a view of a freed object; out-of-range
 * reads and writes) and must then throw the contract's exception and change nothing.
 * GpuOutOfMemoryException must come exactly when the frames cannot be found. Run with swap
 * (eviction and swap-in) and without (only purge can free frames). {@link ModelRunner} says how
 * to rerun a failing seed.
 */
@ExtendWith(MemmgrExtension.class)
class BufferObjectModelTest {
    static final int CAPACITY_PAGES = 12;
    static final int TRIES = 500;
    static final int MAX_STEPS = 40;
    /**
     * The objects, in creation order: 1 to 8 pages, some sizes not a page multiple (rounded up).
     * The first four (17 pages) do not fit in the 12 pages together.
     */
    static final Slots OBJECTS = new Slots(List.of(3L * PAGE, 8L * PAGE, 1L, 5L * PAGE - 100, 2L * PAGE, 6L * PAGE));
    static final int INITIAL = 4;
    static final int MAX_LIVE = 4;
    /** Views of one object a step may address (the k-th vmap() of the object). */
    static final int VMAPS_PER_OBJECT = 3;

    @Test
    void objectsFollowTheModelWithSwap(TestInfo info, Fixture fx) {
        runner(info, fx, true).run().assertCovered("direct reclaim", "evicted", "purged", "swapped in", "out of memory",
                "freed pinned", "freed with vmaps open", "freed in use", "stale vmap access", "rejected PurgedException");
    }

    @Test
    void objectsFollowTheModelWithoutSwap(TestInfo info, Fixture fx) {
        runner(info, fx, false).run().assertCovered("direct reclaim", "purged", "out of memory", "freed pinned",
                "freed with vmaps open", "stale vmap access");
    }

    private static ModelRunner<World> runner(TestInfo info, Fixture fx, boolean swap) {
        Slots objects = OBJECTS;
        return new ModelRunner<World>(info, rnd -> setUp(fx, swap))
                .tries(TRIES)
                .steps(MAX_STEPS / 2, MAX_STEPS)
                .action(2, create(objects, 1, MAX_LIVE))
                .action(6, write(objects))
                .action(3, read(objects))
                .action(2, simple(objects, "getPages", World::getPages))
                .action(2, simple(objects, "putPages", World::putPages))
                .action(3, simple(objects, "pin", World::pin))
                .action(3, simple(objects, "unpin", World::unpin))
                .action(2, simple(objects, "vmap", World::vmap))
                .action(2, closeVmap(objects))
                .action(2, writeThroughVmap(objects))
                .action(3, madvise(objects))
                .action(2, simple(objects, "retain", World::retain))
                .action(1, simple(objects, "release", World::release))
                .action(1, simple(objects, "close", World::closeHandle))
                .action(1, lookupOwnHandle(objects))
                .invariant(World::checkInvariants)
                .tearDown(World::close)
                .events(w -> w.events);
    }

    /** One client c0 with the first INITIAL objects; the steps create the others. */
    private static World setUp(Fixture fx, boolean swap) {
        World w = new World(fx.logs(), CAPACITY_PAGES, swap);
        ClientModel c = w.openClient();
        for (int i = 0; i < INITIAL; i++) {
            w.create(c, OBJECTS.bytes().get(i));
        }
        return w;
    }

    /** Closes the k-th view taken of an object (again if already closed: idempotent). */
    private static Action<World> closeVmap(Slots objects) {
        return rnd -> {
            int i = objects.index(rnd);
            int k = rnd.nextInt(VMAPS_PER_OBJECT);
            return step("close(vmap #" + k + " of " + objects.label(i) + ")", i, (w, o) -> {
                VmapRef r = w.vmapOf(o, k, true);
                if (r != null) {
                    w.closeVmap(r);
                }
            });
        };
    }

    /** Writes through the k-th view not closed by the test: open, or stale (its object freed). */
    private static Action<World> writeThroughVmap(Slots objects) {
        return rnd -> {
            int i = objects.index(rnd);
            int k = rnd.nextInt(VMAPS_PER_OBJECT);
            Span s = SpanSeed.draw(rnd, objects).fitInside(objects.size(i));
            byte b = fillByte(rnd);
            return step("writeThrough(vmap #" + k + " not closed of " + objects.label(i) + ", " + s + ", " + b + ")", i,
                    (w, o) -> {
                        VmapRef r = w.vmapOf(o, k, false);
                        if (r != null) {
                            w.writeThroughVmap(r, s, b);
                        }
                    });
        };
    }
}
