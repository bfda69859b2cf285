package dev.memmgr.internal.obs;

import static dev.memmgr.internal.obs.Counters.COUNTER_LENGTH;
import static dev.memmgr.internal.obs.Counters.HEADER_LENGTH;
import static dev.memmgr.internal.obs.Counters.INT;
import static dev.memmgr.internal.obs.Counters.LABEL_OFFSET;
import static dev.memmgr.internal.obs.Counters.LONG;
import static dev.memmgr.internal.obs.Counters.METADATA_LENGTH;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import org.agrona.collections.IntArrayList;

/**
 * The writing side of a counters file (layout: {@link Counters}): allocates and frees counter
 * records as Agrona's {@code CountersManager} does, and stores values with release semantics. The
 * mapping is a shared FFM segment, never an Agrona {@code UnsafeBuffer} (see {@link Counters}).
 *
 * <p>Thread-safe: allocation and freeing hold this object's monitor (a leaf); a counter's value
 * is written by one thread (the publisher's) at a time. A freed id is reused after
 * {@value #REUSE_AFTER_MS} ms, so a reader that saw it a moment ago does not read another
 * figure under the old label.
 */
public final class CountersFile implements AutoCloseable {
    static final long REUSE_AFTER_MS = 2000;
    private static final VarHandle INT_HANDLE = INT.varHandle();
    private static final VarHandle LONG_HANDLE = LONG.varHandle();

    private final Path file;
    private final Arena arena;
    private final MemorySegment header;
    private final MemorySegment meta;
    private final MemorySegment values;
    private final int maxCounters;
    private final IntArrayList freeIds = new IntArrayList();
    private int highWater;
    private long registrations;
    private boolean closed;

    private CountersFile(Path file, Arena arena, MemorySegment all, int maxCounters) {
        this.file = file;
        this.arena = arena;
        this.maxCounters = maxCounters;
        this.header = all.asSlice(0, HEADER_LENGTH);
        this.meta = all.asSlice(HEADER_LENGTH, (long) maxCounters * METADATA_LENGTH);
        this.values = all.asSlice(HEADER_LENGTH + (long) maxCounters * METADATA_LENGTH, (long) maxCounters * COUNTER_LENGTH);
    }

    /**
     * Creates the file of this process in {@code dir} (made owner-only if absent): written under a
     * temporary name, then renamed over any stale file of the same name.
     *
     * @throws IOException if the directory or the file cannot be made
     */
    public static CountersFile create(Path dir, long pid, int maxCounters, int intervalMs) throws IOException {
        if (!Files.isDirectory(dir)) {
            try {
                Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            } catch (java.nio.file.FileAlreadyExistsException raced) {
                // another process made it meanwhile
            }
        }
        Path target = Counters.file(dir, pid);
        Path tmp = dir.resolve(pid + ".dat.tmp");
        Files.deleteIfExists(tmp);
        long size = HEADER_LENGTH + (long) maxCounters * (METADATA_LENGTH + COUNTER_LENGTH);
        Arena arena = Arena.ofShared();
        try {
            MemorySegment all;
            try (FileChannel ch = FileChannel.open(tmp, java.util.Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                    StandardOpenOption.WRITE), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
                ch.write(java.nio.ByteBuffer.wrap(new byte[1]), size - 1); // sparse: records cost nothing until written
                all = ch.map(FileChannel.MapMode.READ_WRITE, 0, size, arena);
            }
            CountersFile f = new CountersFile(target, arena, all, maxCounters);
            f.writeHeader(pid, intervalMs);
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return f;
        } catch (IOException | RuntimeException e) {
            arena.close();
            Files.deleteIfExists(tmp);
            throw e;
        }
    }

    private void writeHeader(long pid, int intervalMs) {
        header.set(INT, Counters.H_VERSION, Counters.VERSION);
        header.set(LONG, Counters.H_PID, pid);
        header.set(LONG, Counters.H_START, System.currentTimeMillis());
        header.set(INT, Counters.H_STATE, Counters.STATE_OPEN);
        header.set(INT, Counters.H_INTERVAL, intervalMs);
        header.set(LONG, Counters.H_UPDATED, System.currentTimeMillis());
        header.set(INT, Counters.H_META_OFFSET, HEADER_LENGTH);
        header.set(INT, Counters.H_META_LENGTH, (int) meta.byteSize());
        header.set(INT, Counters.H_VALUES_OFFSET, HEADER_LENGTH + (int) meta.byteSize());
        header.set(INT, Counters.H_VALUES_LENGTH, (int) values.byteSize());
        INT_HANDLE.setRelease(header, Counters.H_MAGIC, Counters.MAGIC);
    }

    public Path path() {
        return file;
    }

    /**
     * Allocates a counter, its value zero.
     *
     * @return its id, or -1 when every record is in use (or the file is closed)
     */
    public synchronized int allocate(int typeId, Counters.Key key, String label) {
        if (closed) {
            return -1;
        }
        int id = nextId();
        if (id < 0) {
            return -1;
        }
        long v = (long) id * COUNTER_LENGTH;
        LONG_HANDLE.setRelease(values, v, 0L);
        values.set(LONG, v + 8, ++registrations);
        values.set(LONG, v + 16, 0L);
        values.set(LONG, v + 24, 0L);
        long m = (long) id * METADATA_LENGTH;
        meta.set(INT, m + 4, typeId);
        meta.set(LONG, m + 8, Long.MAX_VALUE);
        MemorySegment keySlice = meta.asSlice(m + Counters.KEY_OFFSET, Counters.MAX_KEY_LENGTH);
        keySlice.fill((byte) 0);
        key.write(keySlice);
        byte[] text = ascii(label);
        meta.set(INT, m + LABEL_OFFSET, text.length);
        MemorySegment.copy(MemorySegment.ofArray(text), 0, meta, m + LABEL_OFFSET + 4, text.length);
        INT_HANDLE.setRelease(meta, m, Counters.RECORD_ALLOCATED);
        return id;
    }

    private int nextId() {
        long now = System.currentTimeMillis();
        for (int i = 0; i < freeIds.size(); i++) {
            int id = freeIds.getInt(i);
            if (meta.get(LONG, (long) id * METADATA_LENGTH + 8) <= now) {
                freeIds.fastUnorderedRemove(i);
                return id;
            }
        }
        return highWater < maxCounters ? highWater++ : -1;
    }

    private static byte[] ascii(String s) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII); // unmappable characters become '?'
        return b.length <= Counters.MAX_LABEL_LENGTH ? b : java.util.Arrays.copyOf(b, Counters.MAX_LABEL_LENGTH);
    }

    /** Frees a counter: marked reclaimed, its key cleared, reusable after a while. Idempotent per allocation. */
    public synchronized void free(int id) {
        if (closed || id < 0) {
            return;
        }
        long m = (long) id * METADATA_LENGTH;
        if ((int) INT_HANDLE.getAcquire(meta, m) != Counters.RECORD_ALLOCATED) {
            return;
        }
        INT_HANDLE.setRelease(meta, m, Counters.RECORD_RECLAIMED);
        meta.asSlice(m + Counters.KEY_OFFSET, Counters.MAX_KEY_LENGTH).fill((byte) 0);
        meta.set(LONG, m + 8, System.currentTimeMillis() + REUSE_AFTER_MS);
        freeIds.addInt(id);
    }

    /** Sets a counter's value (release); the caller owns the id. */
    public void set(int id, long value) {
        LONG_HANDLE.setRelease(values, (long) id * COUNTER_LENGTH, value);
    }

    /** Records that an update of every counter has just been published. */
    public void updated(long updates) {
        header.set(LONG, Counters.H_UPDATES, updates);
        LONG_HANDLE.setRelease(header, Counters.H_UPDATED, System.currentTimeMillis());
    }

    /** Marks the file closed, deletes it, unmaps it. Idempotent; never throws. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        INT_HANDLE.setRelease(header, Counters.H_STATE, Counters.STATE_CLOSED);
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            System.getLogger("dev.memmgr").log(System.Logger.Level.DEBUG, "cannot delete " + file, e);
        }
        arena.close();
    }
}
