package dev.memmgr;

import static dev.memmgr.Fixture.PAGE;
import static dev.memmgr.Fixture.fill;
import static dev.memmgr.Fixture.pages;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Leak reports of DESIGN 4.6 ({@code Builder.leakDetection(true)}): closing a client or the
 * manager reports at WARNING, on logger "dev.memmgr", each object whose handle was never closed,
 * with its label and its creation stack (which starts at the user's line, not inside the
 * library); an object freed with pins, vmaps or page uses outstanding is reported with the sites
 * that took them. Off (the default): nothing is recorded and no such report is made.
 */
@ExtendWith(MemmgrExtension.class)
class LeakDetectionTest {
    private static MemoryManager detecting(Fixture fx) {
        return fx.build(MemoryManager.builder().capacity(Fixture.CAPACITY).pageSize(PAGE).backgroundReclaim(false)
                .leakDetection(true));
    }

    /** The stack of a site starts at the caller of the library: this test class, in {@code method}. */
    private static void assertSiteAt(Throwable site, String method) {
        StackTraceElement top = site.getStackTrace()[0];
        assertEquals(LeakDetectionTest.class.getName(), top.getClassName(), Arrays.toString(site.getStackTrace()));
        assertEquals(method, top.getMethodName());
        assertFalse(site.toString().contains("dev.memmgr.internal"), "no internal class name: " + site);
    }

    @Test
    void closingAClientReportsEachHandleNeverClosed(Fixture fx) {
        MemoryManager mm = detecting(fx);
        assertTrue(mm.device().leakDetection());
        Client c = mm.openClient("leaky");
        BufferObject forgotten = c.create(pages(4)).label("forgotten texture");
        BufferObject anonymous = c.create(PAGE);
        BufferObject closed = c.create(PAGE);
        closed.close();
        BufferObject retained = c.create(PAGE).retain();
        retained.close(); // its handle was closed: not a handle leak, whoever holds the reference
        c.close();

        List<LogRecord> reports = fx.logs().expect(2, "handle leak reports", r -> LogCapture.text(r).contains("never closed"));
        LogRecord first = reports.stream().filter(r -> LogCapture.text(r).contains("forgotten")).findFirst().orElseThrow();
        assertEquals(Level.WARNING, first.getLevel());
        assertEquals(LogCapture.LOGGER, first.getLoggerName());
        assertEquals("buffer object " + forgotten.handle() + " of client 'leaky' labelled 'forgotten texture' (16 KiB) "
                + "leaked: its handle was never closed (open when the client closed); created at:", LogCapture.text(first));
        assertSiteAt(first.getThrown(), "closingAClientReportsEachHandleNeverClosed");
        assertEquals("created here", first.getThrown().getMessage());
        assertTrue(reports.stream().anyMatch(r -> LogCapture.text(r).startsWith("buffer object " + anonymous.handle()
                + " of client 'leaky' (4 KiB) leaked")), "an object without a label is named by handle and client");
        retained.release();
    }

    @Test
    void closingTheManagerReportsHandlesOfEveryClient(Fixture fx) {
        MemoryManager mm = detecting(fx);
        Client a = mm.openClient("a");
        Client b = mm.openClient("b");
        a.create(PAGE).label("in a");
        b.create(PAGE).label("in b");
        b.create(PAGE).close();
        mm.close();
        for (String who : new String[] {"'a' labelled 'in a'", "'b' labelled 'in b'"}) {
            LogRecord r = fx.logs().expectWarning(who, "never closed", "open when the manager closed");
            assertSiteAt(r.getThrown(), "closingTheManagerReportsHandlesOfEveryClient");
        }
    }

    private static void pinHere(BufferObject bo) {
        bo.pin();
    }

    private static Vmap vmapHere(BufferObject bo) {
        return bo.vmap();
    }

    private static void usePagesHere(BufferObject bo) {
        bo.getPages();
    }

    @Test
    void leakedCountsAtFreeAreReportedWithTheSitesThatTookThem(Fixture fx) {
        MemoryManager mm = detecting(fx);
        Client c = fx.client(mm, "counts");
        BufferObject bo = c.create(pages(2)).label("leaked counts");
        fill(bo, (byte) 1);
        pinHere(bo);      // first pin
        bo.pin();         // last pin, in the test method itself
        Vmap view = vmapHere(bo);
        usePagesHere(bo);
        bo.close();
        LogRecord r = fx.expectLeakWarning(bo, 3, 1, 2);
        assertTrue(LogCapture.text(r).contains("labelled 'leaked counts'"), LogCapture.text(r));
        Throwable report = r.getThrown();
        assertSiteAt(report, "leakedCountsAtFreeAreReportedWithTheSitesThatTookThem");
        List<String> sites = Arrays.stream(report.getSuppressed()).map(Throwable::getMessage).toList();
        assertEquals(List.of("first pin taken here", "last pin taken here", "vmap taken here", "page use taken here"),
                sites, "the page use all pins hold is the library's: the user's getPages is the one shown");
        Throwable[] s = report.getSuppressed();
        assertSiteAt(s[0], "pinHere");
        assertSiteAt(s[1], "leakedCountsAtFreeAreReportedWithTheSitesThatTookThem");
        assertSiteAt(s[2], "vmapHere");
        assertSiteAt(s[3], "usePagesHere");
        view.close(); // the view of a freed object: nothing to do
    }

    @Test
    void offByDefaultNothingIsRecordedOrReported(Fixture fx) {
        MemoryManager mm = fx.manager();
        assertFalse(mm.device().leakDetection());
        Client c = mm.openClient("quiet");
        c.create(PAGE).label("never closed");
        BufferObject pinned = c.create(PAGE);
        pinned.pin();
        c.close(); // the open handle is not reported; the leaked pin is, without sites
        LogRecord r = fx.expectLeakWarning(pinned, 1, 0, 1);
        assertNull(r.getThrown(), "no sites without leak detection");
        mm.close();
        assertEquals(1, fx.logs().records().stream().filter(LogCapture::isWarning).count(),
                "one WARNING, the leaked pin: nothing about handles");
    }
}
