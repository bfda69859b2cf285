package dev.memmgr.bench;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import java.util.function.ToIntFunction;

/**
 * The command lines of the tools that {@code bin/memmgr} runs (demo, stress, soak, quick), parsed
 * one way: options {@code --name VALUE} or {@code --name=VALUE}, each at most once, and {@code
 * --help} (or {@code -h}) anywhere. {@link #execute} is every tool's front door: {@code --help}
 * prints the tool's usage on stdout and returns 0; a bad command line (unknown option, missing
 * or malformed value, value out of range, stray argument) prints {@code "<command>: <what is
 * wrong>"} and the usage on stderr and returns {@link #BAD_OPTIONS}, before the tool does anything.
 */
final class CommandLine {
    /** Exit status of every tool for a bad command line. */
    static final int BAD_OPTIONS = 2;

    /** A bad command line; the message says what is wrong, in the user's terms. */
    static final class BadOptions extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        BadOptions(String message) {
            super(message);
        }
    }

    private final Map<String, String> values;
    private final boolean help;

    private CommandLine(Map<String, String> values, boolean help) {
        this.values = values;
        this.help = help;
    }

    /**
     * Parses a tool's arguments, parses its options from them and runs it.
     *
     * @param command the name users type, e.g. "demo" (starts error messages)
     * @param usage the tool's usage text
     * @param names the tool's options, each of which takes a value
     * @param options builds the tool's settings; throws {@link BadOptions} on bad values
     * @param tool runs the tool; returns its exit status
     * @return the exit status: the tool's, 0 after --help, {@link #BAD_OPTIONS} for a bad command line
     */
    static <T> int execute(String command, String usage, String[] args, PrintStream out, PrintStream err,
                           List<String> names, Function<CommandLine, T> options, ToIntFunction<T> tool) {
        T settings;
        try {
            CommandLine line = parse(args, names);
            if (line.help()) {
                out.println(usage);
                return 0;
            }
            settings = options.apply(line);
        } catch (BadOptions e) {
            err.println(command + ": " + e.getMessage());
            err.println(usage);
            return BAD_OPTIONS;
        }
        return tool.applyAsInt(settings);
    }

    /**
     * @param names the options known, each of which takes a value
     * @throws BadOptions on an unknown option, a missing value, an option given twice, or an
     *     argument that is not an option
     */
    static CommandLine parse(String[] args, List<String> names) {
        for (String a : args) {
            if (a.equals("--help") || a.equals("-h")) {
                return new CommandLine(Map.of(), true);
            }
        }
        Map<String, String> values = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            int eq = a.indexOf('=');
            String name = a.startsWith("--") && eq > 0 ? a.substring(0, eq) : a;
            if (!name.startsWith("-")) {
                throw new BadOptions("unexpected argument '" + a + "'");
            }
            if (!names.contains(name)) {
                throw new BadOptions("unknown option '" + name + "'");
            }
            String value;
            if (eq > 0 && a.startsWith("--")) {
                value = a.substring(eq + 1);
            } else if (i + 1 < args.length && !args[i + 1].startsWith("--")) {
                value = args[++i];
            } else {
                value = "";
            }
            if (value.isBlank()) {
                throw new BadOptions(name + " needs a value");
            }
            if (values.putIfAbsent(name, value) != null) {
                throw new BadOptions(name + " given twice");
            }
        }
        return new CommandLine(values, false);
    }

    boolean help() {
        return help;
    }

    /** @return the value given for the option, or null */
    String value(String name) {
        return values.get(name);
    }

    /**
     * @return the size given for the option (bytes, with an optional k, m, g, t suffix), or
     *     {@code absent}
     * @throws BadOptions if it is not a size or not within [min, max]
     */
    long size(String name, long absent, long min, long max) {
        String v = values.get(name);
        if (v == null) {
            return absent;
        }
        long bytes;
        try {
            bytes = Sizes.parse(v);
        } catch (IllegalArgumentException e) {
            throw new BadOptions(name + ": not a size: '" + v + "' (bytes, with an optional k, m or g suffix: 256m)");
        }
        if (bytes < min || bytes > max) {
            throw new BadOptions(name + " must be " + range(Sizes.format(min), Sizes.format(max), max == Long.MAX_VALUE)
                    + ": '" + v + "'");
        }
        return bytes;
    }

    /**
     * @return the whole number given for the option, or {@code absent}
     * @throws BadOptions if it is not a whole number or not within [min, max]
     */
    int integer(String name, int absent, int min, int max) {
        String v = values.get(name);
        if (v == null) {
            return absent;
        }
        int n;
        try {
            n = Integer.parseInt(v.strip());
        } catch (NumberFormatException e) {
            throw new BadOptions(name + ": not a whole number: '" + v + "'");
        }
        if (n < min || n > max) {
            throw new BadOptions(name + " must be " + range(Integer.toString(min), Integer.toString(max),
                    max == Integer.MAX_VALUE) + ": '" + v + "'");
        }
        return n;
    }

    /**
     * @return the number given for the option, or {@code absent}
     * @throws BadOptions if it is not a finite number, or not greater than {@code above} and at
     *     most {@code max}
     */
    double decimal(String name, double absent, double above, double max) {
        String v = values.get(name);
        if (v == null) {
            return absent;
        }
        double d;
        try {
            d = Double.parseDouble(v.strip());
        } catch (NumberFormatException e) {
            throw new BadOptions(name + ": not a number: '" + v + "'");
        }
        if (!Double.isFinite(d) || d <= above || d > max) {
            throw new BadOptions(String.format(Locale.ROOT, "%s must be greater than %s and at most %s: '%s'", name,
                    plain(above), plain(max), v));
        }
        return d;
    }

    /**
     * @return the 64-bit number given for the option (decimal, or hexadecimal after 0x), or
     *     {@code absent}
     * @throws BadOptions if it is neither
     */
    long seed(String name, long absent) {
        String v = values.get(name);
        if (v == null) {
            return absent;
        }
        try {
            String t = v.strip();
            return t.startsWith("0x") ? Long.parseUnsignedLong(t.substring(2), 16) : Long.parseLong(t);
        } catch (NumberFormatException e) {
            throw new BadOptions(name + ": not a number: '" + v + "'");
        }
    }

    private static String range(String min, String max, boolean unbounded) {
        return unbounded ? "at least " + min : "between " + min + " and " + max;
    }

    private static String plain(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }
}
