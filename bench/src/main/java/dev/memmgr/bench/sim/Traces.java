package dev.memmgr.bench.sim;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The generated traces, each about {@link #USES} uses long, sized relative to the capacity
 * {@code c} in pages and reproducible from a seed. Sizes are in pages of 4 KiB. bench/RESULTS.md
 * describes them for readers; the Javadoc of each generator is the precise definition.
 */
public final class Traces {
    /** Uses (accesses and pins) per trace. */
    public static final int USES = 1_000_000;

    private Traces() {
    }

    /** The traces' names, in the report's order. */
    public static final List<String> NAMES = List.of("streaming", "loop", "scan-mix", "mixed", "zipf-sizes");

    /** Capacity the absolute sizes below are given for; other capacities scale them. */
    public static final int REFERENCE_CAPACITY = 8192;

    /** @return {@code pages} scaled from {@link #REFERENCE_CAPACITY} to capacity {@code c} */
    static int scaled(int pages, int c) {
        return Math.max(1, (int) Math.round((double) pages * c / REFERENCE_CAPACITY));
    }

    /** @return the five traces of the report, in order */
    public static List<Trace> all(long seed, int c) {
        return List.of(streaming(seed, c, USES), loop(seed, c, USES), scanMix(seed, c, USES),
                mixedClients(seed, c, USES), zipfSizes(seed, c, USES));
    }

    /** @return one of {@link #all}'s traces by name */
    public static Trace byName(String name, long seed, int c, int uses) {
        return switch (name) {
            case "streaming" -> streaming(seed, c, uses);
            case "loop" -> loop(seed, c, uses);
            case "scan-mix" -> scanMix(seed, c, uses);
            case "mixed" -> mixedClients(seed, c, uses);
            case "zipf-sizes" -> zipfSizes(seed, c, uses);
            default -> throw new IllegalArgumentException("no trace '" + name
                    + "' (streaming, loop, scan-mix, mixed, zipf-sizes)");
        };
    }

    /**
     * Texture streaming with a moving working set (sizes for c = 8192 pages, scaled with c). A
     * 48 x 48 world of tiles (wrapping at the
     * edges); each tile has a high-resolution texture of 16, 32 or 64 pages (probability 1/4, 1/2,
     * 1/4) and a low-resolution one of half that. A camera moves 0.15 tiles per frame and turns to
     * a random heading with probability 0.01 per frame. Each frame uses, in this order: three
     * render targets of 128 pages; the high-resolution texture of every tile within Chebyshev
     * distance 3 of the camera's tile and the low-resolution one of every tile at distance 4 to 6;
     * then the back buffer (one of two framebuffers of 256 pages) is used, pinned for scan-out
     * and the previous frame's buffer unpinned. Half the tiles (chosen per tile) can be streamed
     * again from disk: their textures are marked DONTNEED when they drop out of use and used
     * again (WILLNEED, or re-created if purged) when they come back. Every object is held (bound
     * in a GPU VM: uses are fences, memmgr's accessed bit).
     */
    public static Trace streaming(long seed, int c, int uses) {
        SplittableRandom rnd = new SplittableRandom(seed * 31 + 1);
        final int world = 48;
        final int near = 3;
        final int far = 6;
        Trace.Builder b = new Trace.Builder("streaming");
        int[] hi = new int[world * world];
        int[] lo = new int[world * world];
        boolean[] restreamable = new boolean[world * world];
        for (int t = 0; t < hi.length; t++) {
            double u = rnd.nextDouble();
            int pages = u < 0.25 ? 16 : u < 0.75 ? 32 : 64;
            hi[t] = b.object(scaled(pages, c), true);
            lo[t] = b.object(scaled(pages / 2, c), true);
            restreamable[t] = rnd.nextBoolean();
        }
        int rt = scaled(128, c);
        int[] targets = {b.object(rt, true), b.object(rt, true), b.object(rt, true)};
        int[] fb = {b.object(scaled(256, c), true), b.object(scaled(256, c), true)};
        boolean[] usedNow = new boolean[2 * hi.length]; // texture ids are 0 .. 2 * tiles - 1
        int[] lastList = new int[0];
        double x = world / 2.0;
        double y = world / 2.0;
        double heading = rnd.nextDouble() * 2 * Math.PI;
        int n = 0;
        for (int frame = 0; n < uses; frame++) {
            int[] now = new int[(2 * far + 1) * (2 * far + 1)];
            int k = 0;
            for (int id : targets) {
                b.access(id);
                n++;
            }
            int cx = (int) Math.floor(x);
            int cy = (int) Math.floor(y);
            for (int dy = -far; dy <= far; dy++) {
                for (int dx = -far; dx <= far; dx++) {
                    int t = Math.floorMod(cy + dy, world) * world + Math.floorMod(cx + dx, world);
                    int id = Math.max(Math.abs(dx), Math.abs(dy)) <= near ? hi[t] : lo[t];
                    b.access(id);
                    n++;
                    usedNow[id] = true;
                    now[k++] = id;
                }
            }
            for (int id : lastList) { // out of use this frame: let the re-streamable ones go
                if (!usedNow[id] && restreamable[id / 2]) { // ids: hi, lo, hi, lo... per tile
                    b.dontNeed(id);
                }
            }
            for (int id : now) {
                usedNow[id] = false;
            }
            lastList = now;
            int back = fb[frame & 1];
            b.access(back).pin(back);
            n += 2;
            if (frame > 0) {
                b.unpin(fb[(frame + 1) & 1]);
            }
            if (rnd.nextDouble() < 0.01) {
                heading = rnd.nextDouble() * 2 * Math.PI;
            }
            x = (x + 0.15 * Math.cos(heading) + world) % world;
            y = (y + 0.15 * Math.sin(heading) + world) % world;
        }
        return describe(b, b.build(), c, "48x48 tiles, camera at 0.15 tiles/frame, 13x13 tiles in use per frame");
    }

    /**
     * A loop larger than memory: objects of 8 to 64 pages (uniform) until they add up to 1.5 c,
     * used one after the other in the same order again and again. Each use is a getPages/putPages
     * pair (not held): a compute pass streaming through its buffers. LRU's worst case: every use
     * misses once the loop has filled memory.
     */
    public static Trace loop(long seed, int c, int uses) {
        SplittableRandom rnd = new SplittableRandom(seed * 31 + 2);
        Trace.Builder b = new Trace.Builder("loop");
        List<Integer> ids = new ArrayList<>();
        long total = 0;
        while (total < 1.5 * c) {
            int pages = 8 + rnd.nextInt(57);
            ids.add(b.object(pages, false));
            total += pages;
        }
        for (int n = 0; n < uses; n++) {
            b.access(ids.get(n % ids.size()));
        }
        return describe(b, b.build(), c, ids.size() + " objects, " + total + " pages in the loop");
    }

    /**
     * One-shot buffers mixed with a hot set. Long-lived textures of 16, 32 or 64 pages (1/3 each)
     * until they add up to 0.6 c, held, each frame used 64 times by a Zipf(0.9) draw over them.
     * Each frame also creates four staging buffers of 32 pages, uses each once (a getPages/putPages
     * pair: an upload) and frees them three frames later. Every 50 frames a level chunk streams
     * in: new one-shot objects of 16 to 64 pages (uniform) until they add up to 1.0 c, held, each
     * used once, all freed when the next chunk comes.
     */
    public static Trace scanMix(long seed, int c, int uses) {
        SplittableRandom rnd = new SplittableRandom(seed * 31 + 3);
        Trace.Builder b = new Trace.Builder("scan-mix");
        List<Integer> hot = new ArrayList<>();
        long total = 0;
        while (total < 0.6 * c) {
            int pages = 16 << rnd.nextInt(3);
            hot.add(b.object(pages, true));
            total += pages;
        }
        Zipf pop = new Zipf(hot.size(), 0.9);
        ArrayDeque<int[]> staging = new ArrayDeque<>();
        List<Integer> chunk = new ArrayList<>();
        int n = 0;
        for (int frame = 0; n < uses; frame++) {
            if (frame % 50 == 25) {
                for (int id : chunk) {
                    b.free(id);
                }
                chunk.clear();
                long scanned = 0;
                while (scanned < c) {
                    int pages = 16 + rnd.nextInt(49);
                    int id = b.object(pages, true);
                    b.access(id);
                    n++;
                    chunk.add(id);
                    scanned += pages;
                }
            }
            for (int i = 0; i < 64; i++) {
                b.access(hot.get(pop.next(rnd)));
                n++;
            }
            int[] upload = new int[4];
            for (int i = 0; i < upload.length; i++) {
                upload[i] = b.object(32, false);
                b.access(upload[i]);
                n++;
            }
            staging.addLast(upload);
            if (staging.size() > 3) {
                for (int id : staging.removeFirst()) {
                    b.free(id);
                }
            }
        }
        return describe(b, b.build(), c, hot.size() + " hot textures (" + total + " pages)");
    }

    /**
     * Two clients interleaved (sizes for c = 8192 pages, scaled with c), each use drawn from one of them with probability 1/2. Client A (a
     * game, held objects): 600 objects of 8, 16, 32 or 64 pages (probability 0.4, 0.3, 0.2, 0.1),
     * used by a Zipf(1.0) draw. Client B (a video pipeline, getPages/putPages per use): a loop
     * over objects of 32 to 128 pages (uniform) adding up to 0.6 c, and every tenth of its uses
     * instead takes the next of six decoded-frame buffers of 96 pages round robin, uses it and
     * marks it DONTNEED (shown; reused, or re-created if purged, six frames later).
     */
    public static Trace mixedClients(long seed, int c, int uses) {
        SplittableRandom rnd = new SplittableRandom(seed * 31 + 4);
        Trace.Builder b = new Trace.Builder("mixed");
        int[] game = new int[600];
        long gamePages = 0;
        for (int i = 0; i < game.length; i++) {
            double u = rnd.nextDouble();
            int pages = scaled(u < 0.4 ? 8 : u < 0.7 ? 16 : u < 0.9 ? 32 : 64, c);
            game[i] = b.object(pages, true);
            gamePages += pages;
        }
        Zipf pop = new Zipf(game.length, 1.0);
        List<Integer> video = new ArrayList<>();
        long videoPages = 0;
        while (videoPages < 0.6 * c) {
            int pages = 32 + rnd.nextInt(97);
            video.add(b.object(pages, false));
            videoPages += pages;
        }
        int[] frames = new int[6];
        for (int i = 0; i < frames.length; i++) {
            frames[i] = b.object(scaled(96, c), false);
        }
        int nextVideo = 0;
        int nextFrame = 0;
        int videoUses = 0;
        for (int n = 0; n < uses; n++) {
            if (rnd.nextBoolean()) {
                b.access(game[pop.next(rnd)]);
            } else if (++videoUses % 10 == 0) {
                int f = frames[nextFrame++ % frames.length];
                b.access(f).dontNeed(f);
            } else {
                b.access(video.get(nextVideo++ % video.size()));
            }
        }
        return describe(b, b.build(), c, "game: 600 objects (" + gamePages + " pages); video: "
                + video.size() + " objects in a loop (" + videoPages + " pages) + 6 x 96-page frames");
    }

    /**
     * A Zipf-skewed mix of sizes from 4 KiB to 16 MiB (for c = 8192 pages, scaled with c). 4000
     * objects; object sizes are 2^k pages with k from 0 to 12 drawn with probability proportional
     * to 1 / (k + 1); half of them held. Each step uses an object drawn by a Zipf(1.0) popularity
     * over a random order of the objects. After the use, with probability 0.01 the client frees
     * it (a later use re-creates it), else with probability 0.02 marks it DONTNEED (a later use
     * takes it back), else with probability 0.002, if it has at most 64 pages, pins it for the
     * next 200 steps.
     */
    public static Trace zipfSizes(long seed, int c, int uses) {
        SplittableRandom rnd = new SplittableRandom(seed * 31 + 5);
        Trace.Builder b = new Trace.Builder("zipf-sizes");
        Zipf sizeClass = new Zipf(13, 1.0);
        int[] objects = new int[4000];
        for (int i = 0; i < objects.length; i++) {
            objects[i] = b.object(scaled(1 << sizeClass.next(rnd), c), rnd.nextBoolean());
        }
        shuffle(objects, rnd);
        Zipf pop = new Zipf(objects.length, 1.0);
        int[] pinned = new int[objects.length];
        ArrayDeque<int[]> unpins = new ArrayDeque<>(); // {step, id}
        int n = 0;
        for (int step = 0; n < uses; step++) {
            while (!unpins.isEmpty() && unpins.peekFirst()[0] <= step) {
                int id = unpins.removeFirst()[1];
                b.unpin(id);
                pinned[id]--;
            }
            int id = objects[pop.next(rnd)];
            b.access(id);
            n++;
            double u = rnd.nextDouble();
            if (pinned[id] > 0) {
                continue; // a pinned object is neither freed nor made purgeable
            }
            if (u < 0.01) {
                b.free(id);
            } else if (u < 0.03) {
                b.dontNeed(id);
            } else if (u < 0.032 && b.pages(id) <= scaled(64, c)) {
                b.pin(id);
                n++;
                pinned[id]++;
                unpins.addLast(new int[] {step + 200, id});
            }
        }
        while (!unpins.isEmpty()) {
            b.unpin(unpins.removeFirst()[1]);
        }
        return describe(b, b.build(), c, "4000 objects of " + scaled(1, c) + " to " + scaled(4096, c) + " pages");
    }

    private static void shuffle(int[] a, SplittableRandom rnd) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }

    private static Trace describe(Trace.Builder b, Trace t, int c, String what) {
        return b.describe(String.format("%s; %d uses, %d events, %d object ids, footprint %.1f c",
                what, t.uses(), t.length(), t.ids(), (double) t.footprintPages() / c)).build();
    }
}
