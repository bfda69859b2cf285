package dev.memmgr.vulkan;

import static dev.memmgr.vulkan.VulkanFixture.DEADLINE;
import static dev.memmgr.vulkan.VulkanFixture.assertPixels;
import static dev.memmgr.vulkan.VulkanFixture.bytes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memmgr.BufferObject;
import dev.memmgr.Client;
import dev.memmgr.MemoryManager;
import dev.memmgr.Residency;
import dev.memmgr.vulkan.tools.TextureRenderer;
import dev.memmgr.vulkan.tools.TextureRenderer.Tile;
import java.lang.foreign.MemorySegment;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A render pass that samples textures held in memmgr objects and renders into an image whose
 * memory is a memmgr object; the pixels read back through memmgr are compared with the CPU's
 * reference, byte for byte, before and after the textures are evicted and imported again.
 */
@ExtendWith(VulkanExtension.class)
class RenderTest {
    static final int W = 64;
    static final int H = 64;

    /** A texture: its object, import, image and pixels. */
    record Texture(BufferObject bo, HostImport imp, ImportedImage image, byte[] rgba) {
        static Texture create(VulkanFixture f, Client c, int size, long seed) {
            BufferObject bo = c.create(64 << 10);
            HostImport imp = f.device().importBuffer(bo, ImportMode.DYNAMIC);
            ImportedImage image = imp.createImage(0, size, size, TextureRenderer.FORMAT, TextureRenderer.TEXTURE_USAGE);
            byte[] rgba = bytes(seed, size * size * 4);
            bo.write(0, MemorySegment.ofArray(TextureRenderer.layOut(image, rgba)));
            return new Texture(bo, imp, image, rgba);
        }
    }

    /** @return the target's pixels, read row by row through memmgr at the image's row pitch */
    static byte[] readTarget(BufferObject bo, ImportedImage target) {
        byte[] out = new byte[W * H * 4];
        for (int y = 0; y < H; y++) {
            MemorySegment row = MemorySegment.ofArray(out).asSlice((long) y * W * 4, W * 4L);
            bo.read(target.offset() + y * target.rowPitch(), row);
        }
        return out;
    }

    @Test
    void rendersMemmgrTexturesIntoAMemmgrImage(VulkanFixture f) {
        MemoryManager mm = f.manager(16L << 20);
        Client c = f.client(mm, "render");
        Texture t1 = Texture.create(f, c, 16, 1);
        Texture t2 = Texture.create(f, c, 32, 2);
        BufferObject targetBo = c.create(64 << 10);
        HostImport targetImp = f.device().importBuffer(targetBo, ImportMode.STATIC);
        ImportedImage target = targetImp.createImage(0, W, H, TextureRenderer.FORMAT, TextureRenderer.TARGET_USAGE);
        targetBo.write(0, MemorySegment.ofArray(bytes(3, 64 << 10))); // garbage: the pass clears it
        List<Tile> tiles = List.of(
                new Tile(t1.image(), 0, 0, 32, 32),   // magnified 2x
                new Tile(t2.image(), 32, 0, 32, 32),  // 1:1
                new Tile(t1.image(), 0, 32, 64, 16),  // 4x wide, 1x high
                new Tile(t2.image(), 16, 48, 16, 16)); // minified 2x
        byte[] expected = TextureRenderer.reference(W, H, tiles, List.of(t1.rgba(), t2.rgba(), t1.rgba(), t2.rgba()));
        List<Use> uses = List.of(Use.write(targetImp), Use.read(t1.imp()), Use.read(t2.imp()));
        TextureRenderer r = f.renderer();
        try {
            assertTrue(f.device().submit(uses, cmd -> r.record(cmd, target, tiles)).await(DEADLINE));
            assertPixels(expected, readTarget(targetBo, target), W, "first frame");

            // the textures are idle: reclaim evicts them (the pinned target stays), the next frame
            // swaps them in, imports them again, re-creates the images and renders the same pixels
            long invalidations = f.device().stats().invalidations();
            targetBo.write(0, MemorySegment.ofArray(new byte[64 << 10]));
            assertEquals(2 * (64L << 10), mm.reclaim(mm.capacity()), "both textures go, the target is pinned");
            assertEquals(Residency.EVICTED, t1.bo().residency());
            assertEquals(Residency.RESIDENT, targetBo.residency());
            assertEquals(invalidations + 2, f.device().stats().invalidations());
            assertFalse(t1.imp().isValid());
            assertTrue(f.device().submit(uses, cmd -> r.record(cmd, target, tiles)).await(DEADLINE));
            assertEquals(2, t1.imp().generation());
            assertPixels(expected, readTarget(targetBo, target), W, "after eviction and re-import");
        } finally {
            t1.imp().close();
            t2.imp().close();
            targetImp.close();
        }
    }
}
