package dev.memmgr.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memmgr.BufferObject;
import dev.memmgr.Client;
import dev.memmgr.Entity;
import dev.memmgr.GpuPageFaultException;
import dev.memmgr.GpuScheduler;
import dev.memmgr.GpuVm;
import dev.memmgr.Job;
import dev.memmgr.MemoryManager;
import dev.memmgr.Priority;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The stress tool's GPU jobs ({@link VmJob}) on a real VM and scheduler: what a job puts in the
 * model at push is what it leaves in memory (uploads with a page shown twice, copies between
 * objects and overlapping ones within one), {@code undo} puts the model back, a job after a failed
 * writer touches nothing, a fault job faults where it must, and a kernel reports a byte the model
 * does not expect. VA pages: 0..15 show a's pages 0..15, 16..31 b's 0..15, 40..43 a's 0..3 and
 * 44..45 a's 0..1 again; the rest is unmapped.
 */
class VmJobTest {
    private static final int P = 4096;
    private static final int VA_PAGES = 64;
    private static final long BASE = 1L << 32;
    private static final Duration WAIT = Duration.ofSeconds(10);

    private final ByteArrayOutputStream printed = new ByteArrayOutputStream();
    private final StressReport report = new StressReport(new PrintStream(printed, true, StandardCharsets.UTF_8));
    private MemoryManager mm;
    private GpuScheduler gpu;
    private Entity queue;
    private GpuVm vm;
    private VmModel model;
    private final Arena arena = Arena.ofShared();
    private MemorySegment buf;
    private final List<VmJob> pushed = new ArrayList<>();

    @BeforeEach
    void setUp() {
        mm = MemoryManager.builder().capacity(1 << 20).noSwap().backgroundReclaim(false).build();
        gpu = GpuScheduler.builder("test").credits(2).build();
        queue = gpu.createEntity(Priority.NORMAL);
        Client client = mm.openClient("test");
        BufferObject a = client.create(16 * P);
        BufferObject b = client.create(16 * P);
        vm = client.createVm("test", BASE, (long) VA_PAGES * P);
        model = new VmModel(P, VA_PAGES);
        model.base = BASE;
        model.bound[0] = new VmModel.Bound(new ShadowObject(1, Workload.Kind.VM, a, P), false, false);
        model.bound[1] = new VmModel.Bound(new ShadowObject(2, Workload.Kind.VM, b, P), false, false);
        map(0, 16, 0, 0);
        map(16, 16, 1, 0);
        map(40, 4, 0, 0);
        map(44, 2, 0, 0);
        buf = arena.allocate(32L * P, 4096);
    }

    @AfterEach
    void tearDown() {
        gpu.close();
        mm.close();
        arena.close();
    }

    private void map(int first, int n, int slot, int objFirst) {
        vm.map(BASE + (long) first * P, (long) n * P, model.bound[slot].s.bo, (long) objFirst * P);
        model.set(first, n, slot, objFirst);
    }

    private VmJob upload(int dst, int n) {
        return new VmJob(VmJob.Kind.UPLOAD, "upload", report, model, buf, n, -1, dst, 0, 0, false);
    }

    private VmJob copy(int src, int dst, int n) {
        return new VmJob(VmJob.Kind.COPY, "copy", report, model, buf, n, src, dst, 0, 0, false);
    }

    private VmJob read(int src, int n) {
        return new VmJob(VmJob.Kind.READ, "read", report, model, buf, n, src, -1, 0, 0, false);
    }

    /** Pushes a job after every earlier one (explicit chain), puts its effect in the model, waits for it. */
    private Job run(VmJob j) {
        j.after(pushed);
        Job.Builder b = queue.job(j).vm(vm);
        if (!pushed.isEmpty()) {
            b.dependency(pushed.getLast().job.finished());
        }
        j.job = b.push();
        j.apply();
        pushed.add(j);
        assertTrue(j.job.finished().await(WAIT));
        return j.job;
    }

    /** Every mapped VA page, read through the VM by the CPU, is what the model says. */
    private void assertMemoryIsTheModel() {
        MemorySegment page = arena.allocate(P);
        for (int q = 0; q < VA_PAGES; q++) {
            if (model.at(q) != null) {
                vm.read(model.addr(q), page);
                assertEquals(-1, model.at(q).s.check(page, 0, model.pageAt(q)), "VA page " + q);
            }
        }
    }

    /** The content key of every page of both objects. */
    private int[] keys() {
        int[] k = new int[2 * 16 * 3];
        int i = 0;
        for (int slot = 0; slot < 2; slot++) {
            ShadowObject s = model.bound[slot].s;
            for (int p = 0; p < 16; p++) {
                k[i++] = s.contentId(p);
                k[i++] = s.stamps[p];
                k[i++] = s.contentPage(p);
            }
        }
        return k;
    }

    @Test
    void jobsLeaveWhatTheModelSays() {
        run(upload(0, 16));
        run(upload(40, 6)); // a's pages 0 and 1 written twice in one job: the same pattern
        run(copy(4, 16, 8)); // a 4..11 to b 0..7
        run(copy(0, 2, 8)); // a 0..7 to a 2..9: overlapping, as memmove
        run(copy(16, 8, 4)); // b 0..3 (copies of a) to a 8..11: copies of copies
        run(read(0, 32));
        for (VmJob j : pushed) {
            assertTrue(j.job.finished().error().isEmpty(), () -> j + ": " + j.job.finished().error());
        }
        assertEquals(0, report.corruptions(), printed::toString);
        assertEquals(0, report.unexpected(), printed::toString);
        assertEquals(32L * P + 8 * P + 8 * P + 4 * P, report.jobBytesVerified.sum(), "reads and copy sources checked");
        ShadowObject b = model.bound[1].s;
        assertEquals(1, b.contentId(0), "b's page 0 holds a copy of a page of a (id 1)");
        assertEquals(4, b.contentPage(0), "of a's page 4");
        assertMemoryIsTheModel();
    }

    @Test
    void undoPutsTheModelBack() {
        run(upload(0, 16));
        int[] before = keys();
        VmJob up = upload(40, 6); // a page shown twice
        up.apply();
        VmJob cp = copy(0, 16, 12);
        cp.apply();
        VmJob within = copy(16, 18, 6);
        within.apply();
        within.undo();
        cp.undo();
        up.undo();
        assertArrayEquals(before, keys());
    }

    @Test
    void aJobAfterAFailedWriterTouchesNothing() {
        run(upload(16, 16));
        VmJob failedWriter = upload(0, 4);
        failedWriter.job = queue.job(ctx -> {
            throw new IllegalStateException("the writer's failure");
        }).push();
        assertTrue(failedWriter.job.finished().await(WAIT)); // never applied: the model keeps the old content
        pushed.add(failedWriter);
        VmJob after = copy(0, 16, 4); // reads what the failed job was to write
        after.after(pushed);
        after.job = queue.job(after).vm(vm).push(); // no dependency: its own check must catch it
        assertTrue(after.job.finished().await(WAIT));
        assertInstanceOf(VmJob.Skipped.class, after.job.finished().error().orElseThrow());
        assertTrue(!after.writing);
        assertMemoryIsTheModel(); // b untouched (the model never took the copy in)
        assertEquals(0, report.unexpected(), printed::toString);
    }

    @Test
    void aFaultJobFaultsAtTheFirstUnmappedByteAndCopiesNothing() {
        run(upload(16, 16));
        for (boolean write : new boolean[] {false, true}) {
            long at = model.addr(32);
            VmJob f = new VmJob(VmJob.Kind.FAULT, "fault", report, model, buf, 4, -1, -1, model.addr(30) + 8, at, write);
            assertEquals(1, f.objects.length, "b, mapped before the fault");
            f.job = queue.job(f).vm(vm).push();
            assertTrue(f.job.finished().await(WAIT));
            GpuPageFaultException e = assertInstanceOf(GpuPageFaultException.class, f.job.finished().error().orElseThrow());
            assertEquals(at, e.address());
        }
        assertMemoryIsTheModel(); // the write's poison landed nowhere
        assertEquals(0, report.corruptions(), printed::toString);
    }

    @Test
    void aReadJobReportsAByteTheModelDoesNotExpect() {
        run(upload(0, 16));
        MemorySegment junk = arena.allocate(8);
        junk.set(ShadowObject.WORD, 0, 42L);
        model.bound[0].s.bo.write(5L * P + 64, junk); // behind the model's back
        run(read(0, 16));
        assertEquals(1, report.corruptions(), printed::toString);
        assertTrue(printed.toString(StandardCharsets.UTF_8).contains("page 5 byte 64"), printed::toString);
    }
}
