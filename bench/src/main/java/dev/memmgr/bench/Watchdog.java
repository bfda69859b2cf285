package dev.memmgr.bench;

import java.io.PrintStream;
import java.lang.management.LockInfo;
import java.lang.management.ManagementFactory;
import java.lang.management.MonitorInfo;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Watches a progress counter; when it has not moved for the timeout, prints every thread's full
 * stack with the monitors and synchronizers it holds and waits for (ThreadMXBean), the threads
 * the JVM finds deadlocked, and a caller-supplied state line; runs the cleanup action, then halts
 * the JVM with status {@link Stress#EXIT_WATCHDOG} (3: distinct from bad options, 2), by halt, not
 * exit: a deadlocked thread must not keep the process alive.
 */
final class Watchdog {
    private final LongSupplier progress;
    private final long timeoutNanos;
    private final Supplier<String> state;
    private final Runnable cleanup;
    private final PrintStream out;
    private final Thread thread;
    private volatile boolean stopped;

    Watchdog(LongSupplier progress, long timeoutNanos, Supplier<String> state, Runnable cleanup, PrintStream out) {
        this.progress = progress;
        this.timeoutNanos = timeoutNanos;
        this.state = state;
        this.cleanup = cleanup;
        this.out = out;
        this.thread = new Thread(this::run, "stress-watchdog");
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    void stop() {
        stopped = true;
        thread.interrupt();
    }

    private void run() {
        long last = progress.getAsLong();
        long lastChange = System.nanoTime();
        while (!stopped) {
            try {
                TimeUnit.MILLISECONDS.sleep(250);
            } catch (InterruptedException e) {
                return;
            }
            long now = progress.getAsLong();
            if (now != last) {
                last = now;
                lastChange = System.nanoTime();
            } else if (System.nanoTime() - lastChange > timeoutNanos && !stopped) {
                fire();
            }
        }
    }

    private void fire() {
        out.printf("WATCHDOG: no progress for %d s; all threads follow%n", TimeUnit.NANOSECONDS.toSeconds(timeoutNanos));
        try {
            ThreadMXBean mx = ManagementFactory.getThreadMXBean();
            long[] deadlocked = mx.findDeadlockedThreads();
            for (ThreadInfo ti : mx.dumpAllThreads(mx.isObjectMonitorUsageSupported(), mx.isSynchronizerUsageSupported())) {
                out.print(format(ti));
            }
            if (deadlocked != null) {
                out.print("deadlocked threads (JVM monitors and ownable synchronizers):");
                for (long id : deadlocked) {
                    out.print(" " + id);
                }
                out.println();
            } else {
                out.println("the JVM finds no deadlock among monitors and ownable synchronizers"
                        + " (locks built on park/wait are not seen by it)");
            }
            out.println("state: " + state.get());
        } catch (Throwable t) {
            out.println("WATCHDOG: thread dump failed: " + t);
        } finally {
            try {
                cleanup.run();
            } catch (Throwable ignored) {
                // best effort
            }
            out.flush();
            System.err.flush();
            Runtime.getRuntime().halt(Stress.EXIT_WATCHDOG);
        }
    }

    /** A ThreadInfo with its whole stack (ThreadInfo.toString() stops at 8 frames). */
    static String format(ThreadInfo ti) {
        StringBuilder sb = new StringBuilder();
        sb.append('"').append(ti.getThreadName()).append("\" #").append(ti.getThreadId());
        if (ti.isDaemon()) {
            sb.append(" daemon");
        }
        sb.append(' ').append(ti.getThreadState());
        if (ti.getLockName() != null) {
            sb.append(" on ").append(ti.getLockName());
        }
        if (ti.getLockOwnerName() != null) {
            sb.append(" owned by \"").append(ti.getLockOwnerName()).append("\" #").append(ti.getLockOwnerId());
        }
        sb.append('\n');
        StackTraceElement[] stack = ti.getStackTrace();
        MonitorInfo[] monitors = ti.getLockedMonitors();
        for (int i = 0; i < stack.length; i++) {
            sb.append("\tat ").append(stack[i]).append('\n');
            if (i == 0 && ti.getLockInfo() != null) {
                String how = switch (ti.getThreadState()) {
                    case BLOCKED -> "blocked on ";
                    case WAITING, TIMED_WAITING -> "waiting on ";
                    default -> "on ";
                };
                sb.append("\t-  ").append(how).append(ti.getLockInfo()).append('\n');
            }
            for (MonitorInfo mi : monitors) {
                if (mi.getLockedStackDepth() == i) {
                    sb.append("\t-  locked ").append(mi).append('\n');
                }
            }
        }
        LockInfo[] syncs = ti.getLockedSynchronizers();
        if (syncs.length > 0) {
            sb.append("\tlocked synchronizers:\n");
            for (LockInfo li : syncs) {
                sb.append("\t- ").append(li).append('\n');
            }
        }
        sb.append('\n');
        return sb.toString();
    }
}
