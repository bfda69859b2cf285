package dev.memmgr.internal.obs;

import java.security.CodeSource;
import java.util.Objects;

/**
 * Where a buffer object was created and where its pins, vmaps and page uses were taken, kept
 * while leak detection is on ({@code MemoryManager.Builder.leakDetection(true)}); objects of a
 * manager without it have none and record nothing.
 *
 * <p>A {@link Site} is a stack captured at the caller of the library: the frames of the
 * library's own classes on top are dropped (they are the same for every site), so the first
 * frame is the user's line that created, pinned, mapped or used the object. Capturing costs a
 * stack walk, which is why detection is off by default. The first pin (vmap, page use) is the
 * one that took the count from zero (or the first the user took, when the library took the count
 * from zero for another: the page use all pins hold); the last is the most recent. Races between
 * threads taking pins at once may record any of them: these are hints for a human, not state.
 *
 * <p>Thread-safe: sites are published through volatile fields.
 */
public final class LeakSites {
    /** Which count a site took. */
    public enum Use {
        PIN("pin"), VMAP("vmap"), PAGE_USE("page use");

        private final String text;

        Use(String text) {
            this.text = text;
        }
    }

    private final Site created = new Site("created here");
    private final Site[] first = new Site[Use.values().length];
    private final Site[] last = new Site[Use.values().length];

    /** @return where the object was created */
    public Site created() {
        return created;
    }

    /**
     * Records the caller as a site of {@code use}.
     *
     * @param wasFirst whether the count was zero before (the slow path took it)
     */
    public void took(Use use, boolean wasFirst) {
        Site s = new Site(use.text + " taken here");
        synchronized (this) { // a leaf monitor; keeps first and last of one use consistent
            if (wasFirst || first[use.ordinal()] == null) {
                first[use.ordinal()] = s;
            }
            last[use.ordinal()] = s;
        }
    }

    /**
     * The sites of counts still outstanding at free, as one throwable for a log record: its own
     * stack is the creation site, and each site of an outstanding count is a suppressed one.
     *
     * @return a report with the creation site and the sites of the leaked counts
     */
    public synchronized Site leakedUses(int pins, int vmaps, int uses) {
        Site report = new Site("created here; the sites of the leaked counts follow", created.getStackTrace());
        add(report, Use.PIN, pins);
        add(report, Use.VMAP, vmaps);
        add(report, Use.PAGE_USE, uses);
        return report;
    }

    private void add(Site report, Use use, int outstanding) {
        if (outstanding <= 0) {
            return;
        }
        Site f = first[use.ordinal()];
        Site l = last[use.ordinal()];
        if (f == null) {
            return; // taken by the library for another count (the use all pins hold, the pin of vmaps)
        }
        if (l == f) {
            report.addSuppressed(new Site(use.text + " taken here", f.getStackTrace()));
        } else {
            report.addSuppressed(new Site("first " + use.text + " taken here", f.getStackTrace()));
            report.addSuppressed(new Site("last " + use.text + " taken here", l.getStackTrace()));
        }
    }

    /**
     * A captured call site. Never thrown: it only carries a stack for a log record (a Throwable, so
     * that every logging backend prints it). Its stack starts at the user's code.
     */
    public static final class Site extends Throwable {
        private static final long serialVersionUID = 1L;
        private static final StackWalker WALKER = StackWalker.getInstance(StackWalker.Option.RETAIN_CLASS_REFERENCE);
        private static final int MAX_FRAMES = 32;
        /**
         * A class of the library: in its packages (the API and the internals, not a user's
         * {@code dev.memmgr.something}) and loaded from where this class was (a jar, a directory,
         * {@code jrt:/dev.memmgr} in an image), so that classes of the user's in the same packages
         * (tests patched into the module) count as the user's.
         */
        private static final ClassValue<Boolean> LIBRARY = new ClassValue<>() {
            @Override
            protected Boolean computeValue(Class<?> c) {
                String pkg = c.getPackageName();
                if (!pkg.equals("dev.memmgr") && !pkg.startsWith("dev.memmgr.internal")) {
                    return false;
                }
                CodeSource mine = LeakSites.class.getProtectionDomain().getCodeSource();
                CodeSource its = c.getProtectionDomain().getCodeSource();
                if (mine == null || its == null) { // no locations to compare: by module
                    return c.getModule() == LeakSites.class.getModule();
                }
                return Objects.equals(mine.getLocation(), its.getLocation());
            }
        };

        Site(String what) {
            super(what, null, true, true);
            StackTraceElement[] frames = WALKER.walk(s -> s.dropWhile(f -> LIBRARY.get(f.getDeclaringClass()))
                    .limit(MAX_FRAMES).map(StackWalker.StackFrame::toStackTraceElement).toArray(StackTraceElement[]::new));
            if (frames.length == 0) { // called from the library's own threads: keep what there is
                frames = WALKER.walk(s -> s.limit(MAX_FRAMES).map(StackWalker.StackFrame::toStackTraceElement)
                        .toArray(StackTraceElement[]::new));
            }
            setStackTrace(frames);
        }

        Site(String what, StackTraceElement[] frames) {
            super(what, null, true, true);
            setStackTrace(frames);
        }

        /** The stack is captured by the constructor, without the library's frames. */
        @Override
        public synchronized Throwable fillInStackTrace() {
            return this;
        }

        @Override
        public String toString() {
            return getMessage(); // no class name: the log shows "created here", then the frames
        }
    }
}
