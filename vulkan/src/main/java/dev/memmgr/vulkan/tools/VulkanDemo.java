package dev.memmgr.vulkan.tools;

import dev.memmgr.BufferObject;
import dev.memmgr.Client;
import dev.memmgr.MemoryManager;
import dev.memmgr.MemoryStats;
import dev.memmgr.vulkan.HostImport;
import dev.memmgr.vulkan.ImportMode;
import dev.memmgr.vulkan.ImportedImage;
import dev.memmgr.vulkan.Use;
import dev.memmgr.vulkan.VulkanDevice;
import dev.memmgr.vulkan.VulkanStats;
import dev.memmgr.vulkan.tools.TextureRenderer.Tile;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.zip.CRC32;

/**
 * Texture streaming on a real Vulkan driver over memmgr memory: more textures than the manager's
 * capacity, each in its own buffer object imported dynamically; each frame samples a changing
 * subset (a window that slides one texture per frame, a seeded choice inside it) into tiles of a
 * target image whose object is imported statically (pinned). The textures a frame needs are
 * validated by its submission (swapped in, imported again); the others are evicted under
 * pressure, their Vulkan memory released through moveNotify. Every frame's pixels are read back
 * through memmgr and their CRC32 compared with the CPU reference's.
 *
 * <p>{@code bin/memmgr vulkan-demo [--frames 1000] [--textures 64] [--per-frame 8] [--texture-size 128]
 * [--capacity 2m] [--seed 1]}
 */
public final class VulkanDemo {
    private static final Duration DEADLINE = Duration.ofSeconds(30);

    private final DemoOptions o;
    private final PrintStream out;

    private VulkanDemo(DemoOptions o, PrintStream out) {
        this.o = o;
        this.out = out;
    }

    /**
     * Runs the demo.
     *
     * @param args the command line
     */
    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** @return the exit status */
    static int run(String[] args, PrintStream out, PrintStream err) {
        DemoOptions o;
        try {
            o = DemoOptions.parse(args);
        } catch (DemoOptions.BadOptions e) {
            err.println("vulkan-demo: " + e.getMessage());
            err.println(DemoOptions.USAGE);
            return 2;
        }
        if (o == null) {
            out.println(DemoOptions.USAGE);
            return 0;
        }
        VulkanDevice dev;
        try {
            dev = VulkanDevice.open(List.of(ComputeKernel.PUSH_DESCRIPTOR));
        } catch (RuntimeException | LinkageError e) {
            err.println("vulkan-demo: no usable Vulkan driver: " + e.getMessage());
            err.println("vulkan-demo: install Mesa's lavapipe (a CPU Vulkan driver):"
                    + " apt-get install mesa-vulkan-drivers");
            return 1;
        }
        try (dev) {
            return new VulkanDemo(o, out).run(dev) ? 0 : 1;
        }
    }

    /** A streamed texture. */
    private record Texture(BufferObject bo, HostImport imp, ImportedImage image, byte[] rgba) {
    }

    private boolean run(VulkanDevice dev) {
        int w = o.targetWidth();
        int h = o.targetHeight();
        out.printf(Locale.ROOT, "vulkan-demo: %s%n", dev.describe());
        out.printf(Locale.ROOT, "  %d textures of %dx%d (%s) streamed through %s of memmgr frames; %d sampled per frame"
                + " into a %dx%d target, %d frames%n", o.textures(), o.textureSize(), o.textureSize(),
                mib(o.textures() * o.textureBytes()), mib(o.capacity()), o.perFrame(), w, h, o.frames());
        // the imports close before the manager: the manager frees its pages when it closes
        try (MemoryManager mm = MemoryManager.builder().capacity(o.capacity()).build();
             Client c = mm.openClient("vulkan-demo");
             TextureRenderer renderer = new TextureRenderer(dev)) {
            return stream(dev, mm, c, renderer);
        }
    }

    /** Creates the target and the textures, renders the frames, closes the imports. */
    private boolean stream(VulkanDevice dev, MemoryManager mm, Client c, TextureRenderer renderer) {
        List<Texture> textures = new ArrayList<>();
        List<HostImport> imports = new ArrayList<>();
        try {
            BufferObject targetBo = c.create(o.targetBytes());
            HostImport targetImp = dev.importBuffer(targetBo, ImportMode.STATIC);
            imports.add(targetImp);
            ImportedImage target = targetImp.createImage(0, o.targetWidth(), o.targetHeight(), TextureRenderer.FORMAT,
                    TextureRenderer.TARGET_USAGE);
            SplittableRandom rnd = new SplittableRandom(o.seed());
            for (int i = 0; i < o.textures(); i++) {
                BufferObject bo = c.create(o.textureBytes());
                HostImport imp = dev.importBuffer(bo, ImportMode.DYNAMIC);
                imports.add(imp);
                ImportedImage img = imp.createImage(0, o.textureSize(), o.textureSize(), TextureRenderer.FORMAT,
                        TextureRenderer.TEXTURE_USAGE);
                byte[] rgba = new byte[o.textureSize() * o.textureSize() * 4];
                rnd.nextBytes(rgba);
                bo.write(0, MemorySegment.ofArray(TextureRenderer.layOut(img, rgba)));
                textures.add(new Texture(bo, imp, img, rgba));
            }
            return frames(dev, mm, renderer, targetBo, targetImp, target, textures, rnd);
        } finally {
            for (HostImport i : imports.reversed()) {
                i.close();
            }
        }
    }

    private boolean frames(VulkanDevice dev, MemoryManager mm, TextureRenderer renderer, BufferObject targetBo,
                           HostImport targetImp, ImportedImage target, List<Texture> textures, SplittableRandom rnd) {
        int w = o.targetWidth();
        int h = o.targetHeight();
        MemoryStats m0 = mm.stats();
        VulkanStats v0 = dev.stats();
        long[] times = new long[o.frames()];
        int wrong = 0;
        byte[] pixels = new byte[w * h * 4];
        long start = System.nanoTime();
        for (int f = 0; f < o.frames(); f++) {
            long t0 = System.nanoTime();
            List<Texture> chosen = choose(f, textures, rnd);
            List<Tile> tiles = new ArrayList<>();
            List<Use> uses = new ArrayList<>();
            uses.add(Use.write(targetImp));
            for (int k = 0; k < chosen.size(); k++) {
                Texture t = chosen.get(k);
                tiles.add(new Tile(t.image(), k % DemoOptions.COLUMNS * DemoOptions.TILE,
                        k / DemoOptions.COLUMNS * DemoOptions.TILE, DemoOptions.TILE, DemoOptions.TILE));
                uses.add(Use.read(t.imp()));
            }
            if (!dev.submit(uses, cmd -> renderer.record(cmd, target, tiles)).await(DEADLINE)) {
                out.printf(Locale.ROOT, "frame %d: the GPU did not finish within %s%n", f, DEADLINE);
                return false;
            }
            for (int y = 0; y < h; y++) {
                targetBo.read(target.offset() + y * target.rowPitch(),
                        MemorySegment.ofArray(pixels).asSlice((long) y * w * 4, w * 4L));
            }
            byte[] expected = TextureRenderer.reference(w, h, tiles, chosen.stream().map(Texture::rgba).toList());
            if (crc(pixels) != crc(expected)) {
                wrong++;
                if (wrong <= 3) {
                    int i = Arrays.mismatch(expected, pixels);
                    out.printf(Locale.ROOT,
                            "frame %d: WRONG: checksum 0x%08x, expected 0x%08x (first bad byte %d)%n", f,
                            crc(pixels), crc(expected), i);
                }
            }
            times[f] = System.nanoTime() - t0;
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        MemoryStats m1 = mm.stats();
        VulkanStats v1 = dev.stats();
        Arrays.sort(times);
        out.printf(Locale.ROOT,
                "frames        %d in %.2f s (%.0f frames/s), each read back and checked against the CPU%n",
                o.frames(), seconds, o.frames() / seconds);
        out.printf(Locale.ROOT, "frame time    p50 %s, p99 %s, max %s (submit, render, read back, check)%n",
                ms(times[times.length / 2]),
                ms(times[Math.min(times.length - 1, (int) (times.length * 0.99))]), ms(times[times.length - 1]));
        out.printf(Locale.ROOT, "evictions     %d (textures to swap under pressure)%n",
                m1.evictions() - m0.evictions());
        out.printf(Locale.ROOT, "swap-ins      %d (textures a frame needed back)%n", m1.swapIns() - m0.swapIns());
        out.printf(Locale.ROOT,
                "moveNotify    %d (Vulkan memory of an imported texture released before its eviction)%n",
                v1.invalidations() - v0.invalidations());
        out.printf(Locale.ROOT, "re-imports    %d (pages imported again as VkDeviceMemory, images re-created)%n",
                v1.reimports() - v0.reimports());
        out.printf(Locale.ROOT, "submissions   %d, fences signaled %d%n", v1.submissions() - v0.submissions(),
                v1.completed() - v0.completed());
        out.printf(Locale.ROOT, "wrong frames  %d%n", wrong);
        return wrong == 0;
    }

    /** @return this frame's textures: distinct, from a window that slides one texture per frame */
    private List<Texture> choose(int frame, List<Texture> textures, SplittableRandom rnd) {
        int n = textures.size();
        int window = Math.min(n, 2 * o.perFrame());
        List<Texture> out = new ArrayList<>();
        boolean[] taken = new boolean[window];
        while (out.size() < o.perFrame()) {
            int k = rnd.nextInt(window);
            if (!taken[k]) {
                taken[k] = true;
                out.add(textures.get((frame + k) % n));
            }
        }
        return out;
    }

    private static long crc(byte[] a) {
        CRC32 c = new CRC32();
        c.update(a);
        return c.getValue();
    }

    private static String ms(long nanos) {
        return String.format(Locale.ROOT, "%.2f ms", nanos / 1e6);
    }

    private static String mib(long bytes) {
        return bytes >= 1L << 20 ? String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0)
                : String.format(Locale.ROOT, "%d KiB", bytes >> 10);
    }
}
