package dev.memmgr.vulkan;

import static dev.memmgr.vulkan.VulkanFixture.DEADLINE;
import static dev.memmgr.vulkan.VulkanFixture.assertInts;
import static dev.memmgr.vulkan.VulkanFixture.ints;
import static dev.memmgr.vulkan.VulkanFixture.readInts;
import static dev.memmgr.vulkan.VulkanFixture.segmentOf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lwjgl.vulkan.VK10.VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;

import dev.memmgr.BufferObject;
import dev.memmgr.Client;
import dev.memmgr.MemoryManager;
import dev.memmgr.Residency;
import dev.memmgr.vulkan.tools.ComputeKernel;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A compute shader (GLSL compiled at run time) over buffers memmgr owns, imported as Vulkan
 * memory, results read back through memmgr and compared exactly with the CPU's; static imports
 * pinned, dynamic ones evicted under pressure (moveNotify drops the Vulkan memory) and imported
 * again on the next use.
 */
@ExtendWith(VulkanExtension.class)
class ComputeTest {
    static final int WORDS = 32 * 1024; // 128 KiB per buffer
    static final long SIZE = WORDS * 4L;

    /** Three objects a, b (inputs, written by the CPU) and c (output), imported in the given modes. */
    record Job(BufferObject a, BufferObject b, BufferObject c, HostImport ia, HostImport ib, HostImport ic,
               ImportedBuffer ba, ImportedBuffer bb, ImportedBuffer bc, int[] inA, int[] inB) implements AutoCloseable {
        static Job create(VulkanFixture f, Client cl, ImportMode mode, long seed) {
            BufferObject a = cl.create(SIZE);
            BufferObject b = cl.create(SIZE);
            BufferObject c = cl.create(SIZE);
            int[] inA = ints(seed, WORDS);
            int[] inB = ints(seed + 1, WORDS);
            a.write(0, segmentOf(inA));
            b.write(0, segmentOf(inB));
            HostImport ia = f.device().importBuffer(a, mode);
            HostImport ib = f.device().importBuffer(b, mode);
            HostImport ic = f.device().importBuffer(c, mode);
            return new Job(a, b, c, ia, ib, ic, ia.createBuffer(0, SIZE, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT),
                    ib.createBuffer(0, SIZE, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT),
                    ic.createBuffer(0, SIZE, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT), inA, inB);
        }

        List<Use> uses() {
            return List.of(Use.read(ia), Use.read(ib), Use.write(ic));
        }

        Submission submit(VulkanFixture f, int salt) {
            ComputeKernel k = f.kernel();
            return f.device().submit(uses(), cmd -> k.record(cmd, ba, bb, bc, WORDS, salt));
        }

        /** Runs the kernel and checks the output read through memmgr against the CPU's. */
        void runAndCheck(VulkanFixture f, int salt) {
            assertTrue(submit(f, salt).await(DEADLINE), "the GPU finishes");
            assertInts(ComputeKernel.reference(inA, inB, salt), readInts(c, WORDS), "c read back through memmgr");
        }

        List<HostImport> imports() {
            return List.of(ia, ib, ic);
        }

        @Override
        public void close() {
            ia.close();
            ib.close();
            ic.close();
        }
    }

    @Test
    void computeOverStaticImportsMatchesTheCpu(VulkanFixture f) {
        MemoryManager mm = f.manager(16L << 20);
        try (Job j = Job.create(f, f.client(mm, "compute"), ImportMode.STATIC, 1)) {
            for (HostImport i : j.imports()) {
                assertTrue(i.isValid(), "a static import is imported at once");
                assertEquals(1, i.bufferObject().pinCount(), "a static import pins");
                assertEquals(VulkanDevice.IMPORTER, i.attachment().importer());
                assertFalse(i.attachment().isDynamic());
            }
            j.runAndCheck(f, 7);
            j.runAndCheck(f, 8);
            assertEquals(0, mm.reclaim(mm.capacity()), "nothing of a pinned set can be reclaimed");
            assertEquals(Residency.RESIDENT, j.c().residency());
        }
        assertEquals(0, mm.stats().pinned(), "closing the imports unpins");
    }

    @Test
    void dynamicImportsAreEvictedUnderPressureAndImportedAgain(VulkanFixture f) {
        MemoryManager mm = f.manager(1L << 20); // 256 pages: the three buffers take 96
        Client cl = f.client(mm, "compute");
        try (Job j = Job.create(f, cl, ImportMode.DYNAMIC, 2)) {
            for (HostImport i : j.imports()) {
                assertFalse(i.isValid(), "a dynamic import imports at first use");
                assertEquals(0, i.bufferObject().pinCount(), "a dynamic import does not pin");
            }
            VulkanStats s0 = f.device().stats();
            j.runAndCheck(f, 11);
            VulkanStats s1 = f.device().stats();
            assertEquals(3, s1.imports() - s0.imports(), "three first imports");
            for (HostImport i : j.imports()) {
                assertTrue(i.isValid());
                assertTrue(i.attachment().isMapped());
            }

            // pressure: pin other objects until 16 of the 256 pages are left; direct reclaim has
            // nothing else to take than the idle imported objects
            long evictions0 = mm.stats().evictions();
            List<BufferObject> filler = new ArrayList<>();
            for (int k = 0; k < 5; k++) {
                BufferObject o = cl.create(48 * VulkanFixture.PAGE);
                o.pin();
                filler.add(o);
            }
            assertEquals(Residency.EVICTED, j.a().residency(), "the idle imported objects went to swap");
            assertEquals(Residency.EVICTED, j.c().residency());
            assertTrue(mm.stats().evictions() - evictions0 >= 3);
            VulkanStats s2 = f.device().stats();
            assertEquals(3, s2.invalidations() - s1.invalidations(), "moveNotify dropped each import's Vulkan memory");
            for (HostImport i : j.imports()) {
                assertFalse(i.isValid(), "invalid after the move");
                assertFalse(i.attachment().isMapped(), "the attachment is unmapped after moveNotify");
            }

            // the next use swaps in, imports again and still computes the right thing
            for (BufferObject o : filler.subList(0, 3)) {
                o.unpin();
            }
            long swapIns0 = mm.stats().swapIns();
            j.runAndCheck(f, 12);
            VulkanStats s3 = f.device().stats();
            assertEquals(3, s3.reimports() - s2.reimports(), "three re-imports");
            assertEquals(3, mm.stats().swapIns() - swapIns0, "three swap-ins");
            for (HostImport i : j.imports()) {
                assertEquals(2, i.generation());
            }
            for (BufferObject o : filler.subList(3, 5)) {
                o.unpin();
            }
            for (BufferObject o : filler) {
                o.close();
            }
        }
    }

    @Test
    void computeReadsWhatTheCpuWroteJustBefore(VulkanFixture f) {
        MemoryManager mm = f.manager(16L << 20);
        try (Job j = Job.create(f, f.client(mm, "compute"), ImportMode.DYNAMIC, 3)) {
            j.runAndCheck(f, 1);
            int[] again = ints(99, WORDS);
            j.a().write(0, segmentOf(again)); // through memmgr, into the pages the GPU reads
            assertTrue(j.submit(f, 2).await(DEADLINE));
            assertInts(ComputeKernel.reference(again, j.inB(), 2), readInts(j.c(), WORDS), "after a CPU write");
        }
    }
}
