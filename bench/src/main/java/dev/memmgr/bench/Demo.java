package dev.memmgr.bench;

import dev.memmgr.BufferObject;
import dev.memmgr.Client;
import dev.memmgr.Madvise;
import dev.memmgr.MemoryManager;
import dev.memmgr.MemoryStats;
import dev.memmgr.Residency;
import dev.memmgr.Vmap;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * A guided tour on the embedded defaults (a temp swap file, 256 MiB of frames): a renderer-like
 * client creates textures for 2.5 times the capacity, so that the shrinker evicts the idle
 * ones to swap; every texture is then read back and checked byte for byte (swapping it in); a
 * cache of DONTNEED buffers is purged before anything needed is evicted; a pinned, vmapped
 * texture stays put throughout. Prints the figures at each step and exits non-zero if any byte
 * came back wrong.
 *
 * <p>{@code bin/memmgr demo [--capacity 256m] [--overcommit 2.5]}
 */
public final class Demo {
    private static final long TEXTURE = 4L << 20;

    private Demo() {
    }

    public static void main(String[] args) {
        long capacity = 256L << 20;
        double overcommit = 2.5;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--capacity" -> capacity = Sizes.parse(args[++i]);
                case "--overcommit" -> overcommit = Double.parseDouble(args[++i]);
                default -> {
                    System.err.println("usage: Demo [--capacity 256m] [--overcommit 2.5]");
                    System.exit(2);
                }
            }
        }
        int textures = (int) Math.max(2, (long) (capacity * overcommit) / TEXTURE);
        long start = System.nanoTime();
        int wrong;
        try (MemoryManager mm = MemoryManager.builder().capacity(capacity).build();
             Client renderer = mm.openClient("renderer");
             Arena arena = Arena.ofConfined()) {
            System.out.printf("memmgr demo: %s of frames, swap %s, page %d B%n",
                    Sizes.format(mm.capacity()), Sizes.format(mm.stats().swapCapacity()), mm.pageSize());
            MemorySegment buf = arena.allocate(TEXTURE);

            BufferObject scanout = renderer.create(TEXTURE);
            fill(buf, 0xFF);
            scanout.write(0, buf);
            Vmap view = scanout.vmap();
            System.out.printf("pinned a scanout buffer through a vmap: pinCount %d, %s%n",
                    scanout.pinCount(), scanout.residency());

            List<BufferObject> cache = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                BufferObject c = renderer.create(TEXTURE);
                fill(buf, 0x40 + i);
                c.write(0, buf);
                c.madvise(Madvise.DONTNEED);
                cache.add(c);
            }
            System.out.printf("4 cache buffers marked DONTNEED: %s purgeable%n", Sizes.format(mm.stats().purgeable()));

            List<BufferObject> all = new ArrayList<>();
            for (int i = 0; i < textures; i++) {
                BufferObject t = renderer.create(TEXTURE);
                fill(buf, i);
                t.write(0, buf);
                all.add(t);
            }
            print("after writing " + textures + " textures (" + Sizes.format(textures * TEXTURE) + ")", mm.stats());
            long purged = cache.stream().filter(c -> c.residency() == Residency.PURGED).count();
            System.out.printf("cache buffers purged first: %d of 4 (madvise now returns %s)%n",
                    purged, cache.getFirst().madvise(Madvise.WILLNEED));

            wrong = 0;
            for (int i = 0; i < textures; i++) {
                all.get(i).read(0, buf);
                wrong += check(buf, i);
            }
            print("after reading every texture back", mm.stats());
            wrong += check(view.segment(), 0xFF);
            System.out.printf("scanout through its vmap: %s, %s%n",
                    scanout.residency(), wrong == 0 ? "intact" : "DAMAGED");
            view.close();
            System.out.println();
            System.out.print(renderer.fdinfo());
        }
        System.out.printf("%nbytes wrong: %d; %.1f s%n", wrong, (System.nanoTime() - start) / 1e9);
        if (wrong != 0) {
            System.exit(1);
        }
    }

    private static void fill(MemorySegment s, int value) {
        s.fill((byte) value);
    }

    private static int check(MemorySegment s, int value) {
        byte b = (byte) value;
        long expected = 0x0101010101010101L * (b & 0xFF);
        int wrong = 0;
        for (long off = 0; off < s.byteSize(); off += 8) {
            if (s.get(ValueLayout.JAVA_LONG_UNALIGNED, off) != expected) {
                wrong++;
            }
        }
        return wrong;
    }

    private static void print(String what, MemoryStats s) {
        System.out.printf("%s: free %s, resident %s, pinned %s, in swap %s; %d evictions, %d swap-ins, %d purges%n",
                what, Sizes.format(s.free()), Sizes.format(s.resident()), Sizes.format(s.pinned()),
                Sizes.format(s.evicted()), s.evictions(), s.swapIns(), s.purges());
    }
}
