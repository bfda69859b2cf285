package dev.memmgr.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * A short stress run (a small manager, two workers, a fixed seed) whose "GPU" is the scheduler:
 * jobs of every kind ran through the workers' VMs and their bytes were checked (kernels verified
 * reads and copy sources, the CPU read what jobs wrote after implicit sync, fault jobs faulted
 * where they must), every job signaled, none timed out, and nothing was corrupt or unexpected.
 */
class StressRunTest {
    private static final Pattern JOBS = Pattern.compile("jobs: (\\d+) pushed, (\\d+) finished, (\\d+) timeouts;"
            + " (\\d+) batches through VMs: (\\d+) uploads, (\\d+) copies, (\\d+) reads, (\\d+) page faults checked,"
            + " ([0-9.]+ [KMG]?i?B) verified by kernels, (\\d+) CPU reads after implicit sync;");

    @Test
    void jobsOfEveryKindRunThroughTheSchedulerAndEveryByteIsChecked() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        int status = Stress.run(new String[] {"--seconds", "5", "--capacity", "16m", "--swap", "64m", "--threads", "2",
                "--objects", "64", "--seed", "12"}, out, out);
        String text = bytes.toString(StandardCharsets.UTF_8);
        assertEquals(0, status, text);
        assertTrue(text.contains("\nunexpected: 0\n") && text.contains("\ncorruptions: 0\n"), text);
        Matcher m = JOBS.matcher(text);
        assertTrue(m.find(), text);
        long pushed = Long.parseLong(m.group(1));
        assertTrue(pushed > 0, text);
        assertEquals(pushed, Long.parseLong(m.group(2)), "every job signaled its finished fence");
        assertEquals(0, Long.parseLong(m.group(3)), "timeouts");
        for (int g = 4; g <= 8; g++) {
            assertTrue(Long.parseLong(m.group(g)) > 0, () -> "batches, uploads, copies, reads, faults: " + m.group());
        }
        assertTrue(!m.group(9).equals("0 B"), "kernels verified bytes: " + m.group());
        assertTrue(Long.parseLong(m.group(10)) > 0, "CPU reads after implicit sync: " + m.group());
    }
}
