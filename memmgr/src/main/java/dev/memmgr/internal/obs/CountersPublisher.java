package dev.memmgr.internal.obs;

import java.io.IOException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Publishes the figures of the managers built with {@code publishCounters(true)} in the counters
 * file of the process ({@link Counters}), one file for all of them: a daemon thread,
 * {@code memmgr-counters}, samples every group every {@value #INTERVAL_MS} ms and stores the values.
 * The library's hot paths do nothing for it: figures come from the statistics the samplers compute
 * in that thread.
 *
 * <p>The first manager that publishes creates the file and starts the thread ({@link #acquire()});
 * the last one to close ({@link #release()}) stops the thread, marks the file closed and deletes it.
 * A manager adds a group of counters for itself and one per client ({@link #add}); closing a group
 * frees its counters. When the file cannot be made (a directory of another user, a full disk) the
 * managers run without publishing, and the reason is logged once per attempt at WARNING.
 *
 * <p>Thread-safe. Lock order: the class lock (acquire, release) before a group's monitor (a leaf:
 * the thread holds it only to store a group's values, so that a closed group's freed ids are never
 * written), before the file's monitor.
 */
public final class CountersPublisher {
    public static final int INTERVAL_MS = 250;
    static final int MAX_COUNTERS = 4096;
    private static final System.Logger LOG = System.getLogger("dev.memmgr");
    private static CountersPublisher current;
    private static int users;

    private final CountersFile file;
    private final Thread thread;
    private final CopyOnWriteArrayList<Group> groups = new CopyOnWriteArrayList<>();
    private volatile boolean stopped;
    private long updates;

    /** Computes a group's figures, in the order of its figures. Runs in the publisher's thread. */
    @FunctionalInterface
    public interface Sampler {
        void sample(long[] out);
    }

    private CountersPublisher(CountersFile file) {
        this.file = file;
        this.thread = new Thread(this::run, "memmgr-counters");
        thread.setDaemon(true);
    }

    /**
     * Joins the publishing: creates the file and starts the thread if this is the first user.
     *
     * @return the publisher, or null when the file cannot be made (logged at WARNING)
     */
    public static synchronized CountersPublisher acquire() {
        if (current == null) {
            java.nio.file.Path dir = Counters.directory();
            CountersFile f;
            try {
                f = CountersFile.create(dir, ProcessHandle.current().pid(), MAX_COUNTERS, INTERVAL_MS);
            } catch (IOException | RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "cannot publish counters in " + dir + " (" + e
                        + "); the manager runs without them");
                return null;
            }
            current = new CountersPublisher(f);
            current.thread.start();
        }
        users++;
        return current;
    }

    /** Leaves the publishing; the last user stops the thread and closes (deletes) the file. */
    public void release() {
        synchronized (CountersPublisher.class) {
            if (current != this || --users > 0) {
                return;
            }
            current = null;
            stopped = true;
            LockSupport.unpark(thread);
            if (thread != Thread.currentThread()) {
                try {
                    thread.join(TimeUnit.SECONDS.toMillis(10));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            file.close(); // under the class lock: a new publisher cannot have made its file yet
        }
    }

    /** @return the file being written */
    public java.nio.file.Path path() {
        return file.path();
    }

    /**
     * Adds a group of counters. Its values are zero until the next update, which comes at once.
     *
     * @return the group; close it when its manager or client goes
     */
    public Group add(Counters.Key key, Counters.Figure[] figures, Sampler sampler) {
        int[] ids = new int[figures.length];
        for (int i = 0; i < figures.length; i++) {
            ids[i] = file.allocate(figures[i].typeId(), key, label(key, figures[i]));
        }
        Group g = new Group(ids, figures.length, sampler);
        groups.add(g);
        LockSupport.unpark(thread); // publish the new group without waiting a whole interval
        return g;
    }

    private static String label(Counters.Key key, Counters.Figure f) {
        return "memmgr " + f.text() + ": manager '" + key.managerName() + "'"
                + (key.scope() == Counters.SCOPE_CLIENT ? ", client '" + key.clientName() + "' (" + key.client() + ")" : "");
    }

    /** A manager's or a client's counters. */
    public final class Group {
        private final int[] ids;
        private final long[] sample;
        private final Sampler sampler;
        private boolean closed;

        private Group(int[] ids, int figures, Sampler sampler) {
            this.ids = ids;
            this.sample = new long[figures];
            this.sampler = sampler;
        }

        /** Frees the counters; the thread stores nothing for them any more. Idempotent. */
        public void close() {
            groups.remove(this);
            synchronized (this) {
                if (closed) {
                    return;
                }
                closed = true;
                for (int id : ids) {
                    file.free(id);
                }
            }
        }

        /** Samples (no lock held) and stores the values (this group's monitor held). Publisher thread. */
        void publish() {
            try {
                sampler.sample(sample);
            } catch (RuntimeException e) { // closed meanwhile: its close frees the counters
                return;
            }
            synchronized (this) {
                if (closed) {
                    return;
                }
                for (int i = 0; i < ids.length; i++) {
                    if (ids[i] >= 0) {
                        file.set(ids[i], sample[i]);
                    }
                }
            }
        }
    }

    private void run() {
        try {
            while (!stopped) {
                for (Group g : groups) {
                    g.publish();
                }
                file.updated(++updates);
                LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(INTERVAL_MS));
            }
        } catch (IllegalStateException unmapped) {
            // release() gave up waiting for this thread and closed the file: nothing left to do
        }
    }
}
