package dev.memmgr.internal.swap;

import dev.memmgr.internal.mem.ExtentList;
import dev.memmgr.internal.mem.FrameAllocator;
import dev.memmgr.internal.mem.PhysMem;
import dev.memmgr.internal.mem.RunAllocator;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

/**
 * Run by {@link LargeCapacityTest} in a JVM of its own with {@code -Xmx64m}: a terabyte of
 * frames with their allocator, a swap of four terabytes and an allocator of 2^30 units, each used
 * at both ends. Prints "OK" and exits 0, or fails with an exception (exit 1), or runs out of heap.
 */
public final class LargeCapacityMain {
    private static final int PAGE = 4096;

    private LargeCapacityMain() {
    }

    public static void main(String[] args) {
        Path dir = Path.of(args[0]);
        try (PhysMem mem = PhysMem.create(1L << 40, PAGE);
                FrameAllocator frames = new FrameAllocator(mem);
                SwapSpace swap = SwapSpace.createTemp(dir, 4L << 40, mem);
                RunAllocator units = new RunAllocator(1 << 30, true)) {
            check(frames.capacity() == 1 << 28, "frames");
            check(swap.capacitySlots() == 1 << 30, "slots");
            ExtentList low = new ExtentList();
            check(frames.allocate(64, low), "allocate frames");
            int high = frames.allocateRun(frames.freeFrames() - 64);
            check(high > 0, "a run to the end of the terabyte");
            for (int p = 0; p < 64; p++) {
                mem.frames(low.start(0) + p, 1).set(ValueLayout.JAVA_INT, 0, 1000 + p);
            }
            ExtentList slots = new ExtentList();
            check(swap.allocate(swap.freeSlots() - 64, new ExtentList()), "fill the swap but 64 slots");
            check(swap.allocate(64, slots), "allocate slots");
            check(slots.start(0) >= (1 << 30) - 64, "slots at the end of the 4 TiB file: " + slots);
            swap.write(low, slots);
            ExtentList back = new ExtentList();
            back.add(high + (1 << 27), 64);
            swap.read(slots, back);
            for (int p = 0; p < 64; p++) {
                check(mem.frames(back.start(0) + p, 1).get(ValueLayout.JAVA_INT, 0) == 1000 + p, "page " + p);
            }
            ExtentList u = new ExtentList();
            for (int i = 0; i < 10_000; i++) {
                u.clear();
                check(units.allocate(1 + i % 100, u, new ExtentList()), "units");
                if (i % 3 != 0) {
                    units.free(u);
                }
            }
            check(units.trimDirty((s, l) -> { }) >= 0, "trim");
            frames.free(low);
            swap.free(slots);
        }
        Runtime rt = Runtime.getRuntime();
        System.out.println("OK heap used " + (rt.totalMemory() - rt.freeMemory()) + " of max " + rt.maxMemory());
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }
}
