package dev.memmgr.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The command-line conventions every tool shares: forms, errors, help and exit status. */
class CommandLineTest {
    private static final List<String> NAMES = List.of("--size", "--n");

    private static CommandLine parse(String... args) {
        return CommandLine.parse(args, NAMES);
    }

    private static String badOptions(String... args) {
        return assertThrows(CommandLine.BadOptions.class, () -> parse(args)).getMessage();
    }

    @Test
    void bothFormsAndAbsentOptions() {
        CommandLine c = parse("--size", "64m", "--n=3");
        assertEquals("64m", c.value("--size"));
        assertEquals(3, c.integer("--n", 1, 0, 10));
        assertFalse(c.help());
        CommandLine none = parse();
        assertNull(none.value("--size"));
        assertEquals(7, none.integer("--n", 7, 0, 10), "absent: the default, unchecked");
        assertEquals(1L << 20, none.size("--size", 1L << 20, 0, Long.MAX_VALUE));
    }

    @Test
    void helpAnywhereWinsOverEverythingElse() {
        assertTrue(parse("--help").help());
        assertTrue(parse("-h").help());
        assertTrue(parse("--size", "64m", "--bogus", "--help").help());
    }

    @Test
    void malformedCommandLines() {
        assertEquals("--size needs a value", badOptions("--size"));
        assertEquals("--size needs a value", badOptions("--size", "--n", "3"));
        assertEquals("--size needs a value", badOptions("--size="));
        assertEquals("--size needs a value", badOptions("--size", " "));
        assertEquals("unknown option '--bogus'", badOptions("--bogus", "1"));
        assertEquals("unknown option '--bogus'", badOptions("--bogus=1"));
        assertEquals("unknown option '-x'", badOptions("-x"));
        assertEquals("unexpected argument 'extra'", badOptions("--n", "1", "extra"));
        assertEquals("--n given twice", badOptions("--n", "1", "--n=2"));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            abc   | --n: not a whole number: 'abc'
            1.5   | --n: not a whole number: '1.5'
            -1    | --n must be between 0 and 10: '-1'
            11    | --n must be between 0 and 10: '11'
            99999999999 | --n: not a whole number: '99999999999'
            """)
    void badIntegers(String value, String message) {
        assertEquals(message, assertThrows(CommandLine.BadOptions.class,
                () -> parse("--n", value).integer("--n", 1, 0, 10)).getMessage());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            abc  | --size: not a size: 'abc' (bytes, with an optional k, m or g suffix: 256m)
            1.5g | --size: not a size: '1.5g' (bytes, with an optional k, m or g suffix: 256m)
            -1m  | --size: not a size: '-1m' (bytes, with an optional k, m or g suffix: 256m)
            512k | --size must be between 1 MiB and 1 GiB: '512k'
            2g   | --size must be between 1 MiB and 1 GiB: '2g'
            """)
    void badSizes(String value, String message) {
        assertEquals(message, assertThrows(CommandLine.BadOptions.class,
                () -> parse("--size", value).size("--size", 0, 1L << 20, 1L << 30)).getMessage());
    }

    @Test
    void sizesWithSuffixes() {
        assertEquals(64L << 20, parse("--size=64m").size("--size", 0, 0, Long.MAX_VALUE));
        assertEquals(3L << 30, parse("--size=3G").size("--size", 0, 0, Long.MAX_VALUE));
        assertEquals(4096, parse("--size=4096").size("--size", 0, 0, Long.MAX_VALUE));
        assertEquals("--size must be at least 1 MiB: '4k'", assertThrows(CommandLine.BadOptions.class,
                () -> parse("--size", "4k").size("--size", 0, 1L << 20, Long.MAX_VALUE)).getMessage());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            abc      | --n: not a number: 'abc'
            -1       | --n must be greater than 0 and at most 2.75: '-1'
            0        | --n must be greater than 0 and at most 2.75: '0'
            2.76     | --n must be greater than 0 and at most 2.75: '2.76'
            NaN      | --n must be greater than 0 and at most 2.75: 'NaN'
            Infinity | --n must be greater than 0 and at most 2.75: 'Infinity'
            """)
    void badDecimals(String value, String message) {
        assertEquals(message, assertThrows(CommandLine.BadOptions.class,
                () -> parse("--n", value).decimal("--n", 1, 0, 2.75)).getMessage());
    }

    @Test
    void seeds() {
        assertEquals(42, parse("--n", "42").seed("--n", 0));
        assertEquals(-1L, parse("--n", "0xffffffffffffffff").seed("--n", 0));
        assertEquals(5, parse().seed("--n", 5));
        assertEquals("--n: not a number: 'x1'", assertThrows(CommandLine.BadOptions.class,
                () -> parse("--n", "x1").seed("--n", 0)).getMessage());
    }

    // ---- execute: what every tool's main does ----------------------------------------------

    private final ByteArrayOutputStream outBytes = new ByteArrayOutputStream();
    private final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(outBytes, true, StandardCharsets.UTF_8);
    private final PrintStream err = new PrintStream(errBytes, true, StandardCharsets.UTF_8);
    private final AtomicInteger ran = new AtomicInteger();

    private int execute(String... args) {
        return CommandLine.execute("tool", "usage: tool [--n N]", args, out, err, NAMES,
                c -> c.integer("--n", 1, 0, 10), n -> {
                    ran.incrementAndGet();
                    return n;
                });
    }

    @Test
    void executeRunsTheToolWithItsSettings() {
        assertEquals(7, execute("--n", "7"));
        assertEquals(1, ran.get());
        assertEquals("", errBytes.toString(StandardCharsets.UTF_8));
    }

    @Test
    void executeHelpPrintsTheUsageOnStdoutAndRunsNothing() {
        assertEquals(0, execute("--help"));
        assertEquals("usage: tool [--n N]\n", outBytes.toString(StandardCharsets.UTF_8));
        assertEquals("", errBytes.toString(StandardCharsets.UTF_8));
        assertEquals(0, ran.get());
    }

    @Test
    void executeBadOptionsPrintMessageAndUsageOnStderrAndExit2() {
        assertEquals(2, execute("--n", "abc"));
        assertEquals("tool: --n: not a whole number: 'abc'\nusage: tool [--n N]\n",
                errBytes.toString(StandardCharsets.UTF_8));
        assertEquals("", outBytes.toString(StandardCharsets.UTF_8));
        assertEquals(0, ran.get());
        assertEquals(2, execute("--n"));
        assertEquals(2, execute("--m", "1"));
        assertEquals(0, ran.get());
    }
}
