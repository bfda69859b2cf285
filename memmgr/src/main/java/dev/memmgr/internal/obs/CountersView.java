package dev.memmgr.internal.obs;

import static dev.memmgr.internal.obs.Counters.COUNTER_LENGTH;
import static dev.memmgr.internal.obs.Counters.INT;
import static dev.memmgr.internal.obs.Counters.LABEL_OFFSET;
import static dev.memmgr.internal.obs.Counters.LONG;
import static dev.memmgr.internal.obs.Counters.METADATA_LENGTH;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The reading side of a counters file (layout: {@link Counters}), for another process: maps it
 * read-only and reads the counters as Agrona's {@code CountersReader.forEach} does (records in id
 * order up to the first unused one; allocated ones only). Values are read with acquire semantics;
 * a counter's key and label are read after seeing its state allocated, which its writer stored
 * last. Not thread-safe; close it to unmap.
 */
public final class CountersView implements AutoCloseable {
    private static final VarHandle INT_HANDLE = INT.varHandle();
    private static final VarHandle LONG_HANDLE = LONG.varHandle();

    private final Arena arena;
    private final MemorySegment header;
    private final MemorySegment meta;
    private final MemorySegment values;

    private CountersView(Arena arena, MemorySegment header, MemorySegment meta, MemorySegment values) {
        this.arena = arena;
        this.header = header;
        this.meta = meta;
        this.values = values;
    }

    /** One counter as read. */
    public record Counter(int id, int typeId, Counters.Figure figure, Counters.Key key, String label, long value) {
    }

    /**
     * Maps a counters file.
     *
     * @throws IOException if it cannot be read or is not a counters file of this layout
     */
    public static CountersView open(Path file) throws IOException {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < Counters.HEADER_LENGTH) {
                throw new IOException(file + ": too short for a counters file (" + size + " bytes)");
            }
            MemorySegment all = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            MemorySegment header = all.asSlice(0, Counters.HEADER_LENGTH);
            if ((int) INT_HANDLE.getAcquire(header, Counters.H_MAGIC) != Counters.MAGIC) {
                throw new IOException(file + ": not a memmgr counters file");
            }
            int version = header.get(INT, Counters.H_VERSION);
            if (version != Counters.VERSION) {
                throw new IOException(file + ": counters layout version " + version + ", this reader knows " + Counters.VERSION);
            }
            long metaOff = header.get(INT, Counters.H_META_OFFSET);
            long metaLen = header.get(INT, Counters.H_META_LENGTH);
            long valOff = header.get(INT, Counters.H_VALUES_OFFSET);
            long valLen = header.get(INT, Counters.H_VALUES_LENGTH);
            if (metaOff < Counters.HEADER_LENGTH || metaLen < 0 || valLen < 0 || metaOff + metaLen > valOff
                    || valOff + valLen > size || metaLen % METADATA_LENGTH != 0 || valLen % COUNTER_LENGTH != 0
                    || metaLen / METADATA_LENGTH != valLen / COUNTER_LENGTH) {
                throw new IOException(file + ": inconsistent counters header");
            }
            return new CountersView(arena, header, all.asSlice(metaOff, metaLen), all.asSlice(valOff, valLen));
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    public long pid() {
        return header.get(LONG, Counters.H_PID);
    }

    public long startMillis() {
        return header.get(LONG, Counters.H_START);
    }

    /** @return whether the publisher closed the file (it is deleted then) */
    public boolean isClosed() {
        return (int) INT_HANDLE.getAcquire(header, Counters.H_STATE) == Counters.STATE_CLOSED;
    }

    public int intervalMillis() {
        return header.get(INT, Counters.H_INTERVAL);
    }

    /** @return when the figures were last published, epoch milliseconds */
    public long updatedMillis() {
        return (long) LONG_HANDLE.getAcquire(header, Counters.H_UPDATED);
    }

    public long updates() {
        return header.get(LONG, Counters.H_UPDATES);
    }

    /** @return every allocated counter, in id order */
    public java.util.List<Counter> counters() {
        java.util.List<Counter> out = new java.util.ArrayList<>();
        long records = meta.byteSize() / METADATA_LENGTH;
        for (int id = 0; id < records; id++) {
            long m = (long) id * METADATA_LENGTH;
            int state = (int) INT_HANDLE.getAcquire(meta, m);
            if (state == Counters.RECORD_UNUSED) {
                break;
            }
            if (state != Counters.RECORD_ALLOCATED) {
                continue;
            }
            int type = meta.get(INT, m + 4);
            Counters.Key key = Counters.Key.read(meta.asSlice(m + Counters.KEY_OFFSET, Counters.MAX_KEY_LENGTH));
            int n = Math.clamp(meta.get(INT, m + LABEL_OFFSET), 0, Counters.MAX_LABEL_LENGTH);
            String label = new String(meta.asSlice(m + LABEL_OFFSET + 4, n).toArray(ValueLayout.JAVA_BYTE),
                    StandardCharsets.US_ASCII);
            long value = (long) LONG_HANDLE.getAcquire(values, (long) id * COUNTER_LENGTH);
            if ((int) INT_HANDLE.getAcquire(meta, m) != Counters.RECORD_ALLOCATED) {
                continue; // freed while read: its key may be cleared already
            }
            out.add(new Counter(id, type, Counters.Figure.of(type), key, label, value));
        }
        return out;
    }

    @Override
    public void close() {
        arena.close();
    }
}
