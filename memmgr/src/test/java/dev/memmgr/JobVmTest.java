package dev.memmgr;

import static dev.memmgr.SchedTestSupport.assertFails;
import static dev.memmgr.SchedTestSupport.assertSucceeds;
import static dev.memmgr.SchedTestSupport.kernelAwait;
import static dev.memmgr.SchedTestSupport.scheduler;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Jobs that run through a GPU VM: before the kernel, the scheduler locks the VM and its external
 * objects, swaps in what was evicted since submission, fences everything with the job's finished
 * fence (so that it stays resident while the kernel runs) and unlocks; the kernel reads and writes
 * through {@code ctx.vm()}. A purged object fails the job with PurgedException without running the
 * kernel; a page fault in the kernel fails it with GpuPageFaultException.
 */
@ExtendWith(MemmgrExtension.class)
class JobVmTest {
    private static final int P = Fixture.PAGE;

    @Test
    void objectsEvictedAfterSubmissionAreBackAndFencedBeforeTheKernel(Fixture f) throws Exception {
        MemoryManager mm = f.manager();
        Client c = f.client(mm, "vm-jobs");
        GpuVm vm = c.createVm("vm", 0, 1L << 30);
        BufferObject ext = c.create(4 * P);
        BufferObject local = vm.createLocal(2 * P);
        byte[] extBytes = Fixture.writePattern(ext, 11);
        byte[] localBytes = Fixture.writePattern(local, 12);
        vm.map(0x10000, 4 * P, ext, 0);
        vm.map(0x40000, 2 * P, local, 0);
        try (GpuScheduler gpu = scheduler("vm", 4)) {
            Fence gate = new Fence();
            CountDownLatch running = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
            AtomicReference<GpuVm> seenVm = new AtomicReference<>();
            byte[] readExt = new byte[4 * P];
            byte[] readLocal = new byte[2 * P];
            Job j = gpu.createEntity(Priority.NORMAL).job(ctx -> {
                seenVm.set(ctx.vm());
                check(problems, ext.residency() == Residency.RESIDENT, "the external object is resident");
                check(problems, local.residency() == Residency.RESIDENT, "the local object is resident");
                check(problems, ctx.vm().evicted().isEmpty(), "nothing listed evicted");
                check(problems, !ext.resv().isIdle(FenceUsage.BOOKKEEP), "the external object is fenced");
                check(problems, !vm.resv().isIdle(FenceUsage.BOOKKEEP), "the VM's reservation is fenced");
                for (Reservation r : List.of(vm.resv(), ext.resv())) {
                    boolean free = r.tryLock();
                    check(problems, free, "unlocked before the kernel: " + r);
                    if (free) {
                        r.unlock();
                    }
                }
                ctx.vm().read(0x10000, MemorySegment.ofArray(readExt));
                ctx.vm().read(0x40000, MemorySegment.ofArray(readLocal));
                ctx.vm().write(0x10000 + P, Fixture.filled(P, (byte) 0x5A));
                running.countDown();
                kernelAwait(release, "release");
            }).vm(vm).dependency(gate).push();

            mm.reclaim(mm.capacity()); // between submission and run: the VM's objects are not fenced yet
            assertEquals(Residency.EVICTED, ext.residency());
            assertEquals(Residency.EVICTED, local.residency());
            assertEquals(2, vm.evicted().size());
            gate.signal();
            Fixture.await(running, "the kernel");
            mm.reclaim(mm.capacity());
            assertEquals(Residency.RESIDENT, ext.residency(), "busy while the kernel runs");
            assertEquals(Residency.RESIDENT, local.residency(), "busy while the kernel runs");
            release.countDown();
            assertSucceeds(j, "the VM job");
            assertEquals(List.of(), List.copyOf(problems));
            assertSame(vm, seenVm.get(), "ctx.vm() is the job's VM");
            Fixture.assertBytes(extBytes, readExt, "the external object through the VM");
            Fixture.assertBytes(localBytes, readLocal, "the local object through the VM");
            Fixture.assertAllBytes((byte) 0x5A, Fixture.contentOf(ext, P, P), "what the kernel wrote");
            mm.reclaim(mm.capacity());
            assertEquals(Residency.EVICTED, ext.residency(), "idle once the job finished");
        }
    }

    @Test
    void anEvictedObjectMappedWhileTheJobLocksItsVmIsLockedSwappedInAndFencedToo(Fixture f) {
        MemoryManager mm = f.manager();
        Client c = f.client(mm, "late-map");
        GpuVm vm = c.createVm("vm", 0, 1L << 30);
        BufferObject first = c.create(P);
        BufferObject late = c.create(P);
        Fixture.fill(first, (byte) 1);
        byte[] lateBytes = Fixture.writePattern(late, 31);
        vm.map(0x10000, P, first, 0);
        mm.reclaim(mm.capacity());
        assertEquals(Residency.EVICTED, late.residency());
        try (GpuScheduler gpu = scheduler("late-map", 4)) {
            ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
            byte[] seen = new byte[P];
            Job j;
            first.resv().lock(); // the job's lockAll takes the VM's lock, then waits here
            try {
                j = gpu.createEntity(Priority.NORMAL).job(ctx -> {
                    check(problems, late.residency() == Residency.RESIDENT, "the late object is resident");
                    check(problems, !late.resv().isIdle(FenceUsage.BOOKKEEP), "the late object is fenced");
                    ctx.vm().read(0x20000, MemorySegment.ofArray(seen));
                }).vm(vm).push();
                Fixture.awaitCondition(() -> {
                    if (vm.resv().tryLock()) {
                        vm.resv().unlock();
                        return false;
                    }
                    return true;
                }, "the job holding the VM's lock");
                vm.map(0x20000, P, late, 0); // takes the object's lock only: listed evicted, not locked
                assertEquals(1, vm.evicted().stream().filter(l -> l.bo() == late).count());
            } finally {
                first.resv().unlock();
            }
            assertSucceeds(j, "the job");
            assertTrue(problems.isEmpty(), problems.toString());
            Fixture.assertBytes(lateBytes, seen, "the kernel read the late object's bytes");
        }
    }

    @Test
    void aPurgedObjectFailsTheJobWithoutRunningTheKernel(Fixture f) {
        MemoryManager mm = f.manager();
        Client c = f.client(mm, "purged");
        GpuVm vm = c.createVm("vm", 0, 1L << 30);
        BufferObject keep = c.create(P);
        BufferObject gone = c.create(P);
        Fixture.fill(keep, (byte) 1);
        Fixture.fill(gone, (byte) 2);
        vm.map(0, P, keep, 0);
        vm.map(P, P, gone, 0);
        try (GpuScheduler gpu = scheduler("purged", 4)) {
            Fence gate = new Fence();
            AtomicBoolean ran = new AtomicBoolean();
            Job j = gpu.createEntity(Priority.NORMAL).job(ctx -> ran.set(true)).vm(vm).dependency(gate).push();
            gone.madvise(Madvise.DONTNEED);
            mm.reclaim(mm.capacity());
            assertEquals(Residency.PURGED, gone.residency());
            gate.signal();
            assertFails(PurgedException.class, j, "the job");
            assertFalse(ran.get(), "the kernel did not run");
            Job after = gpu.createEntity(Priority.NORMAL).job(ctx -> { }).push();
            assertSucceeds(after, "a job after the failed one");
        }
    }

    @Test
    void aPageFaultInTheKernelFailsTheJob(Fixture f) {
        Client c = f.client(f.manager(), "fault");
        GpuVm vm = c.createVm("vm", 0, 1L << 30);
        BufferObject bo = c.create(2 * P);
        vm.map(0x100000, 2 * P, bo, 0);
        try (GpuScheduler gpu = scheduler("fault", 4)) {
            Job j = gpu.createEntity(Priority.NORMAL)
                    .job(ctx -> ctx.vm().read(0x100000 + P, MemorySegment.ofArray(new byte[2 * P]))).vm(vm).push();
            GpuPageFaultException e = assertFails(GpuPageFaultException.class, j, "the faulting job");
            assertEquals(0x100000 + 2L * P, e.address(), "the first unmapped byte");
        }
    }

    @Test
    void aVmClosedBeforeTheJobRunsFailsItUnrun(Fixture f) {
        Client c = f.client(f.manager(), "closed-vm");
        GpuVm vm = c.createVm("vm", 0, 1L << 30);
        try (GpuScheduler gpu = scheduler("closed-vm", 4)) {
            Fence gate = new Fence();
            AtomicBoolean ran = new AtomicBoolean();
            Job j = gpu.createEntity(Priority.NORMAL).job(ctx -> ran.set(true)).vm(vm).dependency(gate).push();
            vm.close();
            gate.signal();
            assertFails(IllegalStateException.class, j, "a job of a closed VM");
            assertFalse(ran.get());
        }
    }

    @Test
    void withoutAVmTheContextHasNone() {
        try (GpuScheduler gpu = scheduler("no-vm", 4)) {
            AtomicReference<GpuVm> seen = new AtomicReference<>();
            AtomicBoolean called = new AtomicBoolean();
            Job j = gpu.createEntity(Priority.NORMAL).job(ctx -> {
                called.set(true);
                seen.set(ctx.vm());
            }).push();
            assertSucceeds(j, "the job");
            assertTrue(called.get());
            assertNull(seen.get());
        }
    }

    private static void check(ConcurrentLinkedQueue<String> problems, boolean ok, String what) {
        if (!ok) {
            problems.add(what);
        }
    }
}
