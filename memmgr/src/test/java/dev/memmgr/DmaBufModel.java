package dev.memmgr;

import static dev.memmgr.DmaBufTestSupport.assertCounts;
import static dev.memmgr.Fixture.PAGE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memmgr.DmaBufTestSupport.Recorder;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The model of {@link DmaBufModelTest}: what the two managers, their clients, the exporters, their
 * DmaBufs, attachments and imports should be, {@link World#check()}, which compares all of it
 * with what the library answers, and the import's page operations with their expected outcomes.
 */
final class DmaBufModel {
    static final int A_PAGES = 16;
    static final int B_PAGES = 8;
    static final int[] EXPORTER_PAGES = {3, 2};

    private DmaBufModel() {
    }

    /** An attachment: a user's (static or dynamic) or the one an import owns. */
    static final class Att {
        final Attachment att;
        final boolean dynamic;
        final boolean ofImport;
        final Recorder rec;
        final Buf buf;
        boolean mapped;
        int notices;
        MemorySegment seg;

        Att(Attachment att, boolean dynamic, boolean ofImport, Recorder rec, Buf buf) {
            this.att = att;
            this.dynamic = dynamic;
            this.ofImport = ofImport;
            this.rec = rec;
            this.buf = buf;
        }
    }

    /** A DmaBuf and its live attachments, in attach order. */
    static final class Buf {
        final DmaBuf buf;
        final List<Att> atts = new ArrayList<>();
        boolean open = true;

        Buf(DmaBuf buf) {
            this.buf = buf;
        }

        boolean alive() {
            return open || !atts.isEmpty();
        }
    }

    /** An import into client cb: its own counts, and the attachment it owns. */
    static final class Imp {
        final BufferObject bo;
        final Att att;
        final List<Vmap> vmaps = new ArrayList<>();
        int uses;
        int pins;

        Imp(BufferObject bo, Att att) {
            this.bo = bo;
            this.att = att;
        }

        int pinTotal() {
            return pins + (vmaps.isEmpty() ? 0 : 1);
        }

        int useTotal() {
            return uses + (pinTotal() > 0 ? 1 : 0);
        }
    }

    /** An exporting object of manager a. */
    static final class Exp {
        final int id;
        final BufferObject bo;
        final byte[] content;
        final boolean[] backed;
        final List<Buf> bufs = new ArrayList<>();
        Residency res = Residency.UNPOPULATED;
        boolean dontNeed;
        boolean ownHandle = true;
        boolean handle2;
        boolean freed;
        Imp imp;

        Exp(int id, BufferObject bo) {
            this.id = id;
            this.bo = bo;
            this.content = new byte[(int) bo.size()];
            this.backed = new boolean[(int) (bo.size() / PAGE)];
        }

        Buf open() {
            for (Buf b : bufs) {
                if (b.open) {
                    return b;
                }
            }
            return null;
        }

        List<Att> userAtts() {
            List<Att> out = new ArrayList<>();
            for (Buf b : bufs) {
                for (Att a : b.atts) {
                    if (!a.ofImport) {
                        out.add(a);
                    }
                }
            }
            return out;
        }

        List<Att> allAtts() {
            List<Att> out = new ArrayList<>();
            bufs.forEach(b -> out.addAll(b.atts));
            return out;
        }

        int refs() {
            int n = (ownHandle ? 1 : 0) + (handle2 ? 1 : 0);
            for (Buf b : bufs) {
                n += b.alive() ? 1 : 0;
            }
            return n;
        }

        int pins() {
            int n = 0;
            for (Att a : allAtts()) {
                n += !a.dynamic && a.mapped ? 1 : 0;
            }
            if (imp != null) {
                n += (imp.pinTotal() > 0 ? 1 : 0) + (imp.vmaps.isEmpty() ? 0 : 1);
            }
            return n;
        }

        int uses() {
            int n = 0;
            for (Att a : allAtts()) {
                n += a.dynamic && a.mapped ? 1 : 0;
            }
            return n + (pins() > 0 ? 1 : 0);
        }

        int vmaps() {
            return imp != null && !imp.vmaps.isEmpty() ? 1 : 0;
        }

        boolean exported() {
            return bufs.stream().anyMatch(Buf::alive);
        }

        int backedCount() {
            int n = 0;
            for (boolean b : backed) {
                n += b ? 1 : 0;
            }
            return n;
        }

        /** Population or swap-in of [from, to): resident, the range backed. */
        void resident(int from, int to) {
            res = Residency.RESIDENT;
            Arrays.fill(backed, from, to, true);
        }

        @Override
        public String toString() {
            return "e" + id;
        }
    }

    /** The system under test and its model. */
    static final class World {
        final Fixture fx;
        final MemoryManager a;
        final MemoryManager b;
        final Client ca;
        final Client ca2;
        final Client cb;
        final List<Exp> exps = new ArrayList<>();
        final Set<String> events = new TreeSet<>();
        int names;

        World(Fixture fx) {
            this.fx = fx;
            this.a = MemoryManager.builder().capacity((long) A_PAGES * PAGE).pageSize(PAGE).backgroundReclaim(false).build();
            this.b = MemoryManager.builder().capacity((long) B_PAGES * PAGE).pageSize(PAGE).backgroundReclaim(false).build();
            this.ca = a.openClient("ca");
            this.ca2 = a.openClient("ca2");
            this.cb = b.openClient("cb");
            for (int i = 0; i < EXPORTER_PAGES.length; i++) {
                exps.add(new Exp(i, ca.create((long) EXPORTER_PAGES[i] * PAGE)));
            }
        }

        void close() {
            a.close();
            b.close();
        }

        /** Objects whose last reference went are freed: frames and slots back. */
        void settle() {
            for (Exp x : exps) {
                if (!x.freed && x.refs() == 0) {
                    x.freed = true;
                    x.res = Residency.UNPOPULATED;
                    Arrays.fill(x.backed, false);
                    events.add("exporter freed by " + (x.bufs.isEmpty() ? "its handle" : "its last sharer"));
                }
            }
        }

        void check() {
            long residentPages = 0;
            long slotPages = 0;
            long pinnedPages = 0;
            long caShared = 0;
            long ca2Total = 0;
            long cbTotal = 0;
            for (Exp x : exps) {
                if (x.freed) {
                    assertEquals(0, x.bo.refCount(), x + " freed");
                    assertEquals(List.of(), x.allAtts(), x + " freed with attachments in the model");
                    continue;
                }
                assertCounts(x.bo, x.refs(), x.uses(), x.pins(), x.vmaps(), x.toString());
                assertEquals(x.res, x.bo.residency(), x + " residency");
                for (Buf buf : x.bufs) {
                    assertEquals(buf.atts.stream().map(t -> t.att).toList(), buf.buf.attachments(), x + " attachments");
                    assertEquals(!buf.open, buf.buf.isClosed(), x + " DmaBuf closed");
                    for (Att t : buf.atts) {
                        assertEquals(t.mapped, t.att.isMapped(), x + " " + t.att.importer() + " mapped");
                        if (t.rec != null) {
                            assertEquals(t.notices, t.rec.count(), x + " " + t.att.importer() + " notices");
                        }
                    }
                }
                if (x.imp != null) {
                    Imp imp = x.imp;
                    assertTrue(imp.bo.isImported());
                    assertCounts(imp.bo, 1, imp.useTotal(), imp.pinTotal(), imp.vmaps.size(), x + " import");
                    assertEquals(x.res, imp.bo.residency(), x + " residency through the import");
                    cbTotal += imp.bo.size();
                }
                if (x.res == Residency.RESIDENT) {
                    residentPages += x.backedCount();
                } else if (x.res == Residency.EVICTED) {
                    slotPages += x.backedCount();
                }
                if (x.pins() > 0) {
                    pinnedPages += x.backed.length;
                }
                if (x.ownHandle && (x.exported() || x.handle2)) {
                    caShared += x.bo.size();
                }
                if (x.handle2) {
                    ca2Total += x.bo.size();
                }
            }
            MemoryStats sa = a.stats();
            assertEquals(a.capacity() - residentPages * PAGE, sa.free(), "manager a: free");
            assertEquals(slotPages * PAGE, sa.swapUsed(), "manager a: swap used");
            assertEquals(pinnedPages * PAGE, sa.pinned(), "manager a: pinned");
            MemoryStats sb = b.stats();
            assertEquals(List.of(b.capacity(), 0L, 0L, 0L), List.of(sb.free(), sb.resident(), sb.pinned(), sb.swapUsed()),
                    "manager b holds nothing of the exporters'");
            assertEquals(caShared, ca.stats().shared(), "ca shared");
            ClientStats s2 = ca2.stats();
            assertEquals(List.of(ca2Total, ca2Total), List.of(s2.total(), s2.shared()), "ca2 total and shared");
            assertEquals(new ClientStats(cbTotal, cbTotal, 0, 0, 0, 0), cb.stats(), "cb: imports hold no frames");
        }

        /** Drops a leaked or closed import from the model: its attachment goes, and what it held on the exporter. */
        void importGone(Exp x) {
            x.imp.att.buf.atts.remove(x.imp.att);
            x.imp = null;
            settle();
        }
    }

    // ---- the import's page operations --------------------------------------------------------------

    /** A use of the import's pages maps its attachment (again after an eviction) and swaps the exporter in. */
    static void importUsesPages(World w, Exp x) {
        if (x.res == Residency.EVICTED) {
            w.events.add("import swapped in after eviction");
        }
        x.imp.att.mapped = true;
        x.resident(0, x.backed.length);
    }

    static void importMayUnmap(Exp x) {
        if (x.imp.useTotal() == 0) {
            x.imp.att.mapped = false;
        }
    }

    static void getPages(World w, Exp x) {
        if (x.res == Residency.PURGED) {
            assertThrows(PurgedException.class, x.imp.bo::getPages);
            return;
        }
        x.imp.bo.getPages();
        x.imp.uses++;
        importUsesPages(w, x);
    }

    static void putPages(Exp x) {
        if (x.imp.uses == 0) {
            assertThrows(IllegalStateException.class, x.imp.bo::putPages);
            return;
        }
        x.imp.bo.putPages();
        x.imp.uses--;
        importMayUnmap(x);
    }

    static void pin(World w, Exp x) {
        if (x.res == Residency.PURGED) {
            assertThrows(PurgedException.class, x.imp.bo::pin);
            return;
        }
        if (x.dontNeed) {
            assertThrows(IllegalStateException.class, x.imp.bo::pin, "pins the exporter, which is DONTNEED");
            return;
        }
        boolean first = x.imp.pinTotal() == 0;
        x.imp.bo.pin();
        x.imp.pins++;
        if (first) {
            importUsesPages(w, x);
        }
    }

    static void unpin(Exp x) {
        if (x.imp.pins == 0) {
            assertThrows(IllegalStateException.class, x.imp.bo::unpin);
            return;
        }
        x.imp.bo.unpin();
        x.imp.pins--;
        importMayUnmap(x);
    }

    static void vmap(World w, Exp x) {
        if (x.res == Residency.PURGED) {
            assertThrows(PurgedException.class, x.imp.bo::vmap);
            return;
        }
        if (x.dontNeed) {
            assertThrows(IllegalStateException.class, x.imp.bo::vmap, "vmap pins");
            return;
        }
        boolean first = x.imp.pinTotal() == 0;
        Vmap v = x.imp.bo.vmap();
        x.imp.vmaps.add(v);
        if (first) {
            importUsesPages(w, x);
        }
        Fixture.assertBytes(x.content, Fixture.bytesOf(v.segment()), x + " through the import's vmap");
    }

    static void vunmap(Exp x) {
        x.imp.vmaps.remove(x.imp.vmaps.size() - 1).close();
        importMayUnmap(x);
    }
}
