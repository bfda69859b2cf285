package dev.memmgr.internal.gem;

import dev.memmgr.BufferObject;
import dev.memmgr.Client;
import dev.memmgr.ClientStats;
import dev.memmgr.NoSuchHandleException;
import dev.memmgr.internal.obs.Json;
import dev.memmgr.internal.resv.Resv;
import java.util.ArrayList;
import java.util.List;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.agrona.collections.Int2ObjectHashMap;
import org.agrona.collections.Object2IntHashMap;

/**
 * A client (drm_file): a namespace of handles to buffer objects, and the per-client statistics.
 * A handle holds one reference on its object; objects outlive their handles when other
 * references remain.
 *
 * <p>Locking: the handle table is guarded by this object's monitor, a leaf lock: nothing else is
 * locked while it is held (retaining an object is a CAS). Statistics read object state without
 * locks: a snapshot, not an atomic one.
 */
public final class GemFile {
    private final GemDevice dev;
    private final String name;
    private final int id;
    /** Open addressing at a 0.9 load factor: about 9 bytes per handle instead of 12 to 25. */
    private final Int2ObjectHashMap<GemObject> handles = new Int2ObjectHashMap<>(16, 0.9f);
    private int nextHandle = 1;
    /** Handles of objects owned by other clients (same-manager imports); guarded by this monitor. */
    private final Object2IntHashMap<GemObject> secondary = new Object2IntHashMap<>(-1);
    /** References of secondary handles closed under the monitor, dropped after it. */
    private final List<GemObject> pendingDrops = new ArrayList<>(0);
    /** Imports made here, by exporter; guarded by this monitor. */
    private final Map<GemObject, GemObject> imports = new HashMap<>(0);
    /** What closes with the client before its handles (its GPU VMs); guarded by this monitor. */
    private final List<Runnable> closeHooks = new ArrayList<>(0);
    private volatile boolean closed;
    /** Reclaim of this client's objects, for its published counters. */
    private final AtomicLong evictions = new AtomicLong();
    private final AtomicLong swapIns = new AtomicLong();
    private final AtomicLong purges = new AtomicLong();
    /** What the client's GPU VMs write into a dump (each its mappings); the VM layer adds and removes them. */
    private final List<Consumer<Json>> vmDumps = new CopyOnWriteArrayList<>();
    /** The public facade, set once by its creator before the client is handed out. */
    private Client facade;

    GemFile(GemDevice dev, String name, int id) {
        this.dev = dev;
        this.name = name;
        this.id = id;
    }

    /** @return the device (manager) of this client */
    public GemDevice device() {
        return dev;
    }

    public String name() {
        return name;
    }

    /** @return the client id printed in fdinfo (drm-client-id) */
    public int id() {
        return id;
    }

    /** @return the public object this one stands behind */
    public Client facade() {
        return facade;
    }

    /** Sets the public facade; once, by the creator, before the client is handed out. */
    public void facade(Client f) {
        if (facade != null) {
            throw new IllegalStateException("facade already set");
        }
        facade = f;
    }

    public boolean isClosed() {
        return closed;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("client '" + name + "' is closed");
        }
        dev.checkOpen();
    }

    /**
     * Creates an object of {@code pages} pages with a new handle. Lazy: no frames yet. Enters
     * the device gate, so the manager's teardown finds the object on its lists.
     *
     * @param facadeFactory makes the public object, attached before the handle is published
     * @throws IllegalStateException if this client or the manager is closed
     */
    public GemObject create(int pages, Function<GemObject, BufferObject> facadeFactory) {
        return create(pages, facadeFactory, new Resv());
    }

    /**
     * {@link #create(int, Function)} with a given reservation: a GPU VM's, shared by the objects
     * local to it (they lock together, and are busy together).
     */
    public GemObject create(int pages, Function<GemObject, BufferObject> facadeFactory, Resv resv) {
        return newObject(pages, facadeFactory, resv, null);
    }

    /**
     * Imports an object of another manager into this client (a new handle), or returns the
     * import made earlier here for the same exporter, with no new reference. The import shares
     * the exporter's reservation; its operations go through {@code pages}.
     *
     * @param pages made for a new import only; its {@link ImportedPages#released()} is called if
     *     the import is not kept
     * @throws IllegalStateException if this client or the manager is closed
     * @throws IllegalArgumentException if the exporter's size is not a whole number of this
     *     manager's pages (the import has the exporter's size)
     */
    public GemObject importFrom(GemObject exporter, Supplier<ImportedPages> pages, Function<GemObject, BufferObject> facadeFactory) {
        synchronized (this) {
            checkOpen();
            GemObject existing = liveImportLocked(exporter);
            if (existing != null) {
                return existing;
            }
        }
        long size = exporter.size();
        long pageSize = dev.pageSize();
        if (size % pageSize != 0) {
            throw new IllegalArgumentException("cannot import a buffer of " + size + " bytes into manager pages of "
                    + pageSize + " bytes: the sizes must agree");
        }
        ImportedPages imp = pages.get();
        GemObject obj;
        try {
            obj = newObject(Math.toIntExact(size / pageSize), facadeFactory, exporter.resv(), imp); // the exporter's size
        } catch (RuntimeException | Error e) {
            imp.released();
            throw e;
        }
        GemObject won;
        synchronized (this) {
            won = liveImportLocked(exporter);
            if (won == null) {
                imports.put(exporter, obj);
            }
        }
        if (won != null) {
            obj.closeHandle(); // another thread imported the same buffer meanwhile: one import per client
            return won;
        }
        return obj;
    }

    /** @return the import of that exporter made here, if its handle is still open; this monitor held */
    private GemObject liveImportLocked(GemObject exporter) {
        GemObject existing = imports.get(exporter);
        return existing != null && existing.isHandleOpen() && !existing.isDying() ? existing : null;
    }

    /** Forgets a freed import (its free path). */
    void forgetImport(GemObject obj) {
        synchronized (this) {
            ImportedPages imp = obj.imported();
            if (imp != null && imports.get(imp.exporter()) == obj) {
                imports.remove(imp.exporter());
            }
        }
    }

    private GemObject newObject(int pages, Function<GemObject, BufferObject> facadeFactory, Resv resv, ImportedPages imp) {
        if (pages <= 0) {
            throw new IllegalArgumentException("pages must be positive: " + pages);
        }
        Gate gate = dev.gate();
        if (!gate.enter()) {
            throw GemDevice.closedException();
        }
        try {
            GemObject obj;
            synchronized (this) {
                checkOpen();
                int h = nextHandleLocked();
                obj = new GemObject(this, pages, h, resv, imp, facadeFactory);
                handles.put(h, obj);
            }
            obj.register();
            return obj;
        } finally {
            gate.exit();
        }
    }

    private int nextHandleLocked() {
        int h = nextHandle;
        while (h <= 0 || handles.containsKey(h)) {
            h = h <= 0 ? 1 : h + 1;
        }
        nextHandle = h + 1;
        return h;
    }

    /**
     * Gives an object of this manager a handle in this client (a same-manager import), holding
     * one lifetime reference; an object with a handle here already keeps it and takes nothing.
     *
     * @return the object's handle in this client
     * @throws IllegalStateException if this client or the manager is closed, or the object freed
     */
    public int addHandle(GemObject obj) {
        synchronized (this) {
            checkOpen();
            if (isOwnHandleLocked(obj)) {
                return obj.handle();
            }
            int existing = secondary.getValue(obj);
            if (existing != secondary.missingValue()) {
                return existing;
            }
            obj.retainLifetime(); // a CAS: fine under this leaf monitor
            int h = nextHandleLocked();
            handles.put(h, obj);
            secondary.put(obj, h);
            obj.extraHandle(1);
            return h;
        }
    }

    private boolean isOwnHandleLocked(GemObject obj) {
        return obj.file() == this && obj.isHandleOpen() && handles.get(obj.handle()) == obj;
    }

    /**
     * @return the handle the object has in this client
     * @throws NoSuchHandleException if it has none
     */
    public int handleOf(GemObject obj) {
        synchronized (this) {
            checkOpen();
            if (isOwnHandleLocked(obj)) {
                return obj.handle();
            }
            int h = secondary.getValue(obj);
            if (h == secondary.missingValue()) {
                throw new NoSuchHandleException("buffer object " + obj.handle() + " has no handle in client '" + name + "'");
            }
            return h;
        }
    }

    /**
     * Closes one handle of this client, dropping its reference.
     *
     * @throws NoSuchHandleException if the handle is not open here
     */
    public void closeHandle(int handle) {
        GemObject obj;
        synchronized (this) {
            checkOpen();
            obj = handles.get(handle);
            if (obj == null) {
                throw new NoSuchHandleException("no handle " + handle + " in client '" + name + "'");
            }
            if (obj.file() != this || obj.handle() != handle) {
                dropSecondaryLocked(handle, obj);
                obj = null;
            }
        }
        if (obj != null) {
            obj.closeHandle(); // the owner's handle
        } else {
            dropPending();
        }
    }

    /** Takes a secondary handle out; the caller drops the reference after leaving the monitor. */
    private void dropSecondaryLocked(int handle, GemObject obj) {
        handles.remove(handle);
        secondary.remove(obj);
        obj.extraHandle(-1);
        pendingDrops.add(obj);
    }

    /** Drops the references of secondary handles closed under the monitor (no lock held). */
    private void dropPending() {
        List<GemObject> drops;
        synchronized (this) {
            if (pendingDrops.isEmpty()) {
                return;
            }
            drops = new ArrayList<>(pendingDrops);
            pendingDrops.clear();
        }
        for (GemObject o : drops) {
            o.dropLifetime();
        }
    }

    /**
     * @return the object of a handle with one more lifetime reference (the caller releases it)
     * @throws NoSuchHandleException if the handle is not open in this client
     */
    public GemObject lookup(int handle) {
        synchronized (this) {
            checkOpen();
            GemObject obj = handles.get(handle);
            if (obj == null) {
                throw new NoSuchHandleException("no handle " + handle + " in client '" + name + "'");
            }
            obj.retainUser(); // cannot fail: the handle in the table holds a reference
            return obj;
        }
    }

    void forgetHandle(GemObject obj) {
        synchronized (this) {
            if (handles.get(obj.handle()) == obj) {
                handles.remove(obj.handle());
            }
        }
    }

    /**
     * Per-client statistics over the objects with open handles (drm-usage-stats): total size,
     * shared (exported, imported, or with handles in another client too), resident and evicted
     * bytes of frames and slots of this manager (an import's pages are its exporter's), purgeable
     * (DONTNEED, unpinned, resident, not active) and active (any unsignaled fence) bytes.
     */
    public ClientStats stats() {
        List<GemObject> objs;
        synchronized (this) {
            checkOpen();
            objs = new ArrayList<>(handles.values());
        }
        long pageSize = dev.pageSize();
        long total = 0;
        long resident = 0;
        long purgeable = 0;
        long active = 0;
        long evicted = 0;
        long shared = 0;
        for (GemObject o : objs) {
            if (o.isFreed()) {
                continue;
            }
            total += o.size();
            long backed = o.backedPages() * pageSize;
            boolean busy = o.resv().isBusy();
            if (o.isResident()) {
                resident += backed;
                if (!busy && o.isDontNeed() && o.pinCount() == 0) {
                    purgeable += backed;
                }
            } else if (o.isEvicted()) {
                evicted += backed;
            }
            if (busy) {
                active += o.size();
            }
            if (o.isShared()) {
                shared += o.size();
            }
        }
        return new ClientStats(total, shared, resident, purgeable, active, evicted);
    }

    /** @return the objects with handles here, own and imported (a snapshot; the leaf monitor held briefly) */
    List<GemObject> objectsSnapshot() {
        synchronized (this) {
            return new ArrayList<>(handles.values());
        }
    }

    /** @return the open handles and their objects, by handle (a snapshot) */
    java.util.SortedMap<Integer, GemObject> handlesSnapshot() {
        java.util.TreeMap<Integer, GemObject> out = new java.util.TreeMap<>();
        synchronized (this) {
            handles.forEach(out::put);
        }
        return out;
    }

    void countEviction() {
        evictions.incrementAndGet();
    }

    void countSwapIn() {
        swapIns.incrementAndGet();
    }

    void countPurge() {
        purges.incrementAndGet();
    }

    /** @return objects of this client evicted so far */
    long evictions() {
        return evictions.get();
    }

    long swapIns() {
        return swapIns.get();
    }

    long purges() {
        return purges.get();
    }

    /** Adds what a GPU VM of this client writes into a dump (the VM layer; removed when the VM closes). */
    public void addVmDump(Consumer<Json> dump) {
        vmDumps.add(dump);
    }

    public void removeVmDump(Consumer<Json> dump) {
        vmDumps.remove(dump);
    }

    List<Consumer<Json>> vmDumps() {
        return vmDumps;
    }

    /** The drm-usage-stats text of this client (see {@code Client.fdinfo()}). */
    public String fdinfo() {
        ClientStats s = stats();
        StringBuilder sb = new StringBuilder(256);
        sb.append("drm-driver:\tmemmgr\n");
        sb.append("drm-client-id:\t").append(id).append('\n');
        sb.append("drm-client-name:\t").append(name.replaceAll("[\\p{Cntrl}]", " ")).append('\n');
        size(sb, "total", s.total());
        size(sb, "shared", s.shared());
        size(sb, "resident", s.resident());
        size(sb, "purgeable", s.purgeable());
        size(sb, "active", s.active());
        size(sb, "evicted", s.evicted());
        return sb.toString();
    }

    /** As the kernel's drm_fdinfo_print_size, except that zero prints "0 KiB" (always a unit). */
    private static void size(StringBuilder sb, String key, long bytes) {
        String unit = " KiB";
        long v = bytes / 1024;
        if (bytes != 0 && bytes % (1024 * 1024) == 0) {
            v = bytes / (1024 * 1024);
            unit = " MiB";
        } else if (bytes % 1024 != 0) {
            v = bytes;
            unit = "";
        }
        sb.append("drm-").append(key).append("-memory:\t").append(v).append(unit).append('\n');
    }

    /**
     * Registers something that closes with this client, before its handles (a GPU VM of the
     * client).
     *
     * @return false, with nothing registered, if the client is closed already
     */
    public boolean onClose(Runnable hook) {
        synchronized (this) {
            if (closed) {
                return false;
            }
            closeHooks.add(hook);
            return true;
        }
    }

    /** Forgets a hook of {@link #onClose} (the VM was closed on its own). */
    public void removeOnClose(Runnable hook) {
        synchronized (this) {
            closeHooks.remove(hook);
        }
    }

    /** Closes the client's VMs, then every handle still open (objects with other references live on). Idempotent. */
    public void close() {
        List<GemObject> open;
        List<Runnable> hooks;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            open = new ArrayList<>();
            handles.forEach((h, o) -> {
                if (o.file() == this && o.handle() == h) {
                    open.add(o);
                } else {
                    secondary.remove(o);
                    o.extraHandle(-1);
                    pendingDrops.add(o);
                }
            });
            handles.clear();
            hooks = new ArrayList<>(closeHooks);
            closeHooks.clear();
        }
        dev.fileClosed(this);
        dev.obs().reportOpenHandles(open, "the client closed");
        hooks.forEach(Runnable::run);
        dropPending();
        for (GemObject o : open) {
            o.closeHandle();
        }
    }

    /** The manager is closing: the objects are released by the device; close the VMs and mark this closed. */
    void closeForShutdown() {
        List<Runnable> hooks;
        List<GemObject> open = new ArrayList<>();
        synchronized (this) {
            closed = true;
            handles.forEach((h, o) -> {
                if (o.file() == this && o.handle() == h) {
                    open.add(o);
                }
            });
            handles.clear();
            hooks = new ArrayList<>(closeHooks);
            closeHooks.clear();
        }
        dev.obs().reportOpenHandles(open, "the manager closed");
        hooks.forEach(Runnable::run);
    }
}
