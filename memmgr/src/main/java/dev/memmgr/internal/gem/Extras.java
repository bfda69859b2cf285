package dev.memmgr.internal.gem;

import dev.memmgr.internal.obs.LeakSites;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * What most buffer objects never need, kept off the object so that a plain one stays small (the
 * heap target is 200 bytes per object): the import and leak-detection state (final, present from
 * creation), the label, retain/lookup references, and the sharing counts. A {@link GemObject}
 * gets one at creation when it is an import or leak detection is on, otherwise at the first
 * label, retain or lookup, export, or second handle ({@link GemObject#extras()}, installed by a
 * compare-and-set, so every thread sees the same one).
 *
 * <p>Each field keeps the guard it had on the object: the label and retain counts are
 * lock-free, {@code attachMaps} is the reservation's, {@code exports} and {@code openExport} the
 * dma-buf layer's lock, {@code extraHandles} the other client's monitor.
 */
final class Extras {
    static final VarHandle USER_REFS;

    static {
        try {
            USER_REFS = MethodHandles.lookup().findVarHandle(Extras.class, "userRefs", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** The exporter's side of an import, or null. */
    final ImportedPages imported;
    /** Where the object was created and its counts taken; null unless the manager detects leaks. */
    final LeakSites sites;
    /** A name for people: shown in stats, dumps, events and leak reports. */
    volatile String label = "";
    /** References of retain and lookup not yet released. */
    volatile int userRefs;
    /** Mapped dma-buf attachments using the object's mapping besides the vmaps; reservation. */
    int attachMaps;
    /** Handles in clients other than the owner (same-manager imports); the client's monitor. */
    volatile int extraHandles;
    /** DmaBufs of the object still alive (open or attached); the dma-buf layer's lock. */
    volatile int exports;
    /** The dma-buf layer's open export of the object, opaque here; that layer's lock. */
    Object openExport;

    Extras(ImportedPages imported, LeakSites sites) {
        this.imported = imported;
        this.sites = sites;
    }
}
