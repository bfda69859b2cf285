package dev.memmgr;

import static dev.memmgr.Fixture.fill;
import static dev.memmgr.Fixture.pages;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The fixture itself, on fixtures made inside the test (each replaces the test's own log
 * capture while it runs): the library's log is captured, expected WARNINGs are claimed and
 * counted exactly, an unexpected WARNING fails the test, records below WARNING never do, and
 * everything the test opened is closed, its workers stopped and its directory removed.
 */
@ExtendWith(MemmgrExtension.class)
class FixtureTest {
    private static final System.Logger LIBRARY = System.getLogger(LogCapture.LOGGER);

    @Test
    void anUnexpectedWarningFailsTheTestWithTheRecordInTheReport() {
        Fixture f = new Fixture();
        f.start();
        LIBRARY.log(System.Logger.Level.WARNING, "probe warning", new IllegalStateException("probe cause"));
        assertEquals(1, f.logs().records().size(), "captured");
        AssertionError e = f.finish();
        assertNotNull(e, "an unexpected WARNING fails the test");
        assertTrue(e.getMessage().contains("unexpected WARNING"), e.getMessage());
        assertTrue(e.getMessage().contains("probe warning"), e.getMessage());
        assertTrue(e.getMessage().contains("IllegalStateException: probe cause"), "with what it carries: " + e.getMessage());
    }

    @Test
    void expectedWarningsAreClaimedAndCountedExactly() {
        Fixture f = new Fixture();
        f.start();
        LIBRARY.log(System.Logger.Level.WARNING, "first leak of 1");
        LIBRARY.log(System.Logger.Level.WARNING, "second leak of 2");
        assertThrows(AssertionError.class, () -> f.logs().expectWarning("leak"), "two match, one expected");
        f.logs().expectWarning("leak of 1");
        assertThrows(AssertionError.class, () -> f.logs().expectWarning("leak of 1"), "already claimed");
        assertEquals(1, f.logs().unexpected().size());
        f.logs().expectWarnings("leak");
        assertNull(f.finish(), "every WARNING was expected");
    }

    @Test
    void recordsBelowWarningNeverFail() {
        Fixture f = new Fixture();
        f.start();
        LIBRARY.log(System.Logger.Level.INFO, "just so you know");
        assertNull(f.finish());
    }

    @Test
    void theCaptureOfTheRunningTestResumesAfterANestedOne(Fixture fx) {
        Fixture f = new Fixture();
        f.start();
        assertNull(f.finish());
        LIBRARY.log(System.Logger.Level.WARNING, "after the nested fixture");
        fx.logs().expectWarning("after the nested fixture");
    }

    @Test
    void managersClientsWorkersAndTheDirectoryAreClosedWhenTheTestEnds() {
        Fixture f = new Fixture();
        f.start();
        MemoryManager mm = f.manager(pages(64), pages(64));
        Client c = f.client(mm, "left open");
        BufferObject bo = c.create(pages(2));
        fill(bo, (byte) 1);
        bo.pin(); // left pinned: closing the manager frees it without a leak report
        Path dir = f.tempDir();
        assertTrue(Files.isDirectory(dir));
        CountDownLatch ran = new CountDownLatch(1);
        f.workers().add("never started", ran::countDown);
        assertNull(f.finish(), "nothing went wrong");
        assertThrows(IllegalStateException.class, () -> mm.openClient("x"), "the manager is closed");
        assertThrows(IllegalStateException.class, c::stats, "the client is closed");
        assertFalse(Files.exists(dir), "the directory is gone");
        assertEquals(1, ran.getCount(), "a worker never started does not run after the test");
    }
}
