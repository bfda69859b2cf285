package dev.memmgr.vulkan.tools;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The settings of {@code bin/memmgr vulkan-demo}, parsed as the other commands of
 * {@code bin/memmgr} parse theirs: {@code --name VALUE} or {@code --name=VALUE}, each at most
 * once, {@code --help} anywhere; anything else is a {@link BadOptions} naming what is wrong.
 *
 * @param frames frames to render
 * @param textures textures streamed
 * @param perFrame textures sampled per frame
 * @param textureSize texture width and height in pixels
 * @param capacity the manager's frames in bytes
 * @param seed the choice of textures per frame and their pixels
 */
record DemoOptions(int frames, int textures, int perFrame, int textureSize, long capacity, long seed) {
    static final String USAGE = """
            usage: bin/memmgr vulkan-demo [--frames N] [--textures N] [--per-frame N] [--texture-size PX]
                                          [--capacity SIZE] [--seed N]
              --frames N         frames to render, 1 to 1000000 (default 1000: a few seconds on lavapipe)
              --textures N       textures streamed, 2 to 1024 (default 64)
              --per-frame N      textures sampled per frame, 1 to 16 and at most --textures (default 8)
              --texture-size PX  texture width and height: a power of two from 16 to 512 (default 128)
              --capacity SIZE    memmgr frames: a multiple of 4k from 256k to 1g, enough for a frame's
                                 textures and the target (default 2m: fewer than the textures need)
              --seed N           the textures' pixels and each frame's choice (default 1)
              --help             this text
            SIZE: bytes with an optional k, m or g suffix (powers of 1024), e.g. 2m.
            Needs a Vulkan driver with VK_EXT_external_memory_host, e.g. Mesa's lavapipe
            (apt-get install mesa-vulkan-drivers).
            Exit status: 0 every frame matched the CPU reference, 1 a frame did not or Vulkan failed,
            2 bad options.""";

    static final List<String> NAMES = List.of("--frames", "--textures", "--per-frame", "--texture-size", "--capacity",
        "--seed");

    /** Tiles are 64 pixels square, four to a row of the target. */
    static final int TILE = 64;
    static final int COLUMNS = 4;

    /** A bad command line; the message says what is wrong. */
    static final class BadOptions extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        BadOptions(String message) {
            super(message);
        }
    }

    /** @return the target's width in pixels */
    int targetWidth() {
        return COLUMNS * TILE;
    }

    /** @return the target's height in pixels */
    int targetHeight() {
        return (perFrame + COLUMNS - 1) / COLUMNS * TILE;
    }

    /** @return the bytes of one texture's object: its pixels, in whole 4 KiB pages */
    long textureBytes() {
        return pages((long) textureSize * textureSize * 4);
    }

    /** @return the bytes of the target's object */
    long targetBytes() {
        return pages((long) targetWidth() * targetHeight() * 4);
    }

    private static long pages(long bytes) {
        return (bytes + 4095) / 4096 * 4096;
    }

    /**
     * @return the options, or null for --help
     * @throws BadOptions on a bad command line
     */
    static DemoOptions parse(String[] args) {
        Map<String, String> v = new LinkedHashMap<>();
        for (String a : args) {
            if (a.equals("--help") || a.equals("-h")) {
                return null;
            }
        }
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            int eq = a.indexOf('=');
            String name = a.startsWith("--") && eq > 0 ? a.substring(0, eq) : a;
            if (!name.startsWith("-")) {
                throw new BadOptions("unexpected argument '" + a + "'");
            }
            if (!NAMES.contains(name)) {
                throw new BadOptions("unknown option '" + name + "'");
            }
            String value = eq > 0 && a.startsWith("--") ? a.substring(eq + 1)
                    : i + 1 < args.length && !args[i + 1].startsWith("--") ? args[++i] : "";
            if (value.isBlank()) {
                throw new BadOptions(name + " needs a value");
            }
            if (v.putIfAbsent(name, value.strip()) != null) {
                throw new BadOptions(name + " given twice");
            }
        }
        int textures = integer(v, "--textures", 64, 2, 1024);
        int perFrame = integer(v, "--per-frame", Math.min(8, textures), 1, 16);
        if (perFrame > textures) {
            throw new BadOptions("--per-frame " + perFrame + " is more than --textures " + textures);
        }
        int size = integer(v, "--texture-size", 128, 16, 512);
        if (Integer.bitCount(size) != 1) {
            throw new BadOptions("--texture-size must be a power of two: '" + v.get("--texture-size") + "'");
        }
        long capacity = size(v, "--capacity", 2L << 20, 256L << 10, 1L << 30);
        if (capacity % 4096 != 0) {
            throw new BadOptions("--capacity must be a multiple of 4k: '" + v.get("--capacity") + "'");
        }
        long seed;
        try {
            seed = Long.parseLong(v.getOrDefault("--seed", "1"));
        } catch (NumberFormatException e) {
            throw new BadOptions("--seed: not a number: '" + v.get("--seed") + "'");
        }
        DemoOptions o = new DemoOptions(integer(v, "--frames", 1000, 1, 1_000_000), textures, perFrame, size,
                capacity, seed);
        // a frame's textures and the target must fit in the frames with room to swap; everything
        // must fit in frames plus swap (the default swap file is twice the capacity)
        long frame = o.perFrame * o.textureBytes() + o.targetBytes();
        if (frame + 2 * o.textureBytes() > capacity) {
            throw new BadOptions(String.format(Locale.ROOT, "--capacity %s is too small: a frame's %d textures and the"
                    + " target take %d KiB, with room for two swap-ins %d KiB", v.getOrDefault("--capacity", "2m"),
                    o.perFrame, frame >> 10, (frame + 2 * o.textureBytes()) >> 10));
        }
        long all = o.textures * o.textureBytes() + o.targetBytes();
        if (all + 2 * o.textureBytes() > 3 * capacity) {
            throw new BadOptions(String.format(Locale.ROOT, "%d textures of %dx%d (%d KiB) do not fit in --capacity %s"
                    + " and its swap file (twice the capacity)", o.textures, size, size, all >> 10,
                    v.getOrDefault("--capacity", "2m")));
        }
        return o;
    }

    private static int integer(Map<String, String> v, String name, int absent, int min, int max) {
        String s = v.get(name);
        if (s == null) {
            return absent;
        }
        int n;
        try {
            n = Integer.parseInt(s);
        } catch (NumberFormatException e) {
            throw new BadOptions(name + ": not a whole number: '" + s + "'");
        }
        if (n < min || n > max) {
            throw new BadOptions(name + " must be between " + min + " and " + max + ": '" + s + "'");
        }
        return n;
    }

    private static long size(Map<String, String> v, String name, long absent, long min, long max) {
        String s = v.get(name);
        if (s == null) {
            return absent;
        }
        String t = s.toLowerCase(Locale.ROOT);
        int shift = t.endsWith("k") ? 10 : t.endsWith("m") ? 20 : t.endsWith("g") ? 30 : 0;
        long n;
        try {
            n = Long.parseLong(shift == 0 ? t : t.substring(0, t.length() - 1));
        } catch (NumberFormatException e) {
            throw new BadOptions(name + ": not a size: '" + s + "' (bytes, with an optional k, m or g suffix: 2m)");
        }
        if (n < 0 || n > (max >> shift) || (n << shift) < min) {
            throw new BadOptions(name + " must be between " + (min >> 10) + "k and " + (max >> 30) + "g: '" + s + "'");
        }
        return n << shift;
    }
}
