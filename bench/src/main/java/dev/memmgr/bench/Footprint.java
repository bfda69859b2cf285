package dev.memmgr.bench;

import dev.memmgr.BufferObject;
import dev.memmgr.Client;
import dev.memmgr.MemoryManager;
import java.lang.management.ManagementFactory;
import java.lang.ref.Reference;
import java.lang.management.MemoryMXBean;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Heap bytes per managed page and per buffer object, measured as the growth of the used heap
 * after full GCs (MemoryMXBean), in three shapes:
 * <ul>
 * <li>{@code 100k small objects}: 100,000 populated one-page objects; per object and per page
 *     are the same figure. Everything an object costs is counted: the public BufferObject, the
 *     internal object, its reservation, its page table and its slot in the client's handle
 *     table.</li>
 * <li>{@code 1 GiB objects, contiguous}: four populated 1 GiB objects on a fresh manager, each
 *     in one run of frames (page table: one int).</li>
 * <li>{@code 1 GiB object, scattered}: memory is first fragmented into single free frames (one-page
 *     objects side by side, every other one freed); the 1 GiB object then gets 262,144 separate
 *     frames (page table: one int per page). The baseline is taken after fragmenting.</li>
 * </ul>
 * Frames themselves are off-heap (a memfd) and populated frames are not touched, so the managers
 * can be large. Targets (DESIGN.md section 5): at most 4.5 bytes per page (scattered) and 200
 * bytes per object.
 *
 * <p>{@code bin/memmgr java -Xmx1g -cp bench/target/benchmarks.jar dev.memmgr.bench.Footprint}
 */
public final class Footprint {
    private static final MemoryMXBean MEMORY = ManagementFactory.getMemoryMXBean();

    /** One measured shape. */
    public record Result(String shape, long objects, long pages, long heapBytes) {
        public double perObject() {
            return (double) heapBytes / objects;
        }

        public double perPage() {
            return (double) heapBytes / pages;
        }
    }

    private Footprint() {
    }

    public static void main(String[] args) {
        List<Result> results = measureAll();
        System.out.println("| shape | objects | pages | heap | per object | per page |");
        System.out.println("|---|---|---|---|---|---|");
        for (Result r : results) {
            System.out.printf(Locale.ROOT, "| %s | %d | %d | %s | %.1f B | %.2f B |%n", r.shape(), r.objects(),
                    r.pages(), Sizes.format(r.heapBytes()), r.perObject(), r.perPage());
        }
    }

    /** @return the three shapes, measured in this JVM (needs about 300 MB of heap) */
    public static List<Result> measureAll() {
        return List.of(smallObjects(100_000), largeContiguous(4), largeScattered());
    }

    static Result smallObjects(int n) {
        try (MemoryManager mm = manager((long) n * 4096 + (16L << 20));
             Client client = mm.openClient("footprint")) {
            List<BufferObject> keep = new ArrayList<>(n);
            long before = usedHeapAfterGc(keep);
            for (int i = 0; i < n; i++) {
                BufferObject bo = client.create(4096);
                bo.getPages();
                bo.putPages();
                keep.add(bo);
            }
            long after = usedHeapAfterGc(keep);
            long listBytes = 16L + 4L * n; // the ArrayList's array holding the references, not memmgr's
            return new Result("100k small objects (4 KiB)", n, n, after - before - listBytes);
        }
    }

    static Result largeContiguous(int n) {
        long gib = 1L << 30;
        try (MemoryManager mm = manager(n * gib + (16L << 20));
             Client client = mm.openClient("footprint")) {
            List<BufferObject> keep = new ArrayList<>(n);
            long before = usedHeapAfterGc(keep);
            for (int i = 0; i < n; i++) {
                BufferObject bo = client.create(gib);
                bo.getPages();
                bo.putPages();
                keep.add(bo);
            }
            long after = usedHeapAfterGc(keep);
            return new Result(n + " x 1 GiB objects, contiguous", n, n * (gib / 4096), after - before);
        }
    }

    static Result largeScattered() {
        int pages = 1 << 18; // 1 GiB of 4 KiB pages
        try (MemoryManager mm = manager(2L * pages * 4096 + (16L << 20));
             Client client = mm.openClient("footprint")) {
            List<BufferObject> spacers = new ArrayList<>(2 * pages);
            for (int i = 0; i < 2 * pages; i++) {
                BufferObject bo = client.create(4096);
                bo.getPages();
                bo.putPages();
                spacers.add(bo);
            }
            for (int i = 0; i < spacers.size(); i += 2) {
                spacers.get(i).close();
                spacers.set(i, null);
            }
            List<BufferObject> keep = new ArrayList<>(1);
            long before = usedHeapAfterGc(spacers);
            BufferObject big = client.create((long) pages * 4096);
            big.getPages();
            big.putPages();
            keep.add(big);
            long after = usedHeapAfterGc(keep, spacers);
            return new Result("1 GiB object, scattered (every frame apart)", 1, pages, after - before);
        }
    }

    private static MemoryManager manager(long capacity) {
        long pages = (capacity + 4095) / 4096;
        return MemoryManager.builder().capacity(pages * 4096).noSwap().backgroundReclaim(false).build();
    }

    /** Full GCs until the used heap stops shrinking; the arguments stay reachable meanwhile. */
    private static long usedHeapAfterGc(Object... keepAlive) {
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 10; i++) {
            System.gc();
            long now = MEMORY.getHeapMemoryUsage().getUsed();
            if (now >= used - 1024) {
                used = Math.min(used, now);
                break;
            }
            used = now;
        }
        Reference.reachabilityFence(keepAlive);
        return used;
    }
}
