package dev.memmgr;

import static dev.memmgr.ModelTestSupport.PAGE;
import static dev.memmgr.ModelTestSupport.between;
import static dev.memmgr.ModelTestSupport.create;
import static dev.memmgr.ModelTestSupport.lookupOwnHandle;
import static dev.memmgr.ModelTestSupport.madvise;
import static dev.memmgr.ModelTestSupport.read;
import static dev.memmgr.ModelTestSupport.simple;
import static dev.memmgr.ModelTestSupport.step;
import static dev.memmgr.ModelTestSupport.write;

import dev.memmgr.ModelRunner.Action;
import dev.memmgr.ModelRunner.Step;
import dev.memmgr.ModelTestSupport.ClientModel;
import dev.memmgr.ModelTestSupport.Slots;
import dev.memmgr.ModelTestSupport.World;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.extension.ExtendWith;

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
 * open handles; the leak WARNING of objects freed with counts outstanding (closing their client,
 * say); and every invariant of the model after each step.
 */
@ExtendWith(MemmgrExtension.class)
class ManagerModelTest {
    static final int CAPACITY_PAGES = 12;
    static final int TRIES = 300;
    static final int MAX_STEPS = 50;
    /** The objects, in creation order: 1 to 6 pages, some sizes not a page multiple (rounded up). */
    static final Slots OBJECTS = new Slots(List.of(2L * PAGE, 5L * PAGE, 1000L, 6L * PAGE, 3L * PAGE - 1,
            4L * PAGE, 1L * PAGE, 2L * PAGE + 1, 6L * PAGE, 3L * PAGE));
    static final int MAX_CLIENTS = 3;

    @Test
    void managerFollowsTheModel(TestInfo info, Fixture fx) {
        Slots objects = OBJECTS;
        new ModelRunner<World>(info, rnd -> setUp(fx))
                .tries(TRIES)
                .steps(MAX_STEPS / 2, MAX_STEPS)
                .action(3, create(objects, MAX_CLIENTS, objects.count()))
                .action(1, "openClient()", w -> {
                    if (w.clients.size() < MAX_CLIENTS) {
                        w.openClient();
                    }
                })
                .action(5, write(objects))
                .action(3, read(objects))
                .action(2, simple(objects, "pin", World::pin))
                .action(2, simple(objects, "unpin", World::unpin))
                .action(1, simple(objects, "getPages", World::getPages))
                .action(1, simple(objects, "putPages", World::putPages))
                .action(3, madvise(objects))
                .action(2, simple(objects, "retain", World::retain))
                .action(2, simple(objects, "release", World::release))
                .action(1, simple(objects, "close", World::closeHandle))
                .action(2, lookupOwnHandle(objects))
                .action(2, lookupInOtherClient(objects))
                .action(1, lookupUnknownHandle())
                .action(4, reclaim())
                .action(1, closeClient())
                .invariant(World::checkInvariants)
                .tearDown(World::close)
                .events(w -> w.events)
                .run()
                .assertCovered("reclaim freed what was asked", "reclaim freed less than asked", "reclaim freed nothing",
                        "evicted", "purged", "swapped in", "object outlived its client", "lookup in a closed client",
                        "lookup of another client's handle: own object", "freed pinned", "freed in use");
    }

    /** Clients c0 with o0 to o2 and c1 with o3 to o5; the steps may open c2 and create the other objects. */
    private static World setUp(Fixture fx) {
        World w = new World(fx.logs(), CAPACITY_PAGES, true);
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
    private static Action<World> lookupInOtherClient(Slots objects) {
        return rnd -> {
            int i = objects.index(rnd);
            int d = 1 + rnd.nextInt(MAX_CLIENTS - 1);
            return step("lookup(handle of " + objects.label(i) + ") in its client + " + d, i, (w, o) -> {
                ClientModel c = w.client((o.client.id + d) % MAX_CLIENTS);
                if (c != null) {
                    w.lookup(c, o.handle);
                }
            });
        };
    }

    /** Looks up in client c a handle number no client has given out yet. */
    private static Action<World> lookupUnknownHandle() {
        return rnd -> {
            int c = rnd.nextInt(MAX_CLIENTS);
            return new Step<>("lookup(unknown handle) in c" + c, w -> {
                ClientModel cm = w.client(c);
                if (cm != null) {
                    w.lookup(cm, w.objects.stream().mapToInt(o -> o.handle).max().orElse(0) + 1);
                }
            });
        };
    }

    private static Action<World> closeClient() {
        return rnd -> {
            int c = rnd.nextInt(MAX_CLIENTS);
            return new Step<>("close(c" + c + ")", w -> {
                ClientModel cm = w.client(c);
                if (cm != null) {
                    w.closeClient(cm);
                }
            });
        };
    }

    /**
     * reclaim(bytes): {@code kind} 0 asks for nothing, 1 to 4 for 1 byte to the capacity, 5 to 7
     * for whole pages, 8 for the capacity, 9 for everything (Long.MAX_VALUE), 10 for -1 bytes.
     */
    private static Action<World> reclaim() {
        long capacity = (long) CAPACITY_PAGES * PAGE;
        return rnd -> {
            int kind = rnd.nextInt(11);
            long n = between(rnd, 1, capacity);
            long bytes = switch (kind) {
                case 0 -> 0;
                case 1, 2, 3, 4 -> n;
                case 5, 6, 7 -> (n + PAGE - 1) / PAGE * PAGE;
                case 8 -> capacity;
                case 9 -> Long.MAX_VALUE;
                default -> -1;
            };
            return new Step<>("reclaim(" + bytes + ")", w -> w.reclaim(bytes));
        };
    }
}
