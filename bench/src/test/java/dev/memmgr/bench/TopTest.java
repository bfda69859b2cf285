package dev.memmgr.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bin/memmgr top} against a JVM it did not start: the test starts {@link PublishingApp} in a
 * separate JVM (the toolchain's java running these tests, on the test class path) with its own
 * counters directory, then runs {@code top --once --dir DIR PID} and {@code top --once --dir DIR}
 * and checks the figures of the screen: the still ones exactly, the rates of the churning manager
 * above zero. Also: a PID that publishes nothing (exit 1), bad options (usage, exit 2), --help.
 */
class TopTest {
    @TempDir
    Path tmp;

    private final ByteArrayOutputStream outBytes = new ByteArrayOutputStream();
    private final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(outBytes, true, StandardCharsets.UTF_8);
    private final PrintStream err = new PrintStream(errBytes, true, StandardCharsets.UTF_8);

    private String out() {
        return outBytes.toString(StandardCharsets.UTF_8);
    }

    private String err() {
        return errBytes.toString(StandardCharsets.UTF_8);
    }

    /** The java running this test (the toolchain's JDK 25) and the class path of the tests. */
    private static List<String> javaCommand(Path dir) {
        String java = ProcessHandle.current().info().command().orElseThrow();
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        return List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xmx64m", "-Dmemmgr.counters.dir=" + dir, "-cp", cp,
                PublishingApp.class.getName());
    }

    @Test
    @Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // the child's readLine cannot be interrupted
    void topShowsTheFiguresOfAnotherJvm() throws Exception {
        Path dir = tmp.resolve("counters");
        Path errors = tmp.resolve("publisher.err");
        Process p = new ProcessBuilder(javaCommand(dir)).redirectError(errors.toFile()).start();
        try {
            BufferedReader lines = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String ready = lines.readLine(); // bounded by the timeout should the child hang
            assertTrue(ready != null && ready.startsWith("ready "), () -> "the publishing JVM says it is ready: " + ready
                    + "; its stderr: " + read(errors));
            long pid = Long.parseLong(ready.substring(6).strip());
            assertEquals(p.pid(), pid);
            assertTrue(Files.exists(dir.resolve(pid + ".dat")));

            assertEquals(0, Top.run(new String[] {"--once", "--dir", dir.toString(), Long.toString(pid)}, out, err), err());
            String screen = out();
            assertTrue(screen.contains("1 process publishing"), screen);
            assertTrue(screen.contains("process " + pid + ", publishing since "), screen);
            // cells: resident, evicted, purgeable, busy, pinned, swap use, evictions/s, swap-ins/s
            // the still manager's one eviction may fall inside the first rate window: its rates are
            // numbers, not necessarily 0.0 yet
            assertEquals(List.of("704 KiB", "512 KiB", "128 KiB", "64 KiB", "256 KiB", "512 KiB"),
                    cells(screen, "client 'ui' (1)").subList(0, 6), screen);
            assertEquals(List.of("704 KiB", "512 KiB", "128 KiB", "64 KiB", "256 KiB", "512 KiB"),
                    cells(screen, "manager 'remote'").subList(0, 6), screen);
            for (String rate : cells(screen, "manager 'remote'").subList(6, 8)) {
                assertTrue(Double.parseDouble(rate) >= 0 && Double.parseDouble(rate) <= 2, screen);
            }
            assertTrue(screen.contains("capacity 16 MiB, free 15.3 MiB, peak resident 704 KiB, swap 512 KiB of 32 MiB;"
                    + " so far evictions 1, swap-ins 0, purges 0"), screen);
            List<String> churner = cells(screen, "manager 'churner'");
            assertTrue(Double.parseDouble(churner.get(6)) > 0, "evictions per second of the churning manager: " + screen);
            assertTrue(Double.parseDouble(churner.get(7)) > 0, "swap-ins per second: " + screen);
            List<String> churn = cells(screen, "client 'churn' (1)");
            assertTrue(Double.parseDouble(churn.get(6)) > 0, "the client's own rate: " + screen);
            assertTrue(List.of("64 KiB", "0 B").contains(churn.get(5)), "the churning object is in swap or not: " + screen);

            outBytes.reset();
            assertEquals(0, Top.run(new String[] {"--once", "--dir", dir.toString()}, out, err), err());
            assertTrue(out().contains("process " + pid + ", publishing since "), "every process publishing: " + out());

            p.getOutputStream().close(); // the app ends
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the publishing JVM ends when its input closes");
            assertEquals(0, p.exitValue(), () -> read(errors));
            assertEquals("", read(errors), "the publishing JVM printed nothing on stderr");
            assertTrue(!Files.exists(dir.resolve(pid + ".dat")), "its file is gone");
            outBytes.reset();
            assertEquals(1, Top.run(new String[] {"--once", "--dir", dir.toString(), Long.toString(pid)}, out, err));
            assertTrue(err().contains("top: process " + pid + " publishes no memmgr counters"), err());
        } finally {
            p.destroyForcibly();
            p.waitFor(30, TimeUnit.SECONDS);
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return e.toString();
        }
    }

    private static final Pattern CELL = Pattern.compile("\\d+(?:\\.\\d+)? (?:B|KiB|MiB|GiB|TiB)|\\d+\\.\\d|-");

    /** @return the eight cells of the row that starts with this name (sizes with their units, then two rates) */
    private static List<String> cells(String screen, String rowName) {
        for (String line : screen.split("\n")) {
            String t = line.strip();
            if (t.startsWith(rowName + " ")) {
                List<String> cells = new ArrayList<>();
                Matcher m = CELL.matcher(t.substring(rowName.length()));
                while (m.find()) {
                    cells.add(m.group());
                }
                assertEquals(8, cells.size(), line);
                return cells;
            }
        }
        throw new AssertionError("no row '" + rowName + "' in:\n" + screen);
    }

    @Test
    void aProcessThatDoesNotPublishAndAnEmptyDirectory() {
        Path dir = tmp.resolve("none");
        assertEquals(1, Top.run(new String[] {"--once", "--dir", dir.toString(), "999999999"}, out, err));
        assertTrue(err().contains("process 999999999 publishes no memmgr counters (looked in " + dir + ")"), err());
        assertEquals(0, Top.run(new String[] {"--once", "--dir", dir.toString()}, out, err));
        assertTrue(out().contains("no process publishes memmgr counters in " + dir), out());
    }

    @Test
    void aFileLeftByAProcessThatDiedIsNotShown() throws IOException {
        Path dir = tmp.resolve("stale");
        Files.createDirectories(dir);
        Files.write(dir.resolve("999999998.dat"), new byte[8192]); // not even a counters file
        assertEquals(0, Top.run(new String[] {"--once", "--dir", dir.toString()}, out, err));
        assertTrue(out().contains("0 processes publishing"), out());
    }

    @Test
    void badOptionsPrintTheUsageAndExit2() {
        for (String[] args : new String[][] {{"--fast"}, {"abc"}, {"-5"}, {"0"}, {"1", "2"}, {"--dir"}, {"--once", "--once"},
            {"--dir", "a", "--dir", "b"}}) {
            outBytes.reset();
            errBytes.reset();
            assertEquals(2, Top.run(args, out, err), List.of(args).toString());
            assertTrue(err().startsWith("top: "), err());
            assertTrue(err().contains("usage: bin/memmgr top"), err());
            assertEquals("", out());
        }
        errBytes.reset();
        Top.run(new String[] {"abc"}, out, err);
        assertTrue(err().startsWith("top: not a process id: 'abc'"), err());
    }

    @Test
    void helpPrintsTheUsage() {
        assertEquals(0, Top.run(new String[] {"--help"}, out, err));
        assertTrue(out().startsWith("usage: bin/memmgr top [--once] [--dir DIR] [PID]"), out());
        Matcher m = Pattern.compile("--once").matcher(out());
        assertTrue(m.find());
    }
}
