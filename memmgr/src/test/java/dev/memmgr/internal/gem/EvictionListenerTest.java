package dev.memmgr.internal.gem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memmgr.MemmgrExtension;
import dev.memmgr.BufferObject;
import dev.memmgr.Client;
import dev.memmgr.Madvise;
import dev.memmgr.MemoryManager;
import dev.memmgr.Residency;
import dev.memmgr.internal.Access;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Weak users (GPU VMs later) register eviction listeners: they are told, with the reservation
 * held and the frames still there, before an eviction or a purge takes the frames away.
 */
@ExtendWith(MemmgrExtension.class)
class EvictionListenerTest {
    private static final int SIZE = 64 << 10;

    @Test
    void listenersHearOfEvictionAndPurgeBeforeTheFramesGo() {
        try (MemoryManager mm = MemoryManager.builder().capacity(1L << 20).backgroundReclaim(false).build();
             Client client = mm.openClient("vm")) {
            BufferObject kept = client.create(SIZE);
            BufferObject cache = client.create(SIZE);
            kept.write(0, MemorySegment.ofArray(new byte[SIZE]));
            cache.write(0, MemorySegment.ofArray(new byte[SIZE]));
            GemObject keptGem = Access.gem(kept);
            GemObject cacheGem = Access.gem(cache);
            List<String> heard = new ArrayList<>();
            EvictionListener listener = (o, purged) -> {
                assertTrue(o.resv().isHeldByCurrentThread(), "told with the reservation held");
                assertEquals(Residency.RESIDENT, o.residency(), "told before the frames go");
                heard.add(o.handle() + (purged ? " purged" : " evicted"));
            };
            register(keptGem, listener);
            register(cacheGem, listener);

            cache.madvise(Madvise.DONTNEED);
            assertEquals(SIZE, mm.reclaim(SIZE), "the purgeable one goes first");
            assertEquals(List.of(cache.handle() + " purged"), heard);

            assertEquals(SIZE, mm.reclaim(SIZE));
            assertEquals(Residency.EVICTED, kept.residency());
            assertEquals(List.of(cache.handle() + " purged", kept.handle() + " evicted"), heard);

            kept.getPages(); // swap back in, then stop listening
            kept.putPages();
            kept.resv().lock();
            try {
                keptGem.dev().removeEvictionListener(keptGem, listener);
            } finally {
                kept.resv().unlock();
            }
            assertEquals(SIZE, mm.reclaim(SIZE));
            assertEquals(Residency.EVICTED, kept.residency());
            assertEquals(2, heard.size(), "a removed listener is not told");
        }
    }

    private static void register(GemObject o, EvictionListener l) {
        o.resv().lock();
        try {
            o.dev().addEvictionListenerLocked(o, l);
        } finally {
            o.resv().unlock();
        }
    }
}
