package dev.memmgr;

import static dev.memmgr.ModelTestSupport.PAGE;
import static dev.memmgr.ModelTestSupport.create;
import static dev.memmgr.ModelTestSupport.fillBytes;
import static dev.memmgr.ModelTestSupport.lookupOwnHandle;
import static dev.memmgr.ModelTestSupport.madvise;
import static dev.memmgr.ModelTestSupport.read;
import static dev.memmgr.ModelTestSupport.run;
import static dev.memmgr.ModelTestSupport.simple;
import static dev.memmgr.ModelTestSupport.spanSeeds;
import static dev.memmgr.ModelTestSupport.step;
import static dev.memmgr.ModelTestSupport.track;
import static dev.memmgr.ModelTestSupport.write;

import dev.memmgr.ModelTestSupport.ClientModel;
import dev.memmgr.ModelTestSupport.Slots;
import dev.memmgr.ModelTestSupport.Span;
import dev.memmgr.ModelTestSupport.VmapRef;
import dev.memmgr.ModelTestSupport.World;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.state.Action;
import net.jqwik.api.state.ActionChain;

/**
 * Random operation sequences on the objects of one client of a manager of 12 pages: 4 objects to
 * start with and 2 more created along the way once others are freed (at most 4 alive), of 1 byte
 * to 8 pages, so that populating one object often has to reclaim another. Checked against the model of
 * {@link ModelTestSupport.World}: counts, madvise state, backed pages, residency and content per
 * object, and the manager's statistics. Every operation is also tried where the contract rejects
 * it (unbalanced putPages, unpin and release; pin and vmap of DONTNEED; DONTNEED of a pinned
 * object; content operations on a purged or freed object; access through a view of a freed
 * object; out-of-range reads and writes) and must then throw the contract's exception and change
 * nothing. GpuOutOfMemoryException must come exactly when the frames cannot be found. Run with
 * swap (eviction and swap-in) and without (only purge can free frames).
 */
class BufferObjectModelProperties {
    static final int CAPACITY_PAGES = 12;
    static final int MAX_STEPS = 40;
    /**
     * The objects, in creation order: 1 to 8 pages, some sizes not a page multiple (rounded up).
     * The first four (17 pages) do not fit in the 12 pages together.
     */
    static final Slots OBJECTS = new Slots(List.of(3L * PAGE, 8L * PAGE, 1L, 5L * PAGE - 100, 2L * PAGE, 6L * PAGE));
    static final int INITIAL = 4;
    static final int MAX_LIVE = 4;
    /** Views of one object an action may address (the k-th vmap() of the object). */
    static final int VMAPS_PER_OBJECT = 3;

    @Property(tries = 500)
    void objectsFollowTheModelWithSwap(@ForAll("withSwap") ActionChain<World> chain) {
        run(chain);
    }

    @Property(tries = 500)
    void objectsFollowTheModelWithoutSwap(@ForAll("withoutSwap") ActionChain<World> chain) {
        run(chain);
    }

    @Provide
    Arbitrary<ActionChain<World>> withSwap() {
        return chains(true);
    }

    @Provide
    Arbitrary<ActionChain<World>> withoutSwap() {
        return chains(false);
    }

    private static Arbitrary<ActionChain<World>> chains(boolean swap) {
        Slots objects = OBJECTS;
        return ActionChain.startWith(() -> setUp(swap))
                .withAction(2, create(objects, 1, MAX_LIVE))
                .withAction(6, write(objects))
                .withAction(3, read(objects))
                .withAction(2, simple(objects, "getPages", World::getPages))
                .withAction(2, simple(objects, "putPages", World::putPages))
                .withAction(3, simple(objects, "pin", World::pin))
                .withAction(3, simple(objects, "unpin", World::unpin))
                .withAction(2, simple(objects, "vmap", World::vmap))
                .withAction(2, closeVmap(objects))
                .withAction(2, writeThroughVmap(objects))
                .withAction(3, madvise(objects))
                .withAction(2, simple(objects, "retain", World::retain))
                .withAction(1, simple(objects, "release", World::release))
                .withAction(1, simple(objects, "close", World::closeHandle))
                .withAction(1, lookupOwnHandle(objects))
                .withMaxTransformations(MAX_STEPS);
    }

    /** One client c0 with the first INITIAL objects; the chain creates the others. */
    private static World setUp(boolean swap) {
        World w = track(new World(CAPACITY_PAGES, swap));
        ClientModel c = w.openClient();
        for (int i = 0; i < INITIAL; i++) {
            w.create(c, OBJECTS.bytes().get(i));
        }
        return w;
    }

    /** Closes the k-th view taken of an object (again if already closed: idempotent). */
    private static Action.Independent<World> closeVmap(Slots objects) {
        return () -> Combinators.combine(objects.index(), Arbitraries.integers().between(0, VMAPS_PER_OBJECT - 1)).as((i, k) ->
                step("close(vmap #" + k + " of " + objects.label(i) + ")", i, (w, o) -> {
                    VmapRef r = w.vmapOf(o, k, true);
                    if (r != null) {
                        w.closeVmap(r);
                    }
                }));
    }

    /** Writes through the k-th view not closed by the test: open, or stale (its object freed). */
    private static Action.Independent<World> writeThroughVmap(Slots objects) {
        return () -> Combinators.combine(objects.index(), Arbitraries.integers().between(0, VMAPS_PER_OBJECT - 1),
                spanSeeds(objects), fillBytes()).as((i, k, seed, b) -> {
                    Span s = seed.fitInside(objects.size(i));
                    return step("writeThrough(vmap #" + k + " not closed of " + objects.label(i) + ", " + s + ", " + b + ")", i,
                            (w, o) -> {
                                VmapRef r = w.vmapOf(o, k, false);
                                if (r != null) {
                                    w.writeThroughVmap(r, s, b);
                                }
                            });
                });
    }
}
