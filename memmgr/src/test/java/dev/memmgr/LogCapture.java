package dev.memmgr;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;

/**
 * What the library logged during one test. The library logs through {@link System.Logger}
 * {@code "dev.memmgr"}, backed by java.util.logging: {@link #install()} puts one handler on that
 * JUL logger, with the parent handlers off, that hands every record to the capture of the running
 * test ({@link MemmgrExtension} starts and ends one per test), so a passing test prints nothing.
 * Records logged while no test captures (a class without the extension) go to the root logger's
 * handlers, as before, so they stay visible.
 *
 * <p>A test states the WARNINGs it expects with {@link #expect}; every WARNING (or worse) that no
 * expectation claimed fails the test when it ends ({@link #unexpected()}). Thread-safe: the
 * library logs from reclaim, worker and background threads.
 */
// Public for the tests of the internal packages; patched into the exported package dev.memmgr
// with the tests, so javac sees JUnit and java.logging types in an "exported" signature: not API.
@SuppressWarnings("exports")
public final class LogCapture {
    /** The library's logger name. */
    public static final String LOGGER = "dev.memmgr";
    /** Held strongly: JUL keeps loggers weakly, and would drop the handler with the logger. */
    private static final Logger JUL = Logger.getLogger(LOGGER);
    private static final SimpleFormatter FORMAT = new SimpleFormatter();
    /** Frames shown of an exception a record carries: where the library caught it. */
    private static final int STACK_FRAMES = 12;
    private static volatile LogCapture current;
    private static boolean installed;

    private final List<LogRecord> records = new ArrayList<>();
    private final List<LogRecord> claimed = new ArrayList<>();
    /** Expectations that claim matching records whenever they come ({@link #allow}). */
    private final List<Predicate<LogRecord>> allowed = new ArrayList<>();

    LogCapture() {
    }

    /** Routes the library's logger to the running test's capture; idempotent. */
    static synchronized void install() {
        if (installed) {
            return;
        }
        JUL.addHandler(new Handler() {
            @Override
            public void publish(LogRecord r) {
                LogCapture c = current;
                if (c != null) {
                    c.add(r);
                    return;
                }
                for (Handler h : Logger.getLogger("").getHandlers()) {
                    h.publish(r);
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        });
        JUL.setUseParentHandlers(false);
        installed = true;
    }

    /** The capture this one replaced while it runs (a fixture made inside a test: its own tests). */
    private LogCapture previous;

    /** Makes this the capture that receives the library's records (one test at a time). */
    synchronized void start() {
        install();
        previous = current;
        current = this;
    }

    /** Stops receiving records; the capture it replaced receives them again. */
    synchronized void stop() {
        if (current == this) {
            current = previous;
        }
    }

    private synchronized void add(LogRecord r) {
        records.add(r);
    }

    /** @return the text of a record, its parameters filled in */
    public static String text(LogRecord r) {
        return FORMAT.formatMessage(r);
    }

    /** @return every record captured so far, in order */
    public synchronized List<LogRecord> records() {
        return List.copyOf(records);
    }

    /** @return the records at WARNING or above that contain {@code fragment} */
    public synchronized List<LogRecord> warnings(String fragment) {
        List<LogRecord> out = new ArrayList<>();
        for (LogRecord r : records) {
            if (isWarning(r) && text(r).contains(fragment)) {
                out.add(r);
            }
        }
        return out;
    }

    /**
     * Asserts that exactly {@code count} WARNINGs not yet claimed match {@code match} and claims
     * them: they then do not fail the test.
     *
     * @return the matching records, in order
     */
    public synchronized List<LogRecord> expect(int count, String what, Predicate<LogRecord> match) {
        List<LogRecord> found = new ArrayList<>();
        for (LogRecord r : records) {
            if (isWarning(r) && !claimed.contains(r) && match.test(r)) {
                found.add(r);
            }
        }
        if (found.size() != count) {
            fail("expected " + count + " WARNING(s) " + what + " but " + found.size() + " were logged; captured:"
                    + describe(records));
        }
        claimed.addAll(found);
        return found;
    }

    /** As {@link #expect(int, String, Predicate)} for one WARNING whose text contains every fragment. */
    public LogRecord expectWarning(String... fragments) {
        return expect(1, "containing " + List.of(fragments), r -> containsAll(text(r), fragments)).get(0);
    }

    /**
     * Asserts that at least one WARNING not yet claimed contains every fragment and claims all
     * that do: for a failure the library may report once per attempt, a number of attempts the
     * contract leaves open.
     *
     * @return the matching records, in order
     */
    public synchronized List<LogRecord> expectWarnings(String... fragments) {
        List<LogRecord> found = new ArrayList<>();
        for (LogRecord r : records) {
            if (isWarning(r) && !claimed.contains(r) && containsAll(text(r), fragments)) {
                found.add(r);
            }
        }
        if (found.isEmpty()) {
            fail("expected WARNINGs containing " + List.of(fragments) + " but none was logged; captured:" + describe(records));
        }
        claimed.addAll(found);
        return found;
    }

    /**
     * Claims, now and until the test ends, every WARNING that matches: for warnings a test
     * provokes a number of times that depends on scheduling (concurrency tests).
     */
    public synchronized void allow(Predicate<LogRecord> match) {
        allowed.add(match);
    }

    /** Asserts that no WARNING was logged so far (claimed or not). */
    public synchronized void assertNoWarnings(String when) {
        List<LogRecord> w = records.stream().filter(LogCapture::isWarning).toList();
        assertEquals(List.of(), w.stream().map(LogCapture::text).toList(), "WARNINGs logged " + when);
    }

    /** @return WARNINGs (or worse) that no expectation claimed */
    synchronized List<LogRecord> unexpected() {
        List<LogRecord> out = new ArrayList<>();
        for (LogRecord r : records) {
            if (isWarning(r) && !claimed.contains(r) && allowed.stream().noneMatch(p -> p.test(r))) {
                out.add(r);
            }
        }
        return out;
    }

    /** Drops every record captured so far (a model test starting a new try). */
    public synchronized void clear() {
        records.clear();
        claimed.clear();
    }

    static boolean isWarning(LogRecord r) {
        return r.getLevel().intValue() >= Level.WARNING.intValue();
    }

    private static boolean containsAll(String text, String... fragments) {
        for (String f : fragments) {
            if (!text.contains(f)) {
                return false;
            }
        }
        return true;
    }

    /** @return the records, one per line with level, thread and text, and the stack of what they carry */
    static String describe(List<LogRecord> rs) {
        if (rs.isEmpty()) {
            return " (nothing)";
        }
        StringBuilder b = new StringBuilder();
        for (LogRecord r : rs) {
            b.append("\n  ").append(r.getLevel()).append(" [").append(r.getLongThreadID()).append("] ")
                    .append(r.getSourceClassName()).append('.').append(r.getSourceMethodName()).append(": ")
                    .append(text(r));
            for (Throwable t = r.getThrown(); t != null; t = t.getCause()) {
                b.append(t == r.getThrown() ? "\n    " : "\n    caused by ").append(t);
                StackTraceElement[] st = t.getStackTrace();
                for (int i = 0; i < Math.min(STACK_FRAMES, st.length); i++) {
                    b.append("\n        at ").append(st[i]);
                }
                if (st.length > STACK_FRAMES) {
                    b.append("\n        ... ").append(st.length - STACK_FRAMES).append(" more");
                }
            }
        }
        return b.toString();
    }
}
