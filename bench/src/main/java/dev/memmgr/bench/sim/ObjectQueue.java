package dev.memmgr.bench.sim;

/**
 * An intrusive doubly linked list of objects, oldest at the head, with the sum of their pages
 * (memmgr's {@code Lru} list shape). An object is on at most one queue at a time; its
 * {@code queue} field says which. Single-threaded.
 */
final class ObjectQueue {
    final String name;
    private SimObject head;
    private SimObject tail;
    private int size;
    private long pages;

    ObjectQueue(String name) {
        this.name = name;
    }

    SimObject first() {
        return head;
    }

    boolean isEmpty() {
        return head == null;
    }

    int size() {
        return size;
    }

    long pages() {
        return pages;
    }

    boolean contains(SimObject o) {
        return o.queue == this;
    }

    void addLast(SimObject o) {
        if (o.queue != null) {
            throw new IllegalStateException(o + " is already on " + o.queue.name + ", not added to " + name);
        }
        o.prev = tail;
        o.next = null;
        if (tail == null) {
            head = o;
        } else {
            tail.next = o;
        }
        tail = o;
        o.queue = this;
        size++;
        pages += o.pages;
    }

    void remove(SimObject o) {
        if (o.queue != this) {
            throw new IllegalStateException(o + " is not on " + name);
        }
        if (o.prev == null) {
            head = o.next;
        } else {
            o.prev.next = o.next;
        }
        if (o.next == null) {
            tail = o.prev;
        } else {
            o.next.prev = o.prev;
        }
        o.prev = null;
        o.next = null;
        o.queue = null;
        size--;
        pages -= o.pages;
    }

    void moveToLast(SimObject o) {
        remove(o);
        addLast(o);
    }

    SimObject removeFirst() {
        SimObject o = head;
        if (o != null) {
            remove(o);
        }
        return o;
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder(name).append('[');
        for (SimObject o = head; o != null; o = o.next) {
            b.append(o.id).append(o.next == null ? "" : " ");
        }
        return b.append(']').toString();
    }
}
