package dev.memmgr;

import static dev.memmgr.Fixture.DEADLINE;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Worker threads started together: failures (any Throwable) are collected, {@link #join()} waits
 * at most {@link Fixture#DEADLINE} and fails naming the threads still running with their stacks.
 * Made by {@link Fixture#workers()}, which stops any still running when the test ends.
 */
public final class Workers {
    /** A worker body that may throw anything. */
    @FunctionalInterface
    public interface Body {
        /** Runs the work. */
        void run() throws Exception;
    }

    private final List<Thread> threads = new ArrayList<>();
    private final ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
    private final CountDownLatch go = new CountDownLatch(1);

    Workers() {
    }

    /** Adds a daemon thread that waits for {@link #start()} and then runs {@code body}. */
    public Workers add(String name, Body body) {
        Thread t = new Thread(() -> {
            try {
                go.await();
                body.run();
            } catch (Throwable e) {
                failures.add(new AssertionError("thread " + Thread.currentThread().getName() + " failed: " + e, e));
            }
        }, name);
        t.setDaemon(true);
        threads.add(t);
        t.start();
        return this;
    }

    /** Lets every thread run at once. */
    public Workers start() {
        go.countDown();
        return this;
    }

    /** @return whether a worker has failed so far */
    public boolean failed() {
        return !failures.isEmpty();
    }

    /** Joins every thread (bounded), then rethrows the first failure with the others suppressed. */
    public void join() {
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        for (Thread t : threads) {
            long left = deadline - System.nanoTime();
            try {
                if (left > 0) {
                    t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                fail("interrupted joining " + t.getName());
            }
        }
        StringBuilder hung = new StringBuilder();
        for (Thread t : threads) {
            if (t.isAlive()) {
                hung.append("\n  ").append(t.getName()).append(" (").append(t.getState()).append(")");
                for (StackTraceElement e : t.getStackTrace()) {
                    hung.append("\n      at ").append(e);
                }
            }
        }
        rethrowFailures(hung.isEmpty() ? null : "threads still running after " + DEADLINE + ":" + hung);
    }

    /**
     * After the test (its managers closed): interrupts the threads still alive (those never
     * started stop waiting for {@link #start()} without running their work) and waits for them a
     * little.
     *
     * @return the names of threads still alive afterwards
     */
    List<String> stop() {
        List<String> alive = new ArrayList<>();
        for (Thread t : threads) {
            if (t.isAlive()) {
                t.interrupt();
            }
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
        for (Thread t : threads) {
            long left = deadline - System.nanoTime();
            try {
                if (left > 0) {
                    t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (t.isAlive()) {
                alive.add(t.getName());
            }
        }
        return alive;
    }

    private void rethrowFailures(String hung) {
        AssertionError first = null;
        if (hung != null) {
            first = new AssertionError(hung);
        }
        for (Throwable t : failures) {
            if (first == null) {
                first = t instanceof AssertionError a ? a : new AssertionError(t);
            } else {
                first.addSuppressed(t);
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
