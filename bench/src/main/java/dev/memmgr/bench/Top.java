package dev.memmgr.bench;

import dev.memmgr.internal.obs.Counters;
import dev.memmgr.internal.obs.Counters.Figure;
import dev.memmgr.internal.obs.CountersView;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * {@code bin/memmgr top}: a live view, from outside, of the processes whose managers publish their
 * figures ({@code MemoryManager.Builder.publishCounters(true)}), like nvtop over fdinfo. It maps each
 * process's counters file read-only (the layout of {@code dev.memmgr.internal.obs.Counters}, Agrona's
 * counters) and shows per manager and per client: resident, evicted, purgeable, busy, pinned and
 * swap use, and evictions and swap-ins per second over the last refresh. It needs nothing from the
 * processes it watches (no attach, no JMX): a JVM it did not start works the same.
 */
public final class Top {
    static final String USAGE = """
            usage: bin/memmgr top [--once] [--dir DIR] [PID]
              Shows the memory managers of every running process that publishes memmgr counters
              (MemoryManager.Builder.publishCounters(true)), or of process PID only: per manager
              and per client, resident, evicted, purgeable, busy, pinned and swap use, and
              evictions and swap-ins per second. Refreshes every second until interrupted (Ctrl-C).
              --once      print one screen, one second after starting (rates need two looks), and exit
              --dir DIR   where the counters files are (default: the property memmgr.counters.dir,
                          else <java.io.tmpdir>/memmgr-counters-<user>)
              --help      this text
            Exit status: 0; 1 when PID publishes no counters; 2 bad options.""";
    private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss", Locale.ROOT);
    private static final long REFRESH_MILLIS = 1000;

    /**
     * The command line of top.
     *
     * @param pid the process to show, or -1 for all
     */
    record Options(boolean once, Path dir, long pid) {
        /** @throws CommandLine.BadOptions on an unknown option, a missing value, a bad or second PID */
        static Options parse(String[] args) {
            boolean once = false;
            Path dir = null;
            long pid = -1;
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                if (a.equals("--once")) {
                    if (once) {
                        throw new CommandLine.BadOptions("--once given twice");
                    }
                    once = true;
                } else if (a.equals("--dir") || a.startsWith("--dir=")) {
                    String v = a.startsWith("--dir=") ? a.substring(6) : i + 1 < args.length ? args[++i] : "";
                    if (v.isBlank() || v.startsWith("--")) {
                        throw new CommandLine.BadOptions("--dir needs a value");
                    }
                    if (dir != null) {
                        throw new CommandLine.BadOptions("--dir given twice");
                    }
                    dir = Path.of(v);
                } else if (a.startsWith("-")) {
                    throw new CommandLine.BadOptions("unknown option '" + a + "'");
                } else {
                    if (pid != -1) {
                        throw new CommandLine.BadOptions("more than one PID: '" + a + "'");
                    }
                    try {
                        pid = Long.parseLong(a);
                    } catch (NumberFormatException e) {
                        throw new CommandLine.BadOptions("not a process id: '" + a + "'");
                    }
                    if (pid <= 0) {
                        throw new CommandLine.BadOptions("not a process id: '" + a + "'");
                    }
                }
            }
            return new Options(once, dir == null ? Counters.directory() : dir, pid);
        }
    }

    private Top() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** @return the exit status */
    static int run(String[] args, PrintStream out, PrintStream err) {
        for (String a : args) {
            if (a.equals("--help") || a.equals("-h")) {
                out.println(USAGE);
                return 0;
            }
        }
        Options o;
        try {
            o = Options.parse(args);
        } catch (CommandLine.BadOptions e) {
            err.println("top: " + e.getMessage());
            err.println(USAGE);
            return CommandLine.BAD_OPTIONS;
        }
        java.io.Console console = System.console();
        boolean terminal = console != null && console.isTerminal() && out == System.out; // clear screens on a terminal only
        Map<Long, Sample> before = sample(o);
        if (o.pid() > 0 && before.isEmpty()) {
            err.println("top: process " + o.pid() + " publishes no memmgr counters (looked in " + o.dir() + ")");
            return 1;
        }
        long t0 = System.nanoTime();
        while (true) {
            try {
                Thread.sleep(REFRESH_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return 0;
            }
            Map<Long, Sample> now = sample(o);
            long t1 = System.nanoTime();
            if (terminal && !o.once()) {
                out.print("\033[H\033[2J"); // home, clear: a screen, not a scroll
            }
            out.print(screen(o, before, now, (t1 - t0) / 1e9));
            out.flush();
            if (o.once()) {
                return o.pid() > 0 && now.isEmpty() ? 1 : 0;
            }
            before = now;
            t0 = t1;
        }
    }

    /** One process's figures at one moment: per group (manager or client), per figure. */
    record Sample(long pid, long start, long updated, Map<Counters.Key, Map<Figure, Long>> groups) {
    }

    /** @return the samples of the processes shown, by pid (dead or closed publishers left out) */
    static Map<Long, Sample> sample(Options o) {
        Map<Long, Sample> out = new TreeMap<>();
        List<Path> files = new ArrayList<>();
        if (o.pid() > 0) {
            files.add(Counters.file(o.dir(), o.pid()));
        } else if (Files.isDirectory(o.dir())) {
            try (Stream<Path> s = Files.list(o.dir())) {
                s.filter(p -> p.getFileName().toString().matches("[0-9]+\\.dat")).sorted().forEach(files::add);
            } catch (IOException e) {
                return out; // unreadable now: an empty screen, and another look next time
            }
        }
        for (Path f : files) {
            Sample s = read(f);
            if (s != null) {
                out.put(s.pid(), s);
            }
        }
        return out;
    }

    private static Sample read(Path file) {
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try (CountersView v = CountersView.open(file)) {
            long pid = v.pid();
            if (v.isClosed() || !ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
                return null; // closed, or left by a process that died
            }
            Map<Counters.Key, Map<Figure, Long>> groups = new LinkedHashMap<>();
            for (CountersView.Counter c : v.counters()) {
                if (c.figure() != null) {
                    groups.computeIfAbsent(c.key(), k -> new LinkedHashMap<>()).put(c.figure(), c.value());
                }
            }
            return new Sample(pid, v.startMillis(), v.updatedMillis(), groups);
        } catch (IOException | RuntimeException e) {
            return null; // not (yet, or any more) a counters file we can read
        }
    }

    private static final String ROW = "  %-30s %10s %10s %10s %10s %10s %10s %9s %9s%n";

    /** @return the screen: a header, then per process its managers, each followed by its clients */
    static String screen(Options o, Map<Long, Sample> before, Map<Long, Sample> now, double seconds) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "memmgr top  %s  %d process%s publishing%s%n",
                LocalTime.now().format(CLOCK), now.size(), now.size() == 1 ? "" : "es",
                o.once() ? "" : "  (every 1 s; Ctrl-C quits)"));
        if (now.isEmpty()) {
            b.append(o.pid() > 0 ? "process " + o.pid() + " publishes no memmgr counters (any more)\n"
                    : "no process publishes memmgr counters in " + o.dir() + "\n");
            return b.toString();
        }
        long wall = System.currentTimeMillis();
        for (Sample s : now.values()) {
            b.append(String.format(Locale.ROOT, "%nprocess %d, publishing since %s, updated %.1f s ago%n", s.pid(),
                    Instant.ofEpochMilli(s.start()).atZone(ZoneId.systemDefault()).toLocalTime().format(CLOCK),
                    Math.max(0, wall - s.updated()) / 1e3));
            b.append(String.format(Locale.ROOT, ROW, "MANAGER / CLIENT", "RESIDENT", "EVICTED", "PURGEABLE", "BUSY",
                    "PINNED", "SWAP USE", "EVICT/s", "SWAPIN/s"));
            Sample prev = before.get(s.pid());
            List<Counters.Key> managers = s.groups().keySet().stream().filter(k -> k.scope() == Counters.SCOPE_MANAGER)
                    .sorted(Comparator.comparingInt(Counters.Key::manager)).toList();
            for (Counters.Key m : managers) {
                row(b, "manager '" + m.managerName() + "'", s.groups().get(m), prev == null ? null : prev.groups().get(m), seconds);
                Map<Figure, Long> f = s.groups().get(m);
                b.append(String.format(Locale.ROOT, "    capacity %s, free %s, peak resident %s, swap %s of %s;"
                        + " so far evictions %d, swap-ins %d, purges %d%n", Sizes.format(get(f, Figure.CAPACITY)),
                        Sizes.format(get(f, Figure.FREE)), Sizes.format(get(f, Figure.PEAK_RESIDENT)),
                        Sizes.format(get(f, Figure.SWAP_USED)), Sizes.format(get(f, Figure.SWAP_CAPACITY)),
                        get(f, Figure.EVICTIONS), get(f, Figure.SWAP_INS), get(f, Figure.PURGES)));
                s.groups().keySet().stream()
                        .filter(k -> k.scope() == Counters.SCOPE_CLIENT && k.manager() == m.manager())
                        .sorted(Comparator.comparingInt(Counters.Key::client))
                        .forEach(c -> row(b, "  client '" + c.clientName() + "' (" + c.client() + ")", s.groups().get(c),
                                prev == null ? null : prev.groups().get(c), seconds));
            }
        }
        return b.toString();
    }

    private static void row(StringBuilder b, String name, Map<Figure, Long> now, Map<Figure, Long> prev, double seconds) {
        b.append(String.format(Locale.ROOT, ROW, name.length() > 30 ? name.substring(0, 29) + "~" : name,
                Sizes.format(get(now, Figure.RESIDENT)), Sizes.format(get(now, Figure.EVICTED)),
                Sizes.format(get(now, Figure.PURGEABLE)), Sizes.format(get(now, Figure.BUSY)),
                Sizes.format(get(now, Figure.PINNED)), Sizes.format(get(now, Figure.SWAP_USED)),
                rate(now, prev, Figure.EVICTIONS, seconds), rate(now, prev, Figure.SWAP_INS, seconds)));
    }

    private static long get(Map<Figure, Long> f, Figure which) {
        Long v = f.get(which);
        return v == null ? 0 : v;
    }

    /** @return the growth of a total per second since the last look; "-" on the first look at a group */
    private static String rate(Map<Figure, Long> now, Map<Figure, Long> prev, Figure total, double seconds) {
        if (prev == null || seconds <= 0) {
            return "-";
        }
        return String.format(Locale.ROOT, "%.1f", Math.max(0, get(now, total) - get(prev, total)) / seconds);
    }
}
