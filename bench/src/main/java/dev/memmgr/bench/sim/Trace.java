package dev.memmgr.bench.sim;

import java.util.Arrays;

/**
 * A recorded sequence of buffer-object events, replayed by the {@link Simulator}. Each event is an
 * operation on an object id; an id has a fixed size in pages and a fixed usage style
 * ({@link SimObject#held}). Ops:
 * <ul>
 * <li>{@link #ACCESS}: a use that needs the whole object resident (a GPU job, a copy, a read).
 *     It implies madvise(WILLNEED) first; when that finds the object purged, or the object was
 *     freed or never existed, the client creates it anew: a first touch (population).</li>
 * <li>{@link #PIN} / {@link #UNPIN}: pin needs the object resident like an access (and counts as
 *     one); pinned objects are never reclaimed.</li>
 * <li>{@link #DONTNEED}: madvise(DONTNEED); the shrinker purges such objects (no swap-out)
 *     before it evicts anything.</li>
 * <li>{@link #FREE}: the client frees the object; its frames and slots go.</li>
 * </ul>
 * Events are packed as {@code op << 28 | id}.
 */
public final class Trace {
    public static final int ACCESS = 0;
    public static final int PIN = 1;
    public static final int UNPIN = 2;
    public static final int DONTNEED = 3;
    public static final int FREE = 4;
    static final int OP_SHIFT = 28;
    static final int ID_MASK = (1 << OP_SHIFT) - 1;

    private final String name;
    private final String description;
    private final int[] events;
    private final int[] pages;
    private final boolean[] held;

    private Trace(String name, String description, int[] events, int[] pages, boolean[] held) {
        this.name = name;
        this.description = description;
        this.events = events;
        this.pages = pages;
        this.held = held;
    }

    public String name() {
        return name;
    }

    public String description() {
        return description;
    }

    public int length() {
        return events.length;
    }

    public int op(int i) {
        return events[i] >>> OP_SHIFT;
    }

    public int id(int i) {
        return events[i] & ID_MASK;
    }

    public int ids() {
        return pages.length;
    }

    public int pages(int id) {
        return pages[id];
    }

    public boolean held(int id) {
        return held[id];
    }

    /**
     * @return the same events with every object held (one ACTIVE list for memmgr's LRU: it then
     *     differs from the others by its policy alone, not by the INACTIVE-first scan order)
     */
    public Trace withAllHeld() {
        boolean[] all = new boolean[held.length];
        java.util.Arrays.fill(all, true);
        return new Trace(name, description + "; all objects held", events, pages, all);
    }

    /** @return accesses and pins in the trace */
    public int uses() {
        int n = 0;
        for (int e : events) {
            int op = e >>> OP_SHIFT;
            n += op == ACCESS || op == PIN ? 1 : 0;
        }
        return n;
    }

    /** @return pages of all ids: the footprint if everything were resident at once */
    public long footprintPages() {
        long n = 0;
        for (int p : pages) {
            n += p;
        }
        return n;
    }

    /** Builds a trace; ids are handed out densely by {@link #object}. */
    public static final class Builder {
        private final String name;
        private String description = "";
        private int[] events = new int[1024];
        private int length;
        private int[] pages = new int[64];
        private boolean[] held = new boolean[64];
        private int ids;

        public Builder(String name) {
            this.name = name;
        }

        public Builder describe(String text) {
            this.description = text;
            return this;
        }

        /** Declares a new object id of {@code p} pages. */
        public int object(int p, boolean isHeld) {
            if (p <= 0) {
                throw new IllegalArgumentException("an object has at least one page: " + p);
            }
            if (ids == ID_MASK) {
                throw new IllegalStateException("too many object ids");
            }
            if (ids == pages.length) {
                pages = Arrays.copyOf(pages, ids * 2);
                held = Arrays.copyOf(held, ids * 2);
            }
            pages[ids] = p;
            held[ids] = isHeld;
            return ids++;
        }

        public Builder access(int id) {
            return add(ACCESS, id);
        }

        public Builder pin(int id) {
            return add(PIN, id);
        }

        public Builder unpin(int id) {
            return add(UNPIN, id);
        }

        public Builder dontNeed(int id) {
            return add(DONTNEED, id);
        }

        public Builder free(int id) {
            return add(FREE, id);
        }

        public int length() {
            return length;
        }

        public int pages(int id) {
            return pages[id];
        }

        private Builder add(int op, int id) {
            if (id < 0 || id >= ids) {
                throw new IllegalArgumentException("undeclared object id " + id);
            }
            if (length == events.length) {
                events = Arrays.copyOf(events, length * 2);
            }
            events[length++] = op << OP_SHIFT | id;
            return this;
        }

        public Trace build() {
            return new Trace(name, description, Arrays.copyOf(events, length), Arrays.copyOf(pages, ids),
                    Arrays.copyOf(held, ids));
        }
    }
}
