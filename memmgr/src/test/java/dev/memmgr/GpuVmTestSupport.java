package dev.memmgr;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.function.Executable;

/**
 * Helpers of the GPU VM tests (DESIGN.md 4.3): op values, and a snapshot of everything a request
 * may change (mappings, links, lists, references, residency) so that a test can check that a
 * plan or a bad request changed nothing.
 */
final class GpuVmTestSupport {
    static final int PAGE = Fixture.PAGE;

    private GpuVmTestSupport() {
    }

    /** @return {@code n} pages in bytes */
    static long pg(long n) {
        return n * PAGE;
    }

    static GpuVa va(long va, long range, BufferObject bo, long offset) {
        return new GpuVa(va, range, bo, offset);
    }

    static VaOp map(GpuVa v) {
        return new VaOp.Map(v);
    }

    static VaOp unmap(GpuVa v, boolean keep) {
        return new VaOp.Unmap(v, keep);
    }

    static VaOp remap(GpuVa old, boolean keep, GpuVa prev, GpuVa next) {
        return new VaOp.Remap(new VaOp.Unmap(old, keep), prev, next);
    }

    /**
     * What a VM and some objects look like from outside: every query a change would show in.
     *
     * @param mappings the VM's mappings
     * @param external its external links
     * @param evicted its evicted links
     * @param links per object, its link in the VM (or empty)
     * @param refCounts per object, its reference count
     * @param residencies per object, its residency
     */
    record VmState(List<GpuVa> mappings, List<VmBo> external, List<VmBo> evicted, List<Optional<VmBo>> links,
            List<Integer> refCounts, List<Residency> residencies) {
        static VmState of(GpuVm vm, BufferObject... bos) {
            List<Optional<VmBo>> links = new ArrayList<>();
            List<Integer> refs = new ArrayList<>();
            List<Residency> res = new ArrayList<>();
            for (BufferObject bo : bos) {
                links.add(vm.vmBo(bo));
                refs.add(bo.refCount());
                res.add(bo.residency());
            }
            return new VmState(vm.mappings(), vm.externalObjects(), vm.evicted(), links, refs, res);
        }
    }

    /**
     * Asserts that {@code call} throws {@code type} and leaves the VM and the objects as they were.
     *
     * @return the exception
     */
    static <T extends Throwable> T assertFailsUnchanged(Class<T> type, GpuVm vm, List<BufferObject> bos, Executable call,
            String what) {
        BufferObject[] a = bos.toArray(BufferObject[]::new);
        VmState before = VmState.of(vm, a);
        T e = assertThrows(type, call, what);
        assertEquals(before, VmState.of(vm, a), what + ": nothing changes");
        return e;
    }

    /** @return the mappings of {@code all} that show {@code bo}, in order */
    static List<GpuVa> of(BufferObject bo, List<GpuVa> all) {
        return all.stream().filter(v -> v.bo() == bo).toList();
    }
}
