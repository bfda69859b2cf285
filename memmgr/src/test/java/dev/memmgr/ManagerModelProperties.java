package dev.memmgr;

import static dev.memmgr.ModelTestSupport.PAGE;
import static dev.memmgr.ModelTestSupport.create;
import static dev.memmgr.ModelTestSupport.lookupOwnHandle;
import static dev.memmgr.ModelTestSupport.madvise;
import static dev.memmgr.ModelTestSupport.read;
import static dev.memmgr.ModelTestSupport.run;
import static dev.memmgr.ModelTestSupport.simple;
import static dev.memmgr.ModelTestSupport.step;
import static dev.memmgr.ModelTestSupport.track;
import static dev.memmgr.ModelTestSupport.write;

import dev.memmgr.ModelTestSupport.ClientModel;
import dev.memmgr.ModelTestSupport.Slots;
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
import net.jqwik.api.state.Transformer;

/**
 * Random sequences over 2 or 3 clients and up to 10 objects of 1 byte to 6 pages (3 per client to
 * start with), in a manager of 12 pages with the default swap (an unlinked temp file of twice the
 * capacity), against the model of {@link ModelTestSupport.World}. Besides content
 * and page operations it runs explicit {@link MemoryManager#reclaim(long)} requests, creates
 * objects, looks handles up (in the owning client; in another client, where the number may name
 * another object or nothing; in closed clients), retains and releases objects, closes handles
 * and clients, and opens a third client.
 *
 * <p>Checked: reclaim returns whole pages, exactly the frames freed, and free grows by that
 * amount; reclaim never touches pinned objects, purges only DONTNEED ones (whose content is then
 * either unchanged or gone, never changed), evicts only WILLNEED ones, purges before it evicts,
 * and frees less than asked only when nothing more can be freed; evicted content comes back
 * intact; closing a client closes its handles (lookups then throw IllegalStateException) while
 * objects retained elsewhere keep their content; {@code ClientStats} matches the objects with
 * open handles; and every invariant of the model after each step.
 */
class ManagerModelProperties {
    static final int CAPACITY_PAGES = 12;
    static final int MAX_STEPS = 50;
    /** The objects, in creation order: 1 to 6 pages, some sizes not a page multiple (rounded up). */
    static final Slots OBJECTS = new Slots(List.of(2L * PAGE, 5L * PAGE, 1000L, 6L * PAGE, 3L * PAGE - 1,
            4L * PAGE, 1L * PAGE, 2L * PAGE + 1, 6L * PAGE, 3L * PAGE));
    static final int MAX_CLIENTS = 3;

    @Property(tries = 300)
    void managerFollowsTheModel(@ForAll("chains") ActionChain<World> chain) {
        run(chain);
    }

    @Provide
    Arbitrary<ActionChain<World>> chains() {
        Slots objects = OBJECTS;
        return ActionChain.startWith(ManagerModelProperties::setUp)
                .withAction(3, create(objects, MAX_CLIENTS, objects.count()))
                .withAction(1, openClient())
                .withAction(5, write(objects))
                .withAction(3, read(objects))
                .withAction(2, simple(objects, "pin", World::pin))
                .withAction(2, simple(objects, "unpin", World::unpin))
                .withAction(1, simple(objects, "getPages", World::getPages))
                .withAction(1, simple(objects, "putPages", World::putPages))
                .withAction(3, madvise(objects))
                .withAction(2, simple(objects, "retain", World::retain))
                .withAction(2, simple(objects, "release", World::release))
                .withAction(1, simple(objects, "close", World::closeHandle))
                .withAction(2, lookupOwnHandle(objects))
                .withAction(2, lookupInOtherClient(objects))
                .withAction(1, lookupUnknownHandle())
                .withAction(4, reclaim())
                .withAction(1, closeClient())
                .withMaxTransformations(MAX_STEPS);
    }

    /** Clients c0 with o0 to o2 and c1 with o3 to o5; the chain may open c2 and creates the other objects. */
    private static World setUp() {
        World w = track(new World(CAPACITY_PAGES, true));
        for (int c = 0; c < 2; c++) {
            ClientModel client = w.openClient();
            for (int i = 0; i < 3; i++) {
                w.create(client, OBJECTS.bytes().get(w.objects.size()));
            }
        }
        return w;
    }

    /**
     * Looks the handle number of an object up in another client (its client's index + d):
     * handles are per client, so the number names that client's object with the same number,
     * if any.
     */
    private static Action.Independent<World> lookupInOtherClient(Slots objects) {
        return () -> Combinators.combine(objects.index(), Arbitraries.integers().between(1, MAX_CLIENTS - 1)).as((i, d) ->
                step("lookup(handle of " + objects.label(i) + ") in its client + " + d, i, (w, o) -> {
                    ClientModel c = w.client((o.client.id + d) % MAX_CLIENTS);
                    if (c != null) {
                        w.lookup(c, o.handle);
                    }
                }));
    }

    /** Looks up in client c a handle number no client has given out yet. */
    private static Action.Independent<World> lookupUnknownHandle() {
        return () -> Arbitraries.integers().between(0, MAX_CLIENTS - 1).map(c -> Transformer.mutate("lookup(unknown handle) in c" + c, w -> {
            ClientModel cm = w.client(c);
            if (cm != null) {
                w.lookup(cm, w.objects.stream().mapToInt(o -> o.handle).max().orElse(0) + 1);
            }
        }));
    }

    private static Action.Independent<World> openClient() {
        return () -> Arbitraries.just(Transformer.mutate("openClient()", w -> {
            if (w.clients.size() < MAX_CLIENTS) {
                w.openClient();
            }
        }));
    }

    private static Action.Independent<World> closeClient() {
        return () -> Arbitraries.integers().between(0, MAX_CLIENTS - 1).map(c -> Transformer.mutate("close(c" + c + ")", w -> {
            ClientModel cm = w.client(c);
            if (cm != null) {
                w.closeClient(cm);
            }
        }));
    }

    /**
     * reclaim(bytes): {@code kind} 0 asks for nothing, 1 to 4 for 1 byte to the capacity, 5 to 7
     * for whole pages, 8 for the capacity, 9 for everything (Long.MAX_VALUE), 10 for -1 bytes.
     */
    private static Action.Independent<World> reclaim() {
        long capacity = (long) CAPACITY_PAGES * PAGE;
        return () -> Combinators.combine(Arbitraries.integers().between(0, 10), Arbitraries.longs().between(1, capacity)).as((kind, n) -> {
            long bytes = switch (kind) {
                case 0 -> 0;
                case 1, 2, 3, 4 -> n;
                case 5, 6, 7 -> (n + PAGE - 1) / PAGE * PAGE;
                case 8 -> capacity;
                case 9 -> Long.MAX_VALUE;
                default -> -1;
            };
            return Transformer.<World>mutate("reclaim(" + bytes + ")", w -> w.reclaim(bytes));
        });
    }
}
