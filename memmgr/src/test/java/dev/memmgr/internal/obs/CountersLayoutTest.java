package dev.memmgr.internal.obs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memmgr.Fixture;
import dev.memmgr.MemmgrExtension;
import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.status.CountersManager;
import org.agrona.concurrent.status.CountersReader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The counters file is byte-compatible with Agrona's counters: what {@link CountersFile} writes
 * through FFM segments, Agrona's own CountersReader (over UnsafeBuffers of the mapped file, at the
 * header's offsets) reads: states, type ids, keys, labels, values, registration ids, freed
 * records; and what Agrona's CountersManager writes, {@link CountersView} reads. The file is made
 * owner-only, marked closed and deleted on close.
 */
@ExtendWith(MemmgrExtension.class)
class CountersLayoutTest {
    private static final Counters.Key MANAGER = new Counters.Key(Counters.SCOPE_MANAGER, 7, 0, "renderer", "");
    private static final Counters.Key CLIENT = new Counters.Key(Counters.SCOPE_CLIENT, 7, 3, "renderer",
            "cliént \u00fc with a name that is longer than forty-eight bytes of UTF-8");

    private record Agrona(CountersReader reader, MappedByteBuffer mapped, FileChannel channel) implements AutoCloseable {
        static Agrona open(Path file, boolean writable) throws IOException {
            FileChannel ch = FileChannel.open(file, writable ? new StandardOpenOption[] {StandardOpenOption.READ,
                StandardOpenOption.WRITE} : new StandardOpenOption[] {StandardOpenOption.READ});
            MappedByteBuffer bb = ch.map(writable ? FileChannel.MapMode.READ_WRITE : FileChannel.MapMode.READ_ONLY, 0, ch.size());
            bb.order(ByteOrder.nativeOrder());
            int metaOff = bb.getInt((int) Counters.H_META_OFFSET);
            int metaLen = bb.getInt((int) Counters.H_META_LENGTH);
            int valOff = bb.getInt((int) Counters.H_VALUES_OFFSET);
            int valLen = bb.getInt((int) Counters.H_VALUES_LENGTH);
            return new Agrona(new CountersReader(new UnsafeBuffer(bb, metaOff, metaLen), new UnsafeBuffer(bb, valOff, valLen)),
                    bb, ch);
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }

    @Test
    void agronasReaderReadsWhatTheLibraryWrites(Fixture fx) throws IOException {
        Path dir = fx.tempDir().resolve("counters");
        CountersFile f = CountersFile.create(dir, 4242, 16, 250);
        try {
            assertEquals(Counters.file(dir, 4242), f.path());
            assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f.path())));
            int a = f.allocate(Counters.Figure.RESIDENT.typeId(), MANAGER, "memmgr resident bytes: manager 'renderer'");
            int b = f.allocate(Counters.Figure.EVICTIONS.typeId(), CLIENT, "evictions of cli\u00e9nt");
            int c = f.allocate(Counters.Figure.BUSY.typeId(), MANAGER, "x".repeat(500));
            assertEquals(List.of(0, 1, 2), List.of(a, b, c));
            f.set(a, 123_456_789_012L);
            f.set(b, -5);
            f.free(c);

            try (Agrona ag = Agrona.open(f.path(), false)) {
                CountersReader r = ag.reader();
                assertEquals(15, r.maxCounterId());
                assertEquals(CountersReader.RECORD_ALLOCATED, r.getCounterState(a));
                assertEquals(CountersReader.RECORD_RECLAIMED, r.getCounterState(c));
                assertEquals(CountersReader.RECORD_UNUSED, r.getCounterState(3));
                assertEquals(Counters.Figure.RESIDENT.typeId(), r.getCounterTypeId(a));
                assertEquals(123_456_789_012L, r.getCounterValue(a));
                assertEquals(-5, r.getCounterValue(b));
                assertEquals("memmgr resident bytes: manager 'renderer'", r.getCounterLabel(a));
                assertEquals("evictions of cli?nt", r.getCounterLabel(b), "US-ASCII, as Agrona's labels");
                assertEquals(1, r.getCounterRegistrationId(a));
                assertEquals(2, r.getCounterRegistrationId(b));
                List<String> seen = new ArrayList<>();
                r.forEach((id, type, key, label) -> {
                    seen.add(id + ":" + label);
                    assertEquals(id == a ? Counters.SCOPE_MANAGER : Counters.SCOPE_CLIENT, key.getInt(0));
                    assertEquals(7, key.getInt(4));
                    assertEquals(id == a ? 0 : 3, key.getInt(8));
                    assertEquals("renderer", key.getStringWithoutLengthUtf8(14, key.getShort(12)));
                });
                assertEquals(List.of("0:memmgr resident bytes: manager 'renderer'", "1:evictions of cli?nt"), seen,
                        "allocated records only, up to the first unused");
            }
            try (CountersView v = CountersView.open(f.path())) {
                assertEquals(4242, v.pid());
                assertFalse(v.isClosed());
                assertEquals(250, v.intervalMillis());
                List<CountersView.Counter> cs = v.counters();
                assertEquals(2, cs.size());
                assertEquals(Counters.Figure.EVICTIONS, cs.get(1).figure());
                assertEquals(-5, cs.get(1).value());
                Counters.Key k = cs.get(1).key();
                assertEquals(Counters.SCOPE_CLIENT, k.scope());
                assertEquals(3, k.client());
                assertTrue(CLIENT.clientName().startsWith(k.clientName()), k.clientName());
                assertTrue(k.clientName().getBytes(StandardCharsets.UTF_8).length <= Counters.NAME_BYTES);
                assertEquals(MANAGER, cs.get(0).key());
            }
            Path file = f.path();
            CountersView open = CountersView.open(file);
            f.close();
            assertTrue(open.isClosed(), "marked closed for a reader that still has it mapped");
            assertFalse(Files.exists(file), "deleted on close");
            open.close();
        } finally {
            f.close(); // idempotent
        }
    }

    @Test
    void theLibrarysReaderReadsWhatAgronasManagerWrites(Fixture fx) throws IOException {
        Path dir = fx.tempDir().resolve("counters");
        try (CountersFile f = CountersFile.create(dir, 4343, 8, 250); Agrona ag = Agrona.open(f.path(), true)) {
            CountersReader r = ag.reader();
            CountersManager m = new CountersManager(r.metaDataBuffer(), r.valuesBuffer(), StandardCharsets.US_ASCII);
            UnsafeBuffer key = new UnsafeBuffer(new byte[Counters.MAX_KEY_LENGTH]);
            key.putInt(0, Counters.SCOPE_MANAGER);
            key.putInt(4, 9);
            key.putShort(12, (short) 3);
            key.putStringWithoutLengthAscii(14, "gpu");
            int id = m.allocate(Counters.Figure.SWAP_INS.typeId(), key, 0, Counters.MAX_KEY_LENGTH, new UnsafeBuffer(
                    "written by Agrona".getBytes(StandardCharsets.US_ASCII)), 0, 17);
            m.setCounterValue(id, 77);
            try (CountersView v = CountersView.open(f.path())) {
                CountersView.Counter c = v.counters().get(0);
                assertEquals(Counters.Figure.SWAP_INS, c.figure());
                assertEquals(77, c.value());
                assertEquals("written by Agrona", c.label());
                assertEquals(new Counters.Key(Counters.SCOPE_MANAGER, 9, 0, "gpu", ""), c.key());
            }
        }
    }

    @Test
    void aFullFileGivesNoMoreCountersAndFreedOnesComeBackLater(Fixture fx) throws IOException {
        try (CountersFile f = CountersFile.create(fx.tempDir(), 4444, 2, 250)) {
            assertEquals(0, f.allocate(1, MANAGER, "a"));
            assertEquals(1, f.allocate(1, MANAGER, "b"));
            assertEquals(-1, f.allocate(1, MANAGER, "c"), "full");
            f.free(0);
            assertEquals(-1, f.allocate(1, MANAGER, "d"), "a freed id is not reused at once: a reader may be looking");
        }
    }

    @Test
    void notACountersFileIsRefused(Fixture fx) throws IOException {
        Path junk = fx.tempDir().resolve("junk.dat");
        Files.write(junk, new byte[Counters.HEADER_LENGTH]);
        assertThrows(IOException.class, () -> CountersView.open(junk));
        Path tiny = fx.tempDir().resolve("tiny.dat");
        Files.write(tiny, new byte[12]);
        assertThrows(IOException.class, () -> CountersView.open(tiny));
    }
}
