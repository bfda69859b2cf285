package dev.memmgr.internal.obs;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The counters file: its place, its layout, and what each counter means. Written by
 * {@link CountersFile} (through {@link CountersPublisher}), read by {@link CountersView}
 * ({@code bin/memmgr top}).
 *
 * <p><b>Place.</b> One file per process, {@code <dir>/<pid>.dat}, where {@code <dir>} is the
 * system property {@code memmgr.counters.dir} or else {@code <java.io.tmpdir>/memmgr-counters-<user>}
 * (like the JDK's {@code hsperfdata_<user>}): created owner-only (0700, files 0600), so a user's
 * {@code top} sees that user's processes, as {@code jps} does. The file is made under a temporary
 * name and renamed into place, so a reader never maps a half-written header, and a file is never
 * truncated while mapped (no SIGBUS in a reader). On close the header is marked closed and the file
 * deleted; a file left by a process that died is recognized by its pid no longer running.
 *
 * <p><b>Layout</b> (native byte order: little-endian on the supported platforms):
 * <pre>
 * header, {@value #HEADER_LENGTH} bytes:
 *     0  int   magic {@value #MAGIC} (written last, with release semantics)
 *     4  int   layout version {@value #VERSION}
 *     8  long  pid
 *    16  long  start, epoch milliseconds
 *    24  int   state: {@value #STATE_OPEN} open, {@value #STATE_CLOSED} closed (release/acquire)
 *    28  int   update interval, milliseconds
 *    32  long  last update, epoch milliseconds (release/acquire)
 *    40  int   offset of the metadata buffer ({@value #HEADER_LENGTH})
 *    44  int   length of the metadata buffer: counters x {@value #METADATA_LENGTH}
 *    48  int   offset of the values buffer
 *    52  int   length of the values buffer: counters x {@value #COUNTER_LENGTH}
 *    56  long  updates published so far
 * metadata buffer: one {@value #METADATA_LENGTH}-byte record per counter id, Agrona's layout:
 *     0  int   state: 0 unused, 1 allocated, -1 reclaimed (written last, release/acquire)
 *     4  int   type id (a {@link Figure})
 *     8  long  free-for-reuse deadline, epoch ms (Long.MAX_VALUE while allocated)
 *    16  112   key (below)
 *   128  int   label length, then the label in US-ASCII, at most {@value #MAX_LABEL_LENGTH} bytes
 * values buffer: one {@value #COUNTER_LENGTH}-byte record per counter id:
 *     0  long  value (release/acquire)
 *     8  long  registration id; 16 owner id (0); 24 reference id (0)
 * key:
 *     0  int   scope: {@value #SCOPE_MANAGER} manager, {@value #SCOPE_CLIENT} client
 *     4  int   manager number (in order of creation in the process, from 1)
 *     8  int   client id (drm-client-id; 0 for a manager)
 *    12  short length, then the manager's name in UTF-8 (at most {@value #NAME_BYTES} bytes)
 *    62  short length, then the client's name in UTF-8 (at most {@value #NAME_BYTES} bytes)
 * </pre>
 * The two buffers are byte for byte those of Agrona's {@code CountersManager}: Agrona's
 * {@code CountersReader} over {@code UnsafeBuffer}s of the mapped file at the offsets of the header
 * reads every counter, its type id, key and label (a test does). The library writes them through
 * FFM memory segments rather than Agrona's {@code UnsafeBuffer}, which needs {@code --add-exports
 * java.base/jdk.internal.misc} on JDK 25, a flag the library cannot ask of its users.
 */
public final class Counters {
    public static final int MAGIC = 0x464D4D43; // "CMMF" in memory, little-endian
    public static final int VERSION = 1;
    public static final int HEADER_LENGTH = 4096;
    public static final int STATE_OPEN = 1;
    public static final int STATE_CLOSED = 2;
    public static final int METADATA_LENGTH = 512;
    public static final int COUNTER_LENGTH = 128;
    public static final int KEY_OFFSET = 16;
    public static final int MAX_KEY_LENGTH = 112;
    public static final int LABEL_OFFSET = 128;
    public static final int MAX_LABEL_LENGTH = 380;
    public static final int RECORD_UNUSED = 0;
    public static final int RECORD_ALLOCATED = 1;
    public static final int RECORD_RECLAIMED = -1;
    public static final int SCOPE_MANAGER = 1;
    public static final int SCOPE_CLIENT = 2;
    public static final int NAME_BYTES = 48;

    // header offsets
    static final long H_MAGIC = 0;
    static final long H_VERSION = 4;
    static final long H_PID = 8;
    static final long H_START = 16;
    static final long H_STATE = 24;
    static final long H_INTERVAL = 28;
    static final long H_UPDATED = 32;
    static final long H_META_OFFSET = 40;
    static final long H_META_LENGTH = 44;
    static final long H_VALUES_OFFSET = 48;
    static final long H_VALUES_LENGTH = 52;
    static final long H_UPDATES = 56;

    static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
    static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG;
    static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT;

    private Counters() {
    }

    /** What a counter counts; its type id never changes. Bytes unless said otherwise. */
    public enum Figure {
        CAPACITY(0x4D4D0001, "capacity bytes"),
        FREE(0x4D4D0002, "free bytes"),
        RESIDENT(0x4D4D0003, "resident bytes"),
        PEAK_RESIDENT(0x4D4D0004, "peak resident bytes"),
        EVICTED(0x4D4D0005, "evicted bytes"),
        PURGEABLE(0x4D4D0006, "purgeable bytes"),
        BUSY(0x4D4D0007, "busy bytes"),
        PINNED(0x4D4D0008, "pinned bytes"),
        SWAP_CAPACITY(0x4D4D0009, "swap capacity bytes"),
        SWAP_USED(0x4D4D000A, "swap used bytes"),
        EVICTIONS(0x4D4D000B, "evictions total"),
        SWAP_INS(0x4D4D000C, "swap-ins total"),
        PURGES(0x4D4D000D, "purges total"),
        TOTAL(0x4D4D000E, "total object bytes");

        private final int typeId;
        private final String text;

        Figure(int typeId, String text) {
            this.typeId = typeId;
            this.text = text;
        }

        public int typeId() {
            return typeId;
        }

        public String text() {
            return text;
        }

        /** @return the figure of a type id, or null for a type this version does not know */
        public static Figure of(int typeId) {
            for (Figure f : values()) {
                if (f.typeId == typeId) {
                    return f;
                }
            }
            return null;
        }
    }

    /** What a manager publishes, in this order. */
    public static final Figure[] MANAGER_FIGURES = {Figure.CAPACITY, Figure.FREE, Figure.RESIDENT, Figure.PEAK_RESIDENT,
        Figure.EVICTED, Figure.PURGEABLE, Figure.BUSY, Figure.PINNED, Figure.SWAP_CAPACITY, Figure.SWAP_USED,
        Figure.EVICTIONS, Figure.SWAP_INS, Figure.PURGES};
    /** What a client publishes, in this order. */
    public static final Figure[] CLIENT_FIGURES = {Figure.TOTAL, Figure.RESIDENT, Figure.EVICTED, Figure.PURGEABLE,
        Figure.BUSY, Figure.PINNED, Figure.SWAP_USED, Figure.EVICTIONS, Figure.SWAP_INS, Figure.PURGES};

    /**
     * The key of a counter: whose figure it is. Names are cut to {@value #NAME_BYTES} bytes of UTF-8
     * (at a character boundary).
     */
    public record Key(int scope, int manager, int client, String managerName, String clientName) {
        void write(MemorySegment key) {
            key.set(INT, 0, scope);
            key.set(INT, 4, manager);
            key.set(INT, 8, client);
            name(key, 12, managerName);
            name(key, 62, clientName);
        }

        static Key read(MemorySegment key) {
            return new Key(key.get(INT, 0), key.get(INT, 4), key.get(INT, 8), name(key, 12), name(key, 62));
        }

        private static void name(MemorySegment key, long at, String s) {
            byte[] b = utf8Prefix(s, NAME_BYTES);
            key.set(SHORT, at, (short) b.length);
            MemorySegment.copy(MemorySegment.ofArray(b), 0, key, at + 2, b.length);
        }

        private static String name(MemorySegment key, long at) {
            int n = Math.clamp(key.get(SHORT, at), 0, NAME_BYTES);
            return new String(key.asSlice(at + 2, n).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
        }
    }

    /** @return the longest prefix of s whose UTF-8 encoding fits in max bytes */
    static byte[] utf8Prefix(String s, int max) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length <= max) {
            return b;
        }
        int n = max;
        while (n > 0 && (b[n] & 0xC0) == 0x80) { // do not cut inside a character
            n--;
        }
        return java.util.Arrays.copyOf(b, n);
    }

    /** @return the directory of the counters files of this user (the property memmgr.counters.dir overrides it) */
    public static Path directory() {
        String dir = System.getProperty("memmgr.counters.dir");
        if (dir != null && !dir.isBlank()) {
            return Path.of(dir);
        }
        String user = System.getProperty("user.name", "user").replaceAll("[^A-Za-z0-9._-]", "_");
        return Path.of(System.getProperty("java.io.tmpdir"), "memmgr-counters-" + user);
    }

    /** @return the counters file of a process */
    public static Path file(Path directory, long pid) {
        return directory.resolve(pid + ".dat");
    }
}
