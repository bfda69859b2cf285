package dev.memmgr.internal.gem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memmgr.MemmgrExtension;
import dev.memmgr.BufferObject;
import dev.memmgr.Client;
import dev.memmgr.MemoryManager;
import dev.memmgr.Vmap;
import dev.memmgr.internal.Access;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The last reference goes while a transient one (the shrinker's, an operation's in another
 * thread) is still held: the object must stop being usable at once, and its frames must come
 * back when the transient reference goes.
 */
@ExtendWith(MemmgrExtension.class)
class DeferredFreeTest {
    @Test
    void viewsStopWorkingAtOnceAndFramesReturnWithTheLastTransientReference() {
        try (MemoryManager mm = MemoryManager.builder().capacity(4L << 20).backgroundReclaim(false).build();
             Client client = mm.openClient("deferred")) {
            BufferObject bo = client.create(64 << 10);
            MemorySegment view;
            try (Vmap v = bo.vmap()) {
                view = v.segment();
                view.set(ValueLayout.JAVA_INT, 0, 42);
            }
            assertEquals(42, view.get(ValueLayout.JAVA_INT, 0), "the mapping stays cached after the last view closes");
            GemObject gem = Access.gem(bo);
            assertTrue(gem.tryGet(), "as the shrinker does");
            long freeBefore = mm.stats().free();

            bo.close();

            assertEquals(0, bo.refCount());
            assertThrows(IllegalStateException.class, () -> view.get(ValueLayout.JAVA_INT, 0));
            assertThrows(IllegalStateException.class, bo::pin);
            assertEquals(freeBefore, mm.stats().free(), "frames are not freed under a transient reference");

            gem.put();

            assertEquals(freeBefore + (64 << 10), mm.stats().free());
            assertTrue(gem.isFreed());
        }
    }
}
