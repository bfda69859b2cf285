package dev.memmgr.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memmgr.BufferObject;
import dev.memmgr.Client;
import dev.memmgr.GpuOutOfMemoryException;
import dev.memmgr.GpuScheduler;
import dev.memmgr.Job;
import dev.memmgr.Madvise;
import dev.memmgr.MemoryManager;
import dev.memmgr.Priority;
import dev.memmgr.Vmap;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import jdk.jfr.Recording;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bin/memmgr jfr FILE}: a small workload recorded in-process (jdk.jfr.Recording with the
 * memmgr events), dumped to a file, and summarized: reclaim runs by kind with bytes and object
 * counts, evictions, swap-ins and purges with counts, bytes and p50/p99, out of memory, cold
 * vmaps, the objects moved most, job timeouts; then bad options (exit 2), a missing or unreadable
 * file (exit 1), --help.
 */
class JfrSummaryTest {
    private static final int PAGE = 4096;

    @TempDir
    Path tmp;

    private final ByteArrayOutputStream outBytes = new ByteArrayOutputStream();
    private final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(outBytes, true, StandardCharsets.UTF_8);
    private final PrintStream err = new PrintStream(errBytes, true, StandardCharsets.UTF_8);

    private static void fill(BufferObject bo, int v) {
        byte[] a = new byte[(int) bo.size()];
        Arrays.fill(a, (byte) v);
        bo.write(0, MemorySegment.ofArray(a));
    }

    @Test
    void summarizesAWorkloadRecordedInProcess() throws Exception {
        Path file = tmp.resolve("work.jfr");
        try (Recording rec = new Recording()) {
            for (String n : List.of("Reclaim", "Evict", "SwapIn", "Purge", "OutOfMemory", "VmapMap", "JobTimeout")) {
                rec.enable("dev.memmgr." + n).withoutThreshold();
            }
            rec.start();
            try (MemoryManager mm = MemoryManager.builder().name("summary").capacity(64L * PAGE).backgroundReclaim(false)
                    .build(); Client c = mm.openClient("c")) {
                BufferObject victim = c.create(16L * PAGE).label("victim");
                fill(victim, 1);
                BufferObject junk = c.create(8L * PAGE).label("junk");
                fill(junk, 2);
                junk.madvise(Madvise.DONTNEED);
                mm.reclaim(Long.MAX_VALUE);               // requested: junk purged, victim evicted
                victim.read(0, MemorySegment.ofArray(new byte[1])); // swap-in
                BufferObject big = c.create(64L * PAGE).label("big");
                fill(big, 3);                             // direct reclaim evicts victim again
                try (Vmap v = big.vmap()) {               // a cold vmap; it pins big
                    BufferObject more = c.create(PAGE);
                    assertThrows(GpuOutOfMemoryException.class, () -> fill(more, 4));
                    assertEquals(3, v.segment().get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0));
                }
            }
            GpuScheduler gpu = GpuScheduler.builder("summary-sched").timeout(Duration.ofMillis(30)).build();
            CountDownLatch stuck = new CountDownLatch(1);
            try {
                Job hang = gpu.createEntity(Priority.NORMAL).job(ctx -> stuck.await()).push();
                assertTrue(hang.finished().await(Duration.ofSeconds(10)));
            } finally {
                stuck.countDown();
                gpu.close();
            }
            rec.stop();
            rec.dump(file);
        }
        assertEquals(0, JfrSummary.run(new String[] {file.toString()}, out, err), errBytes.toString(StandardCharsets.UTF_8));
        String s = outBytes.toString(StandardCharsets.UTF_8);
        assertTrue(s.startsWith("memmgr events in " + file + " ("), s);
        assertTrue(s.contains("\nmanager 'summary'\n"), s);
        assertTrue(s.matches("(?s).*\n  reclaim +runs +requested +freed +purged +evicted +skipped +duration\n.*"), s);
        // direct: the run that evicted victim for big (16 pages short), then the three of the failed allocation
        assertTrue(s.matches("(?s).*\n  direct +4 +76 KiB +64 KiB +0 +1 +0  p50 [0-9.]+ (ns|us|ms|s), p99 .*"), s);
        assertTrue(s.matches("(?s).*\n  requested +1 +all +96 KiB +1 +1 +0  p50 .*"), s);
        assertTrue(s.matches("(?s).*\n  evictions +2 objects, 128 KiB, p50 [0-9.]+ (ns|us|ms|s), p99 [0-9.]+ (ns|us|ms|s)\n.*"), s);
        assertTrue(s.matches("(?s).*\n  swap-ins +1 object, 64 KiB, p50 .*"), s);
        assertTrue(s.contains("\n  purges       1 object, 32 KiB\n"), s);
        assertTrue(s.contains("\n  cold vmaps   1 (256 KiB), 0 compacted first, 1 mmap calls\n"), s);
        assertTrue(s.contains("\n  out of memory 1 time; the last: cannot allocate 1 pages (4.0 KiB): 0 B free"), s);
        assertTrue(s.contains("\n  moved most:\n    buffer object 1 of client 'c' 'victim': 2 evictions, 1 swap-in\n"), s);
        assertTrue(s.contains("\nscheduler 'summary-sched': 1 job timeout\n"), s);
    }

    @Test
    void percentilesAreNearestRank() {
        long[] d = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
        assertEquals(5, JfrSummary.percentile(d, 50));
        assertEquals(10, JfrSummary.percentile(d, 99));
        assertEquals(7, JfrSummary.percentile(new long[] {7}, 99));
    }

    @Test
    void aRecordingWithoutMemmgrEventsSaysSo() throws IOException {
        Path file = tmp.resolve("empty.jfr");
        try (Recording rec = new Recording()) {
            rec.enable("jdk.JVMInformation");
            rec.start();
            rec.stop();
            rec.dump(file);
        }
        assertEquals(0, JfrSummary.run(new String[] {file.toString()}, out, err));
        assertTrue(outBytes.toString(StandardCharsets.UTF_8).contains(": none (was the recording made"), outBytes.toString());
    }

    @Test
    void badOptionsAndBadFiles() throws IOException {
        for (String[] args : new String[][] {{}, {"--fast"}, {"a.jfr", "b.jfr"}}) {
            errBytes.reset();
            assertEquals(2, JfrSummary.run(args, out, err), List.of(args).toString());
            assertTrue(errBytes.toString(StandardCharsets.UTF_8).contains("usage: bin/memmgr jfr FILE"));
            assertTrue(errBytes.toString(StandardCharsets.UTF_8).startsWith("jfr: "));
        }
        errBytes.reset();
        assertEquals(1, JfrSummary.run(new String[] {tmp.resolve("missing.jfr").toString()}, out, err));
        assertTrue(errBytes.toString(StandardCharsets.UTF_8).contains("jfr: no such file: "));
        Path junk = tmp.resolve("junk.jfr");
        Files.writeString(junk, "not a recording");
        errBytes.reset();
        assertEquals(1, JfrSummary.run(new String[] {junk.toString()}, out, err));
        assertTrue(errBytes.toString(StandardCharsets.UTF_8).startsWith("jfr: cannot read " + junk + " as a JFR recording"),
                errBytes.toString(StandardCharsets.UTF_8));
        assertEquals("", outBytes.toString(StandardCharsets.UTF_8));
        assertEquals(0, JfrSummary.run(new String[] {"--help"}, out, err));
        assertTrue(outBytes.toString(StandardCharsets.UTF_8).startsWith("usage: bin/memmgr jfr FILE"));
    }
}
