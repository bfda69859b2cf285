package dev.memmgr.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.util.List;
import org.openjdk.jmh.Main;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;

/**
 * {@code bin/memmgr bench}: JMH's own command line ({@code java -jar bench/target/benchmarks.jar})
 * with the conventions of the other commands: {@code --help} or {@code -h} prints this command's
 * usage and then JMH's options, exit 0; a command line JMH cannot parse gives its message and the
 * usage on stderr and exit 2 (JMH alone exits 1). Anything else goes to JMH unchanged.
 */
public final class Bench {
    static final String USAGE = """
            usage: bin/memmgr bench [JMH options] [benchmark regexp ...]
              runs the JMH benchmarks of bench/, as java -jar bench/target/benchmarks.jar does;
              e.g. bin/memmgr bench PagesBench -prof gc; bin/memmgr bench -l lists them
              --help, -h   this text and JMH's options
            Exit status: 0 done, 1 a benchmark failed, 2 bad options.""";

    private Bench() {
    }

    public static void main(String[] args) throws IOException {
        int status = check(args, System.out, System.err);
        if (status >= 0) {
            System.exit(status);
        }
        Main.main(args);
    }

    /**
     * Handles help and bad options before JMH runs.
     *
     * @return the exit status (0 after help, 2 for a bad command line), or -1 to hand over to JMH
     */
    static int check(String[] args, PrintStream out, PrintStream err) throws IOException {
        try {
            if (List.of(args).contains("--help") || List.of(args).contains("-h")) {
                out.println(USAGE);
                out.println();
                out.println("JMH options:");
                out.flush();
                new CommandLineOptions("-h").showHelp(); // prints on System.out
                return 0;
            }
            new CommandLineOptions(args);
        } catch (CommandLineOptionException e) {
            err.println("bench: " + e.getMessage());
            err.println(USAGE);
            return CommandLine.BAD_OPTIONS;
        }
        return -1;
    }
}
