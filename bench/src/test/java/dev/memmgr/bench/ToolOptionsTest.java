package dev.memmgr.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The options of each tool bin/memmgr runs: defaults, values, every bad option the launcher's
 * users met (a message naming the option, the tool's own usage, exit 2, and nothing run), and
 * --help (the tool's usage, exit 0). No test here starts a manager or a benchmark: bad options
 * and help return before that.
 */
class ToolOptionsTest {
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

    // ---- demo --------------------------------------------------------------------------------

    private static Demo.Options demo(String... args) {
        return Demo.Options.of(CommandLine.parse(args, Demo.Options.NAMES));
    }

    @Test
    void demoDefaultsAndValues() {
        assertEquals(new Demo.Options(256L << 20, 2.5), demo());
        assertEquals(160, demo().textures(), "2.5 x 256 MiB of 4 MiB textures");
        assertEquals(new Demo.Options(64L << 20, 1.5), demo("--capacity=64m", "--overcommit", "1.5"));
        assertEquals(2, demo("--capacity", "16m", "--overcommit", "0.1").textures(), "at least two textures");
        assertEquals(9, demo("--capacity", "16m", "--overcommit", "2.25").textures(), "the most that fit in 16m");
        assertEquals(176, demo("--overcommit", "2.75").textures());
        assertEquals(new Demo.Options(16L << 20, 2.25), demo("--capacity", "16m"), "the default, capped to what fits");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            --capacity                 | --capacity needs a value
            --capacity abc             | --capacity: not a size: 'abc' (bytes, with an optional k, m or g suffix: 256m)
            --capacity 1m              | --capacity must be between 16 MiB and 1 TiB: '1m'
            --capacity 16385k          | --capacity must be a multiple of 4k: '16385k'
            --overcommit abc           | --overcommit: not a number: 'abc'
            --overcommit -1            | --overcommit must be greater than 0 and at most 2.75: '-1'
            --overcommit 0             | --overcommit must be greater than 0 and at most 2.75: '0'
            --overcommit 3             | --overcommit must be greater than 0 and at most 2.75: '3'
            --overcommit               | --overcommit needs a value
            --capacity 16m --overcommit 2.5 | --overcommit 2.5 is too much for --capacity 16 MiB: 10 textures, the scanout buffer and room for swap-ins need 52 MiB of frames and swap, there are 48 MiB; at most 2.25 with this capacity
            --capacity --overcommit 2  | --capacity needs a value
            --textures 5               | unknown option '--textures'
            256m                       | unexpected argument '256m'
            """)
    void demoRejectsBadOptionsWithMessageUsageAndStatus2(String args, String message) {
        assertEquals(2, Demo.run(args.split(" "), out, err));
        assertEquals("demo: " + message + "\n" + Demo.USAGE + "\n", err());
        assertEquals("", out(), "nothing ran");
    }

    @Test
    void demoHelp() {
        assertEquals(0, Demo.run(new String[] {"--help"}, out, err));
        assertEquals(Demo.USAGE + "\n", out());
        assertTrue(Demo.USAGE.startsWith("usage: bin/memmgr demo "), Demo.USAGE);
        assertEquals("", err());
    }

    // ---- stress and soak --------------------------------------------------------------------

    @Test
    void stressDefaultsAndValues() {
        Stress.Options d = Stress.Options.parse(new String[0]);
        assertEquals(256L << 20, d.capacity());
        assertEquals(1L << 30, d.swap());
        assertEquals(2, d.threads());
        assertEquals(30, d.seconds());
        assertEquals(256, d.objects());
        assertTrue(d.seed() >= 0, "a random non-negative seed");
        assertEquals(new Stress.Options(64L << 20, 0, 4, 5, 32, 0x1fL),
                Stress.Options.parse(new String[] {"--capacity", "64m", "--swap=0", "--threads", "4", "--seconds",
                    "5", "--objects=32", "--seed", "0x1f"}));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            --capacity             | --capacity needs a value
            --capacity 1000        | --capacity must be between 1 MiB and 1 TiB: '1000'
            --capacity 1025k       | --capacity must be a multiple of 4k: '1025k'
            --swap 1k              | --swap must be 0 or at least 4k: '1k'
            --swap lots            | --swap: not a size: 'lots' (bytes, with an optional k, m or g suffix: 256m)
            --threads 0            | --threads must be between 1 and 256: '0'
            --threads two          | --threads: not a whole number: 'two'
            --seconds -5           | --seconds must be between 1 and 1000000: '-5'
            --objects 0            | --objects must be between 1 and 1048576: '0'
            --seed abc             | --seed: not a number: 'abc'
            --seconds 1 --seconds 2 | --seconds given twice
            --verbose              | unknown option '--verbose'
            """)
    void stressRejectsBadOptionsWithMessageUsageAndStatus2(String args, String message) {
        assertEquals(2, Stress.run(args.split(" "), out, err));
        assertEquals("stress: " + message + "\n" + Stress.USAGE + "\n", err());
        assertEquals("", out(), "nothing ran");
    }

    @Test
    void stressAndSoakHelpNameTheirCommand() {
        assertEquals(0, Stress.run(new String[] {"-h"}, out, err));
        assertEquals(Stress.USAGE + "\n", out());
        assertTrue(Stress.USAGE.startsWith("usage: bin/memmgr stress "), Stress.USAGE);
        assertTrue(Soak.USAGE.startsWith("usage: bin/memmgr soak "), Soak.USAGE);
        assertTrue(Soak.USAGE.contains("(default 300)"), Soak.USAGE);
        assertTrue(Stress.USAGE.contains("(default 30)"), Stress.USAGE);
    }

    @Test
    void soakDefaultsToFiveMinutesAndSaysSoak() {
        assertEquals(300, Stress.Options.of(CommandLine.parse(new String[0], Stress.Options.NAMES),
                Soak.DEFAULT_SECONDS).seconds());
        assertEquals(2, Stress.run("soak", Soak.USAGE, Soak.DEFAULT_SECONDS, new String[] {"--threads"}, out, err));
        assertEquals("soak: --threads needs a value\n" + Soak.USAGE + "\n", err());
    }

    // ---- quick -------------------------------------------------------------------------------

    @Test
    void quickOut() throws IOException {
        assertNull(QuickSuite.Options.of(CommandLine.parse(new String[0], QuickSuite.Options.NAMES)).out());
        Path file = tmp.resolve("table.md");
        assertEquals(file.toAbsolutePath(), QuickSuite.Options.of(CommandLine.parse(new String[] {"--out", file.toString()},
                QuickSuite.Options.NAMES)).out());
        Files.createDirectory(tmp.resolve("dir"));
        String message = assertThrows(CommandLine.BadOptions.class, () -> QuickSuite.Options.of(CommandLine.parse(
                new String[] {"--out", tmp.resolve("dir").toString()}, QuickSuite.Options.NAMES))).getMessage();
        assertTrue(message.endsWith("is a directory"), message);
    }

    @Test
    void quickRejectsAnOutFileItCouldNotWriteBeforeRunningForMinutes() {
        String missing = tmp.resolve("no/such/dir/table.md").toString();
        assertEquals(2, QuickSuite.run(new String[] {"--out", missing}, out, err));
        assertEquals("quick: --out: the directory of '" + missing + "' does not exist\n" + QuickSuite.USAGE + "\n", err());
        assertEquals("", out());
    }

    @Test
    void quickBadOptionsAndHelp() {
        assertEquals(2, QuickSuite.run(new String[] {"--out"}, out, err));
        assertTrue(err().startsWith("quick: --out needs a value\nusage: bin/memmgr quick "), err());
        assertEquals(0, QuickSuite.run(new String[] {"--help"}, out, err));
        assertEquals(QuickSuite.USAGE + "\n", out());
    }

    // ---- bench (JMH's command line) ----------------------------------------------------------

    @Test
    void benchHandsValidCommandLinesToJmh() throws IOException {
        assertEquals(-1, Bench.check(new String[] {"PagesBench", "-f", "1", "-prof", "gc"}, out, err));
        assertEquals(-1, Bench.check(new String[0], out, err));
        assertEquals("", out() + err());
    }

    @Test
    void benchRejectsWhatJmhCannotParseWithStatus2() throws IOException {
        assertEquals(2, Bench.check(new String[] {"-f", "many"}, out, err));
        assertTrue(err().startsWith("bench: "), err());
        assertTrue(err().endsWith(Bench.USAGE + "\n"), err());
        assertEquals("", out());
    }

    @Test
    void benchHelpPrintsItsUsageThenJmhOptions() throws IOException {
        PrintStream stdout = System.out;
        ByteArrayOutputStream jmh = new ByteArrayOutputStream();
        System.setOut(new PrintStream(jmh, true, StandardCharsets.UTF_8)); // JMH prints its help there
        try {
            assertEquals(0, Bench.check(new String[] {"--help"}, out, err));
        } finally {
            System.setOut(stdout);
        }
        assertTrue(out().startsWith(Bench.USAGE + "\n"), out());
        assertTrue(jmh.toString(StandardCharsets.UTF_8).contains("-prof"), "JMH's options follow");
        assertEquals("", err());
    }
}
