package dev.memmgr.bench;

import dev.memmgr.BufferObject;
import dev.memmgr.Client;
import dev.memmgr.Madvise;
import dev.memmgr.MemoryManager;
import dev.memmgr.MemoryManagerException;
import dev.memmgr.MemoryStats;
import dev.memmgr.Residency;
import dev.memmgr.Vmap;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A guided tour on the embedded defaults (a temp swap file, 256 MiB of frames): a renderer-like
 * client creates textures for 2.5 times the capacity, so that the shrinker evicts the idle
 * ones to swap; every texture is then read back and checked byte for byte (swapping it in); a
 * cache of DONTNEED buffers is purged before anything needed is evicted; a pinned, vmapped
 * texture stays put throughout. Prints the figures at each step and exits 1 if any byte came
 * back wrong.
 *
 * <p>Background reclaim runs beside the demo (it is on by default): when free frames fall under
 * the low watermark it evicts ahead of need up to the high one, so the figures can still move
 * for a moment after a step. Each step's figures are read once it is done, and checked against
 * what the demo holds: resident + in swap = the content of its live objects, free + resident =
 * the capacity; where they still moved (fdinfo is read separately) the demo says so.
 *
 * <p>{@code bin/memmgr demo [--capacity 256m] [--overcommit 2.5]}
 */
public final class Demo {
    static final String USAGE = """
            usage: bin/memmgr demo [--capacity SIZE] [--overcommit X]
              --capacity SIZE   frames of the manager: at least 16m, a multiple of 4k (default 256m)
              --overcommit X    textures to write, as a multiple of the capacity: more than 0 and
                                at most 2.75 (the swap file is twice the capacity; less for
                                small capacities, e.g. 2.25 for 16m) (default 2.5, or the most that fits)
              --help            this text
            SIZE: bytes with an optional k, m or g suffix (powers of 1024), e.g. 256m.
            Exit status: 0 every byte came back intact, 1 a byte came back wrong or the manager
            failed, 2 bad options.""";

    private static final long TEXTURE = 4L << 20;
    private static final int CACHE_BUFFERS = 4;
    /** Background reclaim's watermarks (the builder's defaults, stated so the demo can say them). */
    private static final double LOW = 0.05;
    private static final double HIGH = 0.10;
    /** How long the figures must stay still to count as settled, and the most to wait for it. */
    private static final long SETTLE_MILLIS = 50;
    private static final long SETTLE_LIMIT_MILLIS = 5000;

    /** The demo's settings. */
    record Options(long capacity, double overcommit) {
        static final List<String> NAMES = List.of("--capacity", "--overcommit");

        static Options of(CommandLine line) {
            long capacity = line.size("--capacity", 256L << 20, 16L << 20, 1L << 40);
            if (capacity % 4096 != 0) {
                throw new CommandLine.BadOptions("--capacity must be a multiple of 4k: '" + line.value("--capacity") + "'");
            }
            // frames + swap (twice the capacity) must hold the textures, the scanout buffer and
            // two textures' worth of room: a swap-in holds its frames and its slots for a moment
            long room = 3 * capacity;
            double most = Math.floor((room / TEXTURE - 3) * (double) TEXTURE / capacity * 100) / 100;
            Options o = new Options(capacity, line.decimal("--overcommit", Math.min(2.5, most), 0, 2.75));
            if ((o.textures() + 3L) * TEXTURE > room) {
                throw new CommandLine.BadOptions(String.format(Locale.ROOT, "--overcommit %s is too much for"
                        + " --capacity %s: %d textures, the scanout buffer and room for swap-ins need %s of frames and"
                        + " swap, there are %s; at most %.2f with this capacity", line.value("--overcommit"),
                        Sizes.format(capacity), o.textures(), Sizes.format((o.textures() + 3L) * TEXTURE),
                        Sizes.format(room), most));
            }
            return o;
        }

        /** Textures of 4 MiB written: at least 2. */
        int textures() {
            return (int) Math.max(2, (long) (capacity * overcommit) / TEXTURE);
        }
    }

    private Demo() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        return CommandLine.execute("demo", USAGE, args, out, err, Options.NAMES, Options::of, o -> run(o, out, err));
    }

    private static int run(Options o, PrintStream out, PrintStream err) {
        try {
            return tour(o, out);
        } catch (MemoryManagerException e) {
            out.flush();
            err.println("demo: " + e.getMessage());
            return 1;
        }
    }

    private static int tour(Options o, PrintStream out) {
        int textures = o.textures();
        long start = System.nanoTime();
        long wrong;
        try (MemoryManager mm = MemoryManager.builder().capacity(o.capacity()).watermarks(LOW, HIGH).build();
             Client renderer = mm.openClient("renderer");
             Arena arena = Arena.ofConfined()) {
            out.printf("memmgr %s demo: %s of frames, swap %s, page %s%n", MemoryManager.version(),
                    Sizes.format(mm.capacity()), Sizes.format(mm.stats().swapCapacity()), Sizes.format(mm.pageSize()));
            out.printf("background reclaim evicts ahead of need whenever free frames fall under %.0f %% (%s), up to"
                    + " %.0f %% (%s): figures are shown once it is done%n", LOW * 100,
                    Sizes.format((long) (LOW * mm.capacity())), HIGH * 100, Sizes.format((long) (HIGH * mm.capacity())));
            MemorySegment buf = arena.allocate(TEXTURE);
            List<BufferObject> held = new ArrayList<>(); // every object the demo made, purged ones too

            BufferObject scanout = renderer.create(TEXTURE);
            fill(buf, 0xFF);
            scanout.write(0, buf);
            held.add(scanout);
            try (Vmap view = scanout.vmap()) {
                out.printf("pinned a scanout buffer through a vmap: pinCount %d, %s%n", scanout.pinCount(),
                        scanout.residency());

                List<BufferObject> cache = new ArrayList<>();
                for (int i = 0; i < CACHE_BUFFERS; i++) {
                    BufferObject c = renderer.create(TEXTURE);
                    fill(buf, 0x40 + i);
                    c.write(0, buf);
                    c.madvise(Madvise.DONTNEED);
                    cache.add(c);
                    held.add(c);
                }
                Figures marked = settled(mm, held);
                out.printf("%d cache buffers marked DONTNEED: %s purgeable%s%n", CACHE_BUFFERS,
                        Sizes.format(marked.stats().purgeable()), marked.purged() == 0 ? ""
                                : ", " + marked.purged() + " already purged to make room");

                List<BufferObject> all = new ArrayList<>();
                for (int i = 0; i < textures; i++) {
                    BufferObject t = renderer.create(TEXTURE);
                    fill(buf, i);
                    t.write(0, buf);
                    all.add(t);
                    held.add(t);
                }
                Figures written = settled(mm, held);
                print(out, "after writing " + textures + " textures (" + Sizes.format(textures * TEXTURE) + ")", written);
                BufferObject probe = cache.stream().filter(c -> c.residency() == Residency.PURGED).findFirst()
                        .orElse(cache.getFirst());
                boolean kept = probe.madvise(Madvise.WILLNEED);
                out.printf("cache buffers purged (the shrinker purges DONTNEED buffers before it evicts): %d of %d;"
                        + " madvise(WILLNEED) on %s returns %s%n", written.purged(), CACHE_BUFFERS,
                        kept ? "one" : "a purged one", kept ? "true: its content is kept"
                                : "false: its content is gone for good (a new object must be made and filled again)");

                wrong = 0;
                for (int i = 0; i < textures; i++) {
                    all.get(i).read(0, buf);
                    wrong += check(buf, i);
                }
                Figures read = settled(mm, held);
                print(out, "after reading every texture back", read);
                out.printf("  reading swapped %d textures in; %d evictions made room for them%n",
                        read.stats().swapIns() - written.stats().swapIns(),
                        read.stats().evictions() - written.stats().evictions());
                wrong += check(view.segment(), 0xFF);
                out.printf("scanout through its vmap: %s, %s%n", scanout.residency(), wrong == 0 ? "intact" : "DAMAGED");
            }
            out.println();
            Figures before = settled(mm, held);
            String fdinfo = renderer.fdinfo();
            MemoryStats after = mm.stats();
            out.printf("fdinfo of the renderer client (its total counts the %d purged cache buffers; evicted is what"
                    + " is in swap)%n", before.purged());
            out.print(fdinfo);
            if (!after.equals(before.stats())) {
                out.printf("(background reclaim moved memory while fdinfo was read: resident %s, in swap %s now)%n",
                        Sizes.format(after.resident()), Sizes.format(after.evicted()));
            }
        }
        out.printf("%nbytes wrong: %d; %.1f s%n", wrong, (System.nanoTime() - start) / 1e9);
        return wrong == 0 ? 0 : 1;
    }

    /**
     * A step's figures: the manager's stats, and what the demo's objects hold then.
     *
     * @param live bytes of content in the objects (a purged object holds none)
     * @param purged objects purged
     */
    private record Figures(MemoryStats stats, long live, long purged) {
        /** Whether resident + in swap is the content of the live objects and free + resident the capacity. */
        boolean add() {
            return stats.resident() + stats.evicted() == live && stats.free() + stats.resident() == stats.capacity();
        }
    }

    private static Figures figures(MemoryManager mm, List<BufferObject> held) {
        long purged = held.stream().filter(b -> b.residency() == Residency.PURGED).count();
        MemoryStats stats = mm.stats();
        return new Figures(stats, (held.size() - purged) * TEXTURE, purged);
    }

    /**
     * The figures once background reclaim is done moving memory: they {@link Figures#add() add
     * up} (an eviction in flight counts its object both resident and in swap), free frames are
     * not under the low watermark (else background reclaim has been woken and will evict up to
     * the high one), and they stay the same for {@link #SETTLE_MILLIS} (six times that under the
     * high watermark: a pass may still be going). The last ones after {@link
     * #SETTLE_LIMIT_MILLIS}, which {@link #print} then explains.
     */
    private static Figures settled(MemoryManager mm, List<BufferObject> held) {
        Figures last = figures(mm, held);
        long stillSince = System.nanoTime();
        long deadline = stillSince + SETTLE_LIMIT_MILLIS * 1_000_000;
        while (System.nanoTime() < deadline) {
            try {
                Thread.sleep(SETTLE_MILLIS / 5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return last;
            }
            Figures now = figures(mm, held);
            long t = System.nanoTime();
            if (!now.equals(last)) {
                last = now;
                stillSince = t;
                continue;
            }
            long still = (t - stillSince) / 1_000_000;
            MemoryStats st = now.stats();
            boolean quiet = st.free() >= HIGH * st.capacity() ? still >= SETTLE_MILLIS
                    : st.free() >= LOW * st.capacity() && still >= 6 * SETTLE_MILLIS;
            if (quiet && now.add()) {
                return now;
            }
        }
        return last;
    }

    private static void fill(MemorySegment s, int value) {
        s.fill((byte) value);
    }

    /** @return how many bytes of s differ from value */
    private static long check(MemorySegment s, int value) {
        byte b = (byte) value;
        long expected = 0x0101010101010101L * (b & 0xFF);
        long wrong = 0;
        for (long off = 0; off < s.byteSize(); off += 8) {
            long diff = s.get(ValueLayout.JAVA_LONG_UNALIGNED, off) ^ expected;
            for (; diff != 0; diff >>>= 8) {
                if ((diff & 0xFF) != 0) {
                    wrong++;
                }
            }
        }
        return wrong;
    }

    /**
     * One step's figures, and whether they add up: resident + in swap must be the content of the
     * live objects, free + resident the capacity.
     */
    private static void print(PrintStream out, String what, Figures f) {
        MemoryStats s = f.stats();
        out.printf("%s: free %s, resident %s (pinned %s, peak %s), in swap %s; %d evictions, %d swap-ins, %d purges so far%n",
                what, Sizes.format(s.free()), Sizes.format(s.resident()), Sizes.format(s.pinned()),
                Sizes.format(s.peakResident()), Sizes.format(s.evicted()), s.evictions(), s.swapIns(), s.purges());
        if (f.add()) {
            out.printf("  resident + in swap = %s, the content of the live objects; free + resident = the capacity%n",
                    Sizes.format(f.live()));
        } else {
            out.printf("  resident + in swap = %s, free + resident = %s, while the live objects hold %s: background"
                    + " reclaim was still moving memory when these were read%n", Sizes.format(s.resident() + s.evicted()),
                    Sizes.format(s.free() + s.resident()), Sizes.format(f.live()));
        }
    }
}
