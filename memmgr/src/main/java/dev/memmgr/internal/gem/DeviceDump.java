package dev.memmgr.internal.gem;

import dev.memmgr.ClientStats;
import dev.memmgr.MemoryManager;
import dev.memmgr.MemoryStats;
import dev.memmgr.internal.obs.Json;
import dev.memmgr.internal.reclaim.Lru;
import dev.memmgr.internal.reclaim.LruNode;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * MemoryManager.dump(): the JSON text of a device, in the spirit of VMA's stats string.
 *
 * <pre>{@code
 * { "memmgr": version, "manager": { name, pageSize, stats: {MemoryStats components} },
 *   "clients": [ { id, name, stats: {ClientStats components},
 *                  objects: [ { handle, label, size, residency, refCount, pagesUseCount, pinCount,
 *                               vmapCount, madvise, busy, shared, imported, exported
 *                               [, owner, ownerHandle] } ],
 *                  vms: [ { name, start, size, mappings: [ { va, range, handle, offset } ] } ] } ],
 *   "withoutHandle": [ objects alive without their own handle (kept by references), with owner ] }
 * }</pre>
 *
 * Sizes are bytes. An object with a handle in several clients (a same-manager import) appears in
 * each, under its handle there, with its owner and owner's handle when it is not the owner.
 *
 * <p>Never blocks on an object: it reads the objects' volatile fields (each exact, not all taken at
 * one instant), copies each client's handle table under its leaf monitor, and each VM's mappings
 * under the VM's lock, held only for the copy. A client closing meanwhile is left out.
 */
final class DeviceDump {
    private DeviceDump() {
    }

    static String dump(GemDevice dev) {
        Json j = new Json().beginObject();
        j.field("memmgr", MemoryManager.version());
        j.name("manager").beginObject()
                .field("name", dev.name())
                .field("pageSize", dev.pageSize())
                .field("leakDetection", dev.leakDetection());
        stats(j.name("stats"), dev.stats());
        j.endObject();
        j.name("clients").beginArray();
        List<GemFile> files = dev.files();
        files.sort(Comparator.comparingInt(GemFile::id));
        for (GemFile f : files) {
            client(j, f);
        }
        j.endArray();
        j.name("withoutHandle").beginArray();
        for (byte list : new byte[] {Lru.UNEVICTABLE, Lru.PURGEABLE, Lru.INACTIVE, Lru.ACTIVE}) {
            for (LruNode n : dev.lru().snapshot(list)) {
                GemObject o = (GemObject) n;
                if (!o.isHandleOpen() && !o.isFreed()) {
                    object(j, o.handle(), o, true);
                }
            }
        }
        j.endArray();
        return j.endObject().toString();
    }

    private static void client(Json j, GemFile f) {
        ClientStats cs;
        Map<Integer, GemObject> handles;
        try {
            cs = f.stats();
            handles = f.handlesSnapshot();
        } catch (IllegalStateException closed) {
            return; // closed meanwhile: no longer part of the manager
        }
        j.beginObject().field("id", f.id()).field("name", f.name());
        j.name("stats").beginObject()
                .field("total", cs.total())
                .field("shared", cs.shared())
                .field("resident", cs.resident())
                .field("purgeable", cs.purgeable())
                .field("active", cs.active())
                .field("evicted", cs.evicted())
                .endObject();
        j.name("objects").beginArray();
        for (Map.Entry<Integer, GemObject> e : handles.entrySet()) {
            GemObject o = e.getValue();
            object(j, e.getKey(), o, o.file() != f);
        }
        j.endArray();
        j.name("vms").beginArray();
        for (Consumer<Json> vm : new ArrayList<>(f.vmDumps())) {
            vm.accept(j);
        }
        j.endArray();
        j.endObject();
    }

    private static void object(Json j, int handle, GemObject o, boolean withOwner) {
        j.beginObject()
                .field("handle", handle)
                .field("label", o.label())
                .field("size", o.size())
                .field("residency", o.residency().name())
                .field("refCount", o.refCount())
                .field("pagesUseCount", o.pagesUseCount())
                .field("pinCount", o.pinCount())
                .field("vmapCount", o.vmapCount())
                .field("madvise", o.isDontNeed() ? "DONTNEED" : "WILLNEED")
                .field("busy", o.resv().isBusy())
                .field("shared", o.isShared())
                .field("imported", o.isImported())
                .field("exported", o.isExported());
        if (withOwner) {
            j.field("owner", o.file().name()).field("ownerHandle", o.handle());
        }
        j.endObject();
    }

    private static void stats(Json j, MemoryStats s) {
        j.beginObject()
                .field("capacity", s.capacity())
                .field("free", s.free())
                .field("resident", s.resident())
                .field("pinned", s.pinned())
                .field("purgeable", s.purgeable())
                .field("evicted", s.evicted())
                .field("swapCapacity", s.swapCapacity())
                .field("swapUsed", s.swapUsed())
                .field("evictions", s.evictions())
                .field("swapIns", s.swapIns())
                .field("purges", s.purges())
                .field("busy", s.busy())
                .field("peakResident", s.peakResident())
                .endObject();
    }
}
