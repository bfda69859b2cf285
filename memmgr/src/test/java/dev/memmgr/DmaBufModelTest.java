package dev.memmgr;

import static dev.memmgr.DmaBufModel.EXPORTER_PAGES;
import static dev.memmgr.Fixture.PAGE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memmgr.DmaBufModel.Att;
import dev.memmgr.DmaBufModel.Buf;
import dev.memmgr.DmaBufModel.Exp;
import dev.memmgr.DmaBufModel.Imp;
import dev.memmgr.DmaBufModel.World;
import dev.memmgr.DmaBufTestSupport.Notice;
import dev.memmgr.DmaBufTestSupport.Recorder;
import dev.memmgr.ModelRunner.Action;
import dev.memmgr.ModelRunner.Step;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Random sequences of buffer sharing across two managers against a model ({@link ModelRunner}:
 * the seed is printed on failure, {@code -Dmemmgr.seed=N} reruns one try). Manager a holds two
 * exporters of 3 and 2 pages in client {@code ca}; {@code ca2} (same manager) and {@code cb}
 * (manager b) import them. Steps: export (also through the import), close a DmaBuf, same-manager
 * import and close of that handle, close of the exporter's own handle, cross-manager import (of
 * open and closed DmaBufs), close of the import (clean, or leaking its page uses, pins and vmaps:
 * the leak WARNING is expected), static and dynamic attach, map, unmap and detach, getPages,
 * putPages, pin, unpin, vmap, a write through the import's view, vunmap of the import, writes and
 * reads through either side, madvise of the exporter, and reclaim of either manager.
 *
 * <p>Checked after every step: reference counts (own handle, imported handle, one per live
 * DmaBuf), page uses, pins and vmaps of the exporter and of the import, residency on both sides,
 * the DmaBufs' attachment lists (the instances, in order) and closed flags, each attachment's
 * mapped flag and move notices, frames and slots of both managers, and each client's total and
 * shared bytes. Reads compare every byte through either side, vmaps show the model's bytes, and
 * reclaim returns exactly the frames of the objects the model says go; every move notice came
 * in the evicting thread with the reservation held and saw the content through the old mapping.
 */
@ExtendWith(MemmgrExtension.class)
class DmaBufModelTest {
    static final int TRIES = 150;

    // ---- actions ---------------------------------------------------------------------------------

    private static Action<World> onExporter(String name, BiConsumer<World, Exp> op) {
        return rnd -> {
            int i = rnd.nextInt(EXPORTER_PAGES.length);
            return new Step<>(name + "(e" + i + ")", w -> op.accept(w, w.exps.get(i)));
        };
    }

    /** The k-th DmaBuf of x (any, closed ones too), or null. */
    private static Buf bufOf(Exp x, int k) {
        return x.bufs.isEmpty() ? null : x.bufs.get(k % x.bufs.size());
    }

    private static Action<World> export() {
        return rnd -> {
            int i = rnd.nextInt(EXPORTER_PAGES.length);
            boolean viaImport = rnd.nextInt(4) == 0;
            return new Step<>("export(e" + i + (viaImport ? " through its import)" : ")"), w -> {
                Exp x = w.exps.get(i);
                if (viaImport && x.imp == null) {
                    return;
                }
                BufferObject from = viaImport ? x.imp.bo : x.bo;
                if (x.freed) {
                    assertThrows(IllegalStateException.class, from::export);
                    return;
                }
                DmaBuf got = from.export();
                Buf open = x.open();
                if (open != null) {
                    assertSame(open.buf, got, "the open DmaBuf again");
                } else {
                    x.bufs.add(new Buf(got));
                    if (x.bufs.size() > 1) {
                        w.events.add("re-export");
                    }
                }
                assertSame(x.bo, got.exporter());
            });
        };
    }

    private static Action<World> closeBuf() {
        return rnd -> {
            int i = rnd.nextInt(EXPORTER_PAGES.length);
            int k = rnd.nextInt(4);
            return new Step<>("closeBuf(e" + i + ", #" + k + ")", w -> {
                Buf buf = bufOf(w.exps.get(i), k);
                if (buf != null) {
                    buf.buf.close();
                    buf.open = false;
                    w.settle();
                }
            });
        };
    }

    private static Action<World> importSame() {
        return rnd -> {
            int i = rnd.nextInt(EXPORTER_PAGES.length);
            int k = rnd.nextInt(4);
            return new Step<>("ca2.importBuffer(e" + i + " #" + k + ")", w -> {
                Exp x = w.exps.get(i);
                Buf buf = bufOf(x, k);
                if (buf == null) {
                    return;
                }
                if (!buf.open) {
                    assertThrows(IllegalStateException.class, () -> w.ca2.importBuffer(buf.buf));
                    w.events.add("import of a closed DmaBuf refused");
                    return;
                }
                assertSame(x.bo, w.ca2.importBuffer(buf.buf));
                x.handle2 = true;
                w.events.add("same-manager import");
            });
        };
    }

    private static Action<World> closeHandle2() {
        return onExporter("ca2.closeHandle", (w, x) -> {
            if (x.handle2) {
                w.ca2.closeHandle(w.ca2.handleOf(x.bo));
                x.handle2 = false;
                w.settle();
            } else if (!x.freed) {
                assertThrows(NoSuchHandleException.class, () -> w.ca2.handleOf(x.bo));
            }
        });
    }

    private static Action<World> closeOwnHandle() {
        return onExporter("close", (w, x) -> {
            x.bo.close();
            x.ownHandle = false;
            w.settle();
        });
    }

    private static Action<World> importCross() {
        return rnd -> {
            int i = rnd.nextInt(EXPORTER_PAGES.length);
            int k = rnd.nextInt(4);
            return new Step<>("cb.importBuffer(e" + i + " #" + k + ")", w -> {
                Exp x = w.exps.get(i);
                Buf buf = bufOf(x, k);
                if (buf == null) {
                    return;
                }
                if (!buf.open) {
                    assertThrows(IllegalStateException.class, () -> w.cb.importBuffer(buf.buf));
                    w.events.add("import of a closed DmaBuf refused");
                    return;
                }
                BufferObject got = w.cb.importBuffer(buf.buf);
                if (x.imp != null) {
                    assertSame(x.imp.bo, got, "importing again gives the same object");
                    return;
                }
                List<Attachment> now = buf.buf.attachments();
                Att att = new Att(now.get(now.size() - 1), true, true, null, buf);
                assertTrue(att.att.isDynamic());
                buf.atts.add(att);
                x.imp = new Imp(got, att);
                w.events.add("cross-manager import");
            });
        };
    }

    private static Action<World> closeImport() {
        return rnd -> {
            int i = rnd.nextInt(EXPORTER_PAGES.length);
            boolean leak = rnd.nextInt(3) == 0;
            return new Step<>((leak ? "closeImportLeaking(e" : "closeImport(e") + i + ")", w -> {
                Exp x = w.exps.get(i);
                Imp imp = x.imp;
                if (imp == null) {
                    return;
                }
                if (!leak) {
                    while (!imp.vmaps.isEmpty()) {
                        DmaBufModel.vunmap(x);
                    }
                    while (imp.pins > 0) {
                        DmaBufModel.unpin(x);
                    }
                    while (imp.uses > 0) {
                        DmaBufModel.putPages(x);
                    }
                }
                int pins = imp.bo.pinCount();
                int vmaps = imp.bo.vmapCount();
                int uses = imp.bo.pagesUseCount();
                imp.bo.close();
                if (pins + vmaps + uses > 0) {
                    w.fx.expectLeakWarning(imp.bo, pins, vmaps, uses);
                    w.events.add("import freed with uses outstanding");
                }
                assertEquals(0, imp.bo.refCount());
                w.importGone(x);
            });
        };
    }

    private static Action<World> attach() {
        return rnd -> {
            int i = rnd.nextInt(EXPORTER_PAGES.length);
            int k = rnd.nextInt(4);
            boolean dynamic = rnd.nextBoolean();
            return new Step<>("attach(e" + i + " #" + k + (dynamic ? ", dynamic)" : ", static)"), w -> {
                Exp x = w.exps.get(i);
                Buf buf = bufOf(x, k);
                if (buf == null) {
                    return;
                }
                String name = (dynamic ? "d" : "s") + w.names++;
                if (!buf.open) {
                    assertThrows(IllegalStateException.class,
                            () -> {
                                if (dynamic) {
                                    buf.buf.attach(name, new Recorder());
                                } else {
                                    buf.buf.attach(name);
                                }
                            });
                    return;
                }
                Recorder rec = dynamic ? new Recorder() : null;
                Attachment att = dynamic ? buf.buf.attach(name, rec) : buf.buf.attach(name);
                assertEquals(dynamic, att.isDynamic());
                buf.atts.add(new Att(att, dynamic, false, rec, buf));
            });
        };
    }

    /** Something done to an attachment of an exporter. */
    @FunctionalInterface
    interface AttOp {
        void apply(World w, Exp x, Att t);
    }

    /** An action on the j-th live user attachment of an exporter. */
    private static Action<World> onAttachment(String name, AttOp op) {
        return rnd -> {
            int i = rnd.nextInt(EXPORTER_PAGES.length);
            int j = rnd.nextInt(6);
            return new Step<>(name + "(e" + i + " att " + j + ")", w -> {
                Exp x = w.exps.get(i);
                List<Att> atts = x.userAtts();
                if (!atts.isEmpty()) {
                    op.apply(w, x, atts.get(j % atts.size()));
                    w.settle();
                }
            });
        };
    }

    private static void mapAtt(World w, Exp x, Att t) {
        Reservation r = t.buf.buf.resv();
        r.lock();
        try {
            if (x.res == Residency.PURGED) {
                assertThrows(PurgedException.class, t.att::map);
                return;
            }
            if (!t.dynamic && x.dontNeed) {
                assertThrows(IllegalStateException.class, t.att::map, "a static map pins");
                return;
            }
            Residency before = x.res;
            MemorySegment seg = t.att.map();
            if (t.mapped) {
                assertSame(t.seg, seg, "a mapped attachment gives its segment again");
            }
            assertEquals(x.bo.size(), seg.byteSize());
            t.mapped = true;
            t.seg = seg;
            if (t.rec != null) {
                t.rec.oldSegment = seg;
            }
            x.resident(0, x.backed.length);
            if (before == Residency.EVICTED) {
                w.events.add("map swapped in");
            }
            Fixture.assertBytes(x.content, Fixture.bytesOf(seg), x + " through the attachment's mapping");
        } finally {
            r.unlock();
        }
    }

    private static void unmapAtt(Att t) {
        Reservation r = t.buf.buf.resv();
        r.lock();
        try {
            if (!t.mapped) {
                assertThrows(IllegalStateException.class, t.att::unmap);
                return;
            }
            t.att.unmap();
            t.mapped = false;
        } finally {
            r.unlock();
        }
    }

    private static Action<World> reclaimA() {
        return rnd -> new Step<>("a.reclaim(all)", w -> {
            long expected = 0;
            List<Att> told = new ArrayList<>();
            List<byte[]> contents = new ArrayList<>();
            for (Exp x : w.exps) {
                if (x.freed || x.pins() > 0) {
                    continue;
                }
                if (x.res == Residency.RESIDENT) {
                    expected += x.backedCount();
                    for (Att t : x.allAtts()) {
                        if (t.dynamic && t.mapped) {
                            t.mapped = false;
                            t.notices++;
                            if (t.rec != null) {
                                told.add(t);
                                contents.add(x.content.clone());
                            }
                            w.events.add(t.ofImport ? "import's attachment told" : "user attachment told");
                        }
                    }
                    if (x.dontNeed) {
                        x.res = Residency.PURGED;
                        Arrays.fill(x.backed, false);
                        w.events.add("purged");
                    } else {
                        x.res = Residency.EVICTED;
                        w.events.add("evicted");
                    }
                } else if (x.res == Residency.EVICTED && x.dontNeed) {
                    x.res = Residency.PURGED;
                    Arrays.fill(x.backed, false);
                    w.events.add("purged from swap");
                }
            }
            assertEquals(expected * PAGE, w.a.reclaim(Long.MAX_VALUE), "reclaim frees the frames the model says");
            for (int n = 0; n < told.size(); n++) {
                Att t = told.get(n);
                List<Notice> ns = t.rec.notices();
                Notice last = ns.get(ns.size() - 1);
                assertSame(t.att, last.attachment());
                assertSame(Thread.currentThread(), last.thread(), "told in the evicting thread");
                assertTrue(last.resvHeld(), "told with the reservation held");
                assertTrue(last.mappedWhenTold(), "told while still mapped");
                assertNotNull(last.oldContent());
                Fixture.assertBytes(contents.get(n), last.oldContent(), "the old mapping when told");
                assertThrows(IllegalStateException.class, () -> t.seg.get(ValueLayout.JAVA_BYTE, 0), "old segment dead");
            }
        });
    }

    private static Action<World> reclaimB() {
        return rnd -> new Step<>("b.reclaim(all)", w -> assertEquals(0, w.b.reclaim(Long.MAX_VALUE),
                "imports hold no frames of their manager"));
    }

    private static Action<World> write() {
        return rnd -> {
            int i = rnd.nextInt(EXPORTER_PAGES.length);
            boolean viaImport = rnd.nextBoolean();
            int size = EXPORTER_PAGES[i] * PAGE;
            int off = rnd.nextInt(size);
            int len = 1 + rnd.nextInt(Math.min(size - off, 2 * PAGE));
            byte v = (byte) (1 + rnd.nextInt(255));
            return new Step<>("write(e" + i + (viaImport ? " import" : "") + ", " + off + ", " + len + ", " + v + ")", w -> {
                Exp x = w.exps.get(i);
                if (viaImport && x.imp == null) {
                    return;
                }
                BufferObject bo = viaImport ? x.imp.bo : x.bo;
                MemorySegment src = Fixture.filled(len, v);
                if (x.freed) {
                    assertThrows(IllegalStateException.class, () -> bo.write(off, src));
                    return;
                }
                if (x.res == Residency.PURGED) {
                    assertThrows(PurgedException.class, () -> bo.write(off, src));
                    return;
                }
                Residency before = x.res;
                bo.write(off, src);
                Arrays.fill(x.content, off, off + len, v);
                x.resident(off / PAGE, (off + len - 1) / PAGE + 1);
                if (viaImport && before == Residency.EVICTED) {
                    w.events.add("write through the import swapped in");
                }
            });
        };
    }

    private static Action<World> read() {
        return rnd -> {
            int i = rnd.nextInt(EXPORTER_PAGES.length);
            boolean viaImport = rnd.nextBoolean();
            return new Step<>("read(e" + i + (viaImport ? " import)" : ")"), w -> {
                Exp x = w.exps.get(i);
                if (viaImport && x.imp == null) {
                    return;
                }
                BufferObject bo = viaImport ? x.imp.bo : x.bo;
                if (x.freed) {
                    assertThrows(IllegalStateException.class, () -> bo.read(0, Fixture.filled(1, (byte) 0)));
                    return;
                }
                if (x.res == Residency.PURGED) {
                    assertThrows(PurgedException.class, () -> bo.read(0, Fixture.filled(1, (byte) 0)));
                    return;
                }
                Fixture.assertContent(x.content, bo, x + (viaImport ? " through the import" : ""));
                if (x.res == Residency.EVICTED) {
                    x.res = Residency.RESIDENT;
                    w.events.add(viaImport ? "read through the import swapped in" : "read swapped in");
                }
            });
        };
    }

    private static Action<World> madvise() {
        return rnd -> {
            int i = rnd.nextInt(EXPORTER_PAGES.length);
            Madvise advice = rnd.nextInt(3) == 0 ? Madvise.WILLNEED : Madvise.DONTNEED;
            return new Step<>("madvise(e" + i + ", " + advice + ")", w -> {
                Exp x = w.exps.get(i);
                if (x.freed) {
                    assertThrows(IllegalStateException.class, () -> x.bo.madvise(advice));
                    return;
                }
                if (x.res == Residency.PURGED) {
                    assertFalse(x.bo.madvise(advice));
                    return;
                }
                if (advice == Madvise.DONTNEED && x.pins() > 0) {
                    assertThrows(IllegalStateException.class, () -> x.bo.madvise(advice));
                    return;
                }
                assertTrue(x.bo.madvise(advice));
                x.dontNeed = advice == Madvise.DONTNEED;
            });
        };
    }

    private static Action<World> onImport(String name, BiConsumer<World, Exp> op) {
        return onExporter(name, (w, x) -> {
            if (x.imp != null) {
                op.accept(w, x);
            }
        });
    }

    private static Action<World> writeThroughImportView() {
        return rnd -> {
            int i = rnd.nextInt(EXPORTER_PAGES.length);
            int off = rnd.nextInt(EXPORTER_PAGES[i] * PAGE);
            byte v = (byte) (1 + rnd.nextInt(255));
            return new Step<>("writeThroughImportVmap(e" + i + ", " + off + ", " + v + ")", w -> {
                Exp x = w.exps.get(i);
                if (x.imp == null || x.imp.vmaps.isEmpty()) {
                    return;
                }
                x.imp.vmaps.get(0).segment().set(ValueLayout.JAVA_BYTE, off, v);
                x.content[off] = v;
                w.events.add("wrote through the import's view");
            });
        };
    }

    @Test
    void sharingFollowsTheModel(TestInfo info, Fixture fx) {
        new ModelRunner<World>(info, rnd -> new World(fx))
                .tries(TRIES)
                .steps(20, 60)
                .action(3, export())
                .action(1, closeBuf())
                .action(2, importSame())
                .action(1, closeHandle2())
                .action(1, closeOwnHandle())
                .action(3, importCross())
                .action(1, closeImport())
                .action(3, attach())
                .action(5, onAttachment("map", DmaBufModelTest::mapAtt))
                .action(2, onAttachment("unmap", (w, x, t) -> unmapAtt(t)))
                .action(1, onAttachment("detach", (w, x, t) -> {
                    t.att.close();
                    t.mapped = false;
                    t.buf.atts.remove(t);
                }))
                .action(3, onImport("import.getPages", DmaBufModel::getPages))
                .action(2, onImport("import.putPages", (w, x) -> DmaBufModel.putPages(x)))
                .action(2, onImport("import.pin", DmaBufModel::pin))
                .action(2, onImport("import.unpin", (w, x) -> DmaBufModel.unpin(x)))
                .action(2, onImport("import.vmap", DmaBufModel::vmap))
                .action(2, onImport("import.vunmap", (w, x) -> {
                    if (!x.imp.vmaps.isEmpty()) {
                        DmaBufModel.vunmap(x);
                    }
                }))
                .action(1, writeThroughImportView())
                .action(4, write())
                .action(3, read())
                .action(2, madvise())
                .action(4, reclaimA())
                .action(1, reclaimB())
                .invariant(World::check)
                .tearDown(World::close)
                .events(w -> w.events)
                .run()
                .assertCovered("cross-manager import", "same-manager import", "re-export", "user attachment told",
                        "import's attachment told", "import swapped in after eviction", "read through the import swapped in",
                        "write through the import swapped in", "map swapped in", "purged", "evicted",
                        "import freed with uses outstanding", "exporter freed by its last sharer",
                        "import of a closed DmaBuf refused", "wrote through the import's view");
    }
}
