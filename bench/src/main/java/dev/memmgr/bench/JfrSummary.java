package dev.memmgr.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;

/**
 * {@code bin/memmgr jfr FILE}: a summary of the memmgr events of a JFR recording (made with
 * {@code -XX:StartFlightRecording} or {@code jcmd PID JFR.start}), per manager: reclaim runs by
 * kind (direct, background, requested) with the bytes asked and freed, the objects purged, evicted
 * and skipped, and p50/p99 durations; evictions, swap-ins and purges with counts, bytes and p50/p99
 * durations; out-of-memory failures; cold vmaps; the objects moved most; and job timeouts per
 * scheduler.
 */
public final class JfrSummary {
    static final String USAGE = """
            usage: bin/memmgr jfr FILE
              Summarizes the memmgr events (category "memmgr") of a JFR recording, per manager:
              reclaim runs (direct, background, requested), evictions, swap-ins, purges, out of
              memory, cold vmaps, the objects moved most, and job timeouts per scheduler.
              Record with: java -XX:StartFlightRecording=filename=app.jfr ... (or jcmd PID JFR.start)
              --help   this text
            Exit status: 0; 1 the file cannot be read as a recording; 2 bad options.""";
    private static final String PREFIX = "dev.memmgr.";
    private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss", Locale.ROOT);

    private JfrSummary() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** @return the exit status */
    static int run(String[] args, PrintStream out, PrintStream err) {
        if (Arrays.asList(args).contains("--help") || Arrays.asList(args).contains("-h")) {
            out.println(USAGE);
            return 0;
        }
        String bad = args.length == 0 ? "a recording FILE is needed"
                : args.length > 1 ? "one FILE only: '" + args[1] + "'"
                : args[0].startsWith("-") ? "unknown option '" + args[0] + "'" : null;
        if (bad != null) {
            err.println("jfr: " + bad);
            err.println(USAGE);
            return CommandLine.BAD_OPTIONS;
        }
        Path file = Path.of(args[0]);
        if (!Files.isRegularFile(file)) {
            err.println("jfr: no such file: " + file);
            return 1;
        }
        List<RecordedEvent> events = new ArrayList<>();
        try {
            for (RecordedEvent e : RecordingFile.readAllEvents(file)) {
                if (e.getEventType().getName().startsWith(PREFIX)) {
                    events.add(e);
                }
            }
        } catch (IOException | RuntimeException e) {
            err.println("jfr: cannot read " + file + " as a JFR recording: " + e.getMessage());
            return 1;
        }
        out.print(summary(file, events));
        return 0;
    }

    /** The figures of one kind of event: how many, their bytes, their durations. */
    static final class Tally {
        long count;
        long bytes;
        final List<Long> nanos = new ArrayList<>();

        void add(RecordedEvent e, long b) {
            count++;
            bytes += b;
            nanos.add(e.getDuration().toNanos());
        }

        String durations() {
            if (nanos.isEmpty()) {
                return "";
            }
            long[] d = nanos.stream().mapToLong(Long::longValue).sorted().toArray();
            return "p50 " + LatencyHistogram.duration(percentile(d, 50)) + ", p99 " + LatencyHistogram.duration(percentile(d, 99));
        }
    }

    /** The nearest-rank percentile of sorted values. */
    static long percentile(long[] sorted, int p) {
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length, rank) - 1)];
    }

    /** The reclaim runs of one kind. */
    static final class Runs {
        final Tally tally = new Tally();
        long requested;
        long purged;
        long evicted;
        long skipped;
    }

    /** What a manager did. */
    static final class Manager {
        final Map<String, Runs> reclaim = new TreeMap<>();
        final Tally evictions = new Tally();
        final Tally swapIns = new Tally();
        final Tally purges = new Tally();
        final List<String> outOfMemory = new ArrayList<>();
        long vmaps;
        long compacted;
        long mmapCalls;
        long vmapBytes;
        /** Per object (client, handle, label): evictions and swap-ins. */
        final Map<String, long[]> moved = new LinkedHashMap<>();
    }

    static String summary(Path file, List<RecordedEvent> events) {
        Map<String, Manager> managers = new TreeMap<>();
        Map<String, Long> timeouts = new TreeMap<>();
        Instant first = null;
        Instant last = null;
        for (RecordedEvent e : events) {
            first = first == null || e.getStartTime().isBefore(first) ? e.getStartTime() : first;
            last = last == null || e.getEndTime().isAfter(last) ? e.getEndTime() : last;
            String type = e.getEventType().getName().substring(PREFIX.length());
            if (type.equals("JobTimeout")) {
                timeouts.merge(e.getString("scheduler"), 1L, Long::sum);
                continue;
            }
            Manager m = managers.computeIfAbsent(String.valueOf(e.getString("manager")), k -> new Manager());
            switch (type) {
                case "Reclaim" -> {
                    Runs r = m.reclaim.computeIfAbsent(e.getString("kind"), k -> new Runs());
                    r.tally.add(e, e.getLong("freed"));
                    r.requested = saturatedAdd(r.requested, e.getLong("requested"));
                    r.purged += e.getInt("purged");
                    r.evicted += e.getInt("evicted");
                    r.skipped += e.getInt("skipped");
                }
                case "Evict" -> {
                    m.evictions.add(e, e.getLong("bytes"));
                    m.moved.computeIfAbsent(object(e), k -> new long[2])[0]++;
                }
                case "SwapIn" -> {
                    m.swapIns.add(e, e.getLong("bytes"));
                    m.moved.computeIfAbsent(object(e), k -> new long[2])[1]++;
                }
                case "Purge" -> m.purges.add(e, e.getLong("bytes"));
                case "OutOfMemory" -> m.outOfMemory.add(e.getString("message"));
                case "VmapMap" -> {
                    m.vmaps++;
                    m.compacted += e.getBoolean("compacted") ? 1 : 0;
                    m.mmapCalls += e.getInt("mmapCalls");
                    m.vmapBytes += e.getLong("bytes");
                }
                default -> {
                    // an event of a later version: not summarized
                }
            }
        }
        StringBuilder b = new StringBuilder();
        b.append("memmgr events in ").append(file);
        if (first == null) {
            b.append(": none (was the recording made with the memmgr events enabled, while a manager worked?)\n");
            return b.toString();
        }
        b.append(String.format(Locale.ROOT, " (%d events, %s to %s, %.1f s)%n", events.size(), clock(first), clock(last),
                Duration.between(first, last).toMillis() / 1e3));
        managers.forEach((name, m) -> manager(b, name, m));
        timeouts.forEach((s, n) -> b.append(String.format(Locale.ROOT, "%nscheduler '%s': %d job timeout%s%n", s, n,
                n == 1 ? "" : "s")));
        return b.toString();
    }

    private static void manager(StringBuilder b, String name, Manager m) {
        b.append(String.format(Locale.ROOT, "%nmanager '%s'%n", name));
        if (!m.reclaim.isEmpty()) {
            b.append(String.format(Locale.ROOT, "  %-12s %6s %11s %11s %7s %8s %8s  %s%n", "reclaim", "runs", "requested",
                    "freed", "purged", "evicted", "skipped", "duration"));
            m.reclaim.forEach((kind, r) -> b.append(String.format(Locale.ROOT, "  %-12s %6d %11s %11s %7d %8d %8d  %s%n",
                    kind, r.tally.count, r.requested == Long.MAX_VALUE ? "all" : Sizes.format(r.requested),
                    Sizes.format(r.tally.bytes), r.purged, r.evicted, r.skipped, r.tally.durations())));
        }
        tally(b, "evictions", m.evictions, true);
        tally(b, "swap-ins", m.swapIns, true);
        tally(b, "purges", m.purges, false);
        if (m.vmaps > 0) {
            b.append(String.format(Locale.ROOT, "  cold vmaps   %d (%s), %d compacted first, %d mmap calls%n", m.vmaps,
                    Sizes.format(m.vmapBytes), m.compacted, m.mmapCalls));
        }
        if (!m.outOfMemory.isEmpty()) {
            b.append(String.format(Locale.ROOT, "  out of memory %d time%s; the last: %s%n", m.outOfMemory.size(),
                    m.outOfMemory.size() == 1 ? "" : "s", m.outOfMemory.getLast()));
        }
        List<Map.Entry<String, long[]>> moved = new ArrayList<>(m.moved.entrySet());
        moved.sort(Comparator.comparingLong((Map.Entry<String, long[]> e) -> -(e.getValue()[0] + e.getValue()[1])));
        if (!moved.isEmpty()) {
            b.append("  moved most:\n");
            for (Map.Entry<String, long[]> e : moved.subList(0, Math.min(5, moved.size()))) {
                b.append(String.format(Locale.ROOT, "    %s: %d eviction%s, %d swap-in%s%n", e.getKey(), e.getValue()[0],
                        e.getValue()[0] == 1 ? "" : "s", e.getValue()[1], e.getValue()[1] == 1 ? "" : "s"));
            }
        }
    }

    private static void tally(StringBuilder b, String what, Tally t, boolean timed) {
        if (t.count == 0) {
            return;
        }
        b.append(String.format(Locale.ROOT, "  %-12s %d object%s, %s%s%n", what, t.count, t.count == 1 ? "" : "s",
                Sizes.format(t.bytes), timed ? ", " + t.durations() : ""));
    }

    private static String object(RecordedEvent e) {
        String label = e.getString("label");
        return "buffer object " + e.getInt("handle") + " of client '" + e.getString("client") + "'"
                + (label == null || label.isEmpty() ? "" : " '" + label + "'");
    }

    private static long saturatedAdd(long a, long b) {
        long s = a + b;
        return ((a ^ s) & (b ^ s)) < 0 ? Long.MAX_VALUE : s;
    }

    private static String clock(Instant t) {
        return t.atZone(ZoneId.systemDefault()).toLocalTime().format(CLOCK);
    }
}
