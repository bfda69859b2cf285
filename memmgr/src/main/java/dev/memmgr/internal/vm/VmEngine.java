package dev.memmgr.internal.vm;

import dev.memmgr.BufferObject;
import dev.memmgr.GpuPageFaultException;
import dev.memmgr.PurgedException;
import dev.memmgr.Residency;
import dev.memmgr.internal.gem.GemDevice;
import dev.memmgr.internal.gem.GemFile;
import dev.memmgr.internal.gem.GemObject;
import dev.memmgr.internal.obs.Json;
import dev.memmgr.internal.resv.Resv;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A GPU virtual address space (drm_gpuvm) over buffer objects: the mappings of {@link VaSpace},
 * one {@link VmBoLink} per mapped object, the external and evicted objects, and CPU access at
 * virtual addresses.
 *
 * <p><b>DOC: References (seed 001).</b> A link exists while its object has at least one mapping
 * here and holds one lifetime reference on it, so closing the object's handle does not unmap or
 * free it; the last unmap (or the VM's close) drops the link and the reference. A link is made
 * before the plan is applied, once every check has passed, so nothing can fail after the
 * reference is taken; a link whose mappings all went is released after the VM lock is dropped.
 *
 * <p><b>DOC: Eviction.</b> Each link registers an eviction listener on its object. Reclaim calls
 * it with the object's reservation held before the frames go; it marks the link evicted and
 * lists it, so reclaim knows nothing of VMs. {@link #validate()}, with the VM's reservation and
 * the objects' held by the caller ({@code lockAll}), swaps them back in. A link made for an
 * object that is evicted or purged already starts evicted.
 *
 * <p><b>DOC: Locking.</b> The VM lock (a ReentrantLock) guards the mappings, the links, their
 * counts and marks, and the evicted list. It is never held while waiting for a reservation, so
 * an eviction listener (which runs under an object's reservation) may take it. Mapping takes the
 * mapped object's reservation first (its link is made and its listener registered under it, so
 * no eviction can slip between the two), then the VM lock. Unmapping needs only the VM lock.
 * The VM's reservation is the lock of {@code lockAll} and of the VM's local objects, which share
 * it; this class never blocks on it.
 */
public final class VmEngine {
    private final GemFile owner;
    private final GemDevice dev;
    private final String name;
    private final long start;
    private final long size;
    private final Resv resv = new Resv();
    private final ReentrantLock lock = new ReentrantLock();
    private final Runnable closeHook = this::close;
    private final java.util.function.Consumer<Json> dumpHook = this::dumpTo;
    private VaSpace<GemObject> space;
    private final Map<GemObject, VmBoLink> links = new LinkedHashMap<>();
    private final LinkedHashSet<VmBoLink> evicted = new LinkedHashSet<>();
    private boolean closed;

    /**
     * A VA space {@code [start, start + size)} of a client; closes with the client.
     *
     * @throws IllegalArgumentException if start or size is not page aligned, start is negative,
     *     size is not positive, or the range overflows
     * @throws IllegalStateException if the client or the manager is closed
     */
    public VmEngine(GemFile owner, String name, long start, long size) {
        this.owner = Objects.requireNonNull(owner, "owner");
        this.name = Objects.requireNonNull(name, "name");
        this.dev = owner.device();
        this.space = new VaSpace<>(start, size, dev.pageSize());
        this.start = start;
        this.size = size;
        if (dev.isClosed()) {
            throw new IllegalStateException("memory manager is closed");
        }
        if (!owner.onClose(closeHook)) {
            throw new IllegalStateException("client '" + owner.name() + "' is closed");
        }
        owner.addVmDump(dumpHook);
    }

    public String name() {
        return name;
    }

    public long start() {
        return start;
    }

    public long size() {
        return size;
    }

    public GemFile owner() {
        return owner;
    }

    /** @return the VM's reservation, shared by its local objects */
    public Resv resv() {
        return resv;
    }

    private void checkOpenLocked() {
        if (closed) {
            throw new IllegalStateException("GPU VM '" + name + "' is closed");
        }
    }

    /**
     * An object of the owner whose reservation is the VM's: never external.
     *
     * @throws IllegalStateException if the VM, the client or the manager is closed
     */
    public GemObject createLocal(int pages, Function<GemObject, BufferObject> facadeFactory) {
        lock.lock();
        try {
            checkOpenLocked();
        } finally {
            lock.unlock();
        }
        return owner.create(pages, facadeFactory, resv);
    }

    // ---- map and unmap ---------------------------------------------------------------------

    /**
     * The checks of a map request, in the order of the contract: null, alignment and VM bounds,
     * manager, object range. Nothing changes on a bad request.
     */
    private void checkMap(long va, long range, GemObject obj, long offset) {
        Objects.requireNonNull(obj, "bo");
        space.checkMapRange(va, range, offset);
        if (obj.dev() != dev) {
            throw new IllegalArgumentException("buffer object " + obj.handle() + " belongs to another memory manager");
        }
        VaSpace.checkObjectRange(offset, range, obj.size());
    }

    /**
     * @return the ops map would apply now; changes nothing
     * @throws IllegalStateException if the VM or the manager is closed or the object freed (as map)
     */
    public List<Op<GemObject>> planMap(long va, long range, GemObject obj, long offset) {
        checkMap(va, range, obj, offset);
        obj.checkAlive();
        lock.lock();
        try {
            checkOpenLocked();
            return space.planMap(va, range, obj, offset, obj.size()).ops();
        } finally {
            lock.unlock();
        }
    }

    /** @return the ops unmap would apply now; changes nothing */
    public List<Op<GemObject>> planUnmap(long va, long range) {
        space.checkRange(va, range);
        lock.lock();
        try {
            checkOpenLocked();
            return space.planUnmap(va, range).ops();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Maps {@code [va, va + range)} to bytes {@code [offset, offset + range)} of the object,
     * splitting what it overlaps (drm_gpuvm_sm_map), under the object's reservation and the VM
     * lock.
     *
     * @return the ops applied
     * @throws IllegalStateException if the VM, the object or the manager is closed or freed
     */
    public List<Op<GemObject>> map(long va, long range, GemObject obj, long offset) {
        checkMap(va, range, obj, offset);
        List<VmBoLink>[] gone = gone();
        List<Op<GemObject>> ops = obj.withLock(o -> {
            lock.lock();
            try {
                checkOpenLocked();
                Plan<GemObject> plan = space.planMap(va, range, o, offset, o.size());
                if (!links.containsKey(o)) {
                    linkLocked(o);
                }
                space.apply(plan);
                gone[0] = accountLocked(plan.ops());
                return plan.ops();
            } finally {
                lock.unlock();
            }
        });
        release(gone[0]);
        return ops;
    }

    @SuppressWarnings("unchecked")
    private static List<VmBoLink>[] gone() {
        return (List<VmBoLink>[]) new List<?>[1];
    }

    /**
     * Unmaps {@code [va, va + range)} (drm_gpuvm_sm_unmap) under the VM lock.
     *
     * @return the ops applied (none when nothing is mapped there)
     */
    public List<Op<GemObject>> unmap(long va, long range) {
        space.checkRange(va, range);
        List<VmBoLink> gone;
        List<Op<GemObject>> ops;
        lock.lock();
        try {
            checkOpenLocked();
            Plan<GemObject> plan = space.planUnmap(va, range);
            space.apply(plan);
            gone = accountLocked(plan.ops());
            ops = plan.ops();
        } finally {
            lock.unlock();
        }
        release(gone);
        return ops;
    }

    /** Makes the link of an object mapped here for the first time. Object's reservation and VM lock held. */
    private void linkLocked(GemObject o) {
        assert lock.isHeldByCurrentThread() && o.resv().isHeldByCurrentThread();
        o.retainLifetime();
        VmBoLink link = new VmBoLink(this, o);
        links.put(o, link);
        dev.addEvictionListenerLocked(o, link.listener);
        Residency r = o.residency();
        if (r == Residency.EVICTED || r == Residency.PURGED) {
            link.evicted = true;
            evicted.add(link);
        }
    }

    /**
     * Moves the links' mapping counts by the applied ops.
     *
     * @return the links left without mappings (unlinked), or null when there are none
     */
    private List<VmBoLink> accountLocked(List<Op<GemObject>> ops) {
        List<VmBoLink> gone = null;
        for (Op<GemObject> op : ops) {
            switch (op) {
                case Op.Map<GemObject> m -> links.get(m.va().obj()).mappings++;
                case Op.Unmap<GemObject> u -> links.get(u.va().obj()).mappings--;
                case Op.Remap<GemObject> r -> {
                    VmBoLink l = links.get(r.unmap().va().obj());
                    l.mappings += (r.prev() != null ? 1 : 0) + (r.next() != null ? 1 : 0) - 1;
                }
            }
        }
        for (Op<GemObject> op : ops) {
            GemObject o = switch (op) {
                case Op.Map<GemObject> m -> m.va().obj();
                case Op.Unmap<GemObject> u -> u.va().obj();
                case Op.Remap<GemObject> r -> r.unmap().va().obj();
            };
            VmBoLink l = links.get(o);
            if (l != null && l.mappings == 0) {
                unlinkLocked(l);
                if (gone == null) {
                    gone = new ArrayList<>(2);
                }
                gone.add(l);
            }
        }
        return gone;
    }

    private void unlinkLocked(VmBoLink l) {
        links.remove(l.obj);
        evicted.remove(l);
        l.dead = true;
    }

    /** Drops unlinked links' listeners and references; no lock held (the last may free an object). */
    private void release(List<VmBoLink> gone) {
        if (gone == null) {
            return;
        }
        for (VmBoLink l : gone) {
            dev.removeEvictionListener(l.obj, l.listener);
            l.obj.dropLifetime();
        }
    }

    // ---- queries ---------------------------------------------------------------------------

    /** @return every mapping, in address order (a snapshot) */
    public List<Mapping<GemObject>> mappings() {
        lock.lock();
        try {
            checkOpenLocked();
            return space.mappings();
        } finally {
            lock.unlock();
        }
    }

    /** @return the mappings overlapping [va, va + range), in address order (any values) */
    public List<Mapping<GemObject>> mappings(long va, long range) {
        lock.lock();
        try {
            checkOpenLocked();
            return space.mappings(va, range);
        } finally {
            lock.unlock();
        }
    }

    /** @return the mapping containing the address, or null (any value) */
    public Mapping<GemObject> find(long address) {
        lock.lock();
        try {
            checkOpenLocked();
            return space.find(address);
        } finally {
            lock.unlock();
        }
    }

    /** @return the link of an object mapped here, or null */
    public VmBoLink link(GemObject o) {
        lock.lock();
        try {
            checkOpenLocked();
            return links.get(o);
        } finally {
            lock.unlock();
        }
    }

    /** @return the links of external objects (reservation not the VM's), in link order */
    public List<VmBoLink> externalLinks() {
        lock.lock();
        try {
            checkOpenLocked();
            List<VmBoLink> out = new ArrayList<>();
            for (VmBoLink l : links.values()) {
                if (l.external) {
                    out.add(l);
                }
            }
            return out;
        } finally {
            lock.unlock();
        }
    }

    /** @return the links marked evicted since the last validate, in the order they were marked */
    public List<VmBoLink> evictedLinks() {
        lock.lock();
        try {
            checkOpenLocked();
            return new ArrayList<>(evicted);
        } finally {
            lock.unlock();
        }
    }

    /** @return the mappings of a link's object here, in address order (empty once unlinked) */
    public List<Mapping<GemObject>> mappingsOf(VmBoLink l) {
        lock.lock();
        try {
            if (l.dead || closed) {
                return List.of();
            }
            List<Mapping<GemObject>> out = new ArrayList<>(l.mappings);
            for (Mapping<GemObject> m : space.mappings()) {
                if (m.obj() == l.obj) {
                    out.add(m);
                }
            }
            return out;
        } finally {
            lock.unlock();
        }
    }

    boolean evicted(VmBoLink l) {
        lock.lock();
        try {
            return l.evicted;
        } finally {
            lock.unlock();
        }
    }

    boolean isLinked(VmBoLink l) {
        lock.lock();
        try {
            return !l.dead;
        } finally {
            lock.unlock();
        }
    }

    /** The eviction listener of a link: its object is losing its frames (object's reservation held). */
    void evictedNotice(VmBoLink l) {
        lock.lock();
        try {
            if (!l.dead && !l.evicted) {
                l.evicted = true;
                evicted.add(l);
            }
        } finally {
            lock.unlock();
        }
    }

    // ---- validate ----------------------------------------------------------------------------

    /**
     * Makes every evicted object resident again (drm_gpuvm_validate). The caller holds the VM's
     * reservation and that of every object it swaps in (lockAll): checked before anything
     * moves. A purged object stays listed and its PurgedException is thrown after the others
     * are swapped in.
     *
     * @throws IllegalStateException if a needed reservation is not held by the calling thread
     */
    public void validate() {
        List<VmBoLink> todo;
        lock.lock();
        try {
            checkOpenLocked();
            if (!resv.isHeldByCurrentThread()) {
                throw new IllegalStateException("validate() needs the VM's reservation held (lockAll)");
            }
            todo = new ArrayList<>(evicted);
            // Unmapping needs no reservation: another thread may drop a listed object's link (and
            // its last reference) while this one swaps the list in. A reference per object keeps
            // each alive until validate is done with it.
            for (VmBoLink l : todo) {
                l.obj.retainLifetime(); // cannot fail: the link holds a reference
            }
        } finally {
            lock.unlock();
        }
        try {
            validateListed(todo);
        } finally {
            for (VmBoLink l : todo) {
                l.obj.dropLifetime();
            }
        }
    }

    /** validate()'s work on the links it listed, each object held by a reference. */
    private void validateListed(List<VmBoLink> todo) {
        for (VmBoLink l : todo) {
            if (!l.obj.resv().isHeldByCurrentThread()) {
                throw new IllegalStateException("validate() needs the reservation of evicted buffer object "
                        + l.obj.handle() + " held (lockAll)");
            }
        }
        PurgedException purged = null;
        for (VmBoLink l : todo) {
            if (!isLinked(l)) {
                continue; // unmapped meanwhile by another thread: no longer this VM's to validate
            }
            try {
                l.obj.swapIn();
            } catch (PurgedException e) {
                purged = purged == null ? e : purged;
                continue;
            }
            lock.lock();
            try {
                l.evicted = false;
                evicted.remove(l);
            } finally {
                lock.unlock();
            }
        }
        if (purged != null) {
            throw purged;
        }
    }

    // ---- CPU access through the VM ------------------------------------------------------------

    /**
     * Copies between the VM's address range [va, va + seg.byteSize()) and a segment, through the
     * mappings. Every byte must be mapped: else GpuPageFaultException at the first unmapped one,
     * nothing copied. A purged object: PurgedException, nothing copied (a purge racing the copy
     * after that check may still cut it short). The objects swap in as for BufferObject.read and
     * write.
     *
     * @param write whether the segment's bytes go to the VM
     */
    public void access(long va, MemorySegment seg, boolean write) {
        long length = seg.byteSize();
        List<Mapping<GemObject>> pieces = new ArrayList<>(2);
        lock.lock();
        try {
            checkOpenLocked();
            if (length == 0) {
                return;
            }
            for (long done = 0; done < length; ) {
                long at = va + done;
                Mapping<GemObject> m = space.find(at);
                if (m == null) {
                    throw new GpuPageFaultException("GPU page fault in VM '" + name + "' at 0x" + Long.toHexString(at)
                            + ": nothing mapped there", at);
                }
                pieces.add(m);
                done += Math.min(m.end() - at, length - done);
            }
            // A purged object fails the access before any piece is copied (a purge is final), so
            // a write does not land in the objects before it, nor a read in the segment.
            for (Mapping<GemObject> m : pieces) {
                if (m.obj().residency() == Residency.PURGED) {
                    throw new PurgedException("GPU VM '" + name + "': buffer object " + m.obj().handle()
                            + " mapped at 0x" + Long.toHexString(m.va()) + " was purged: its content is gone");
                }
            }
            for (Mapping<GemObject> m : pieces) {
                m.obj().retainLifetime(); // cannot fail: the link holds a reference
            }
        } finally {
            lock.unlock();
        }
        try {
            long done = 0;
            for (Mapping<GemObject> m : pieces) {
                long from = va + done;
                long n = Math.min(m.end() - from, length - done);
                long objOffset = m.offset() + (from - m.va());
                MemorySegment part = seg.asSlice(done, n);
                if (write) {
                    m.obj().write(objOffset, part);
                } else {
                    m.obj().read(objOffset, part);
                }
                done += n;
            }
        } finally {
            for (Mapping<GemObject> m : pieces) {
                m.obj().dropLifetime();
            }
        }
    }

    // ---- close ------------------------------------------------------------------------------

    /** @return whether {@link #close()} ran */
    public boolean isClosed() {
        lock.lock();
        try {
            return closed;
        } finally {
            lock.unlock();
        }
    }

    /** Unmaps everything and drops every link; idempotent. Any thread; takes no reservation. */
    public void close() {
        List<VmBoLink> gone;
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            gone = new ArrayList<>(links.values());
            for (VmBoLink l : gone) {
                l.dead = true;
            }
            links.clear();
            evicted.clear();
            space = new VaSpace<>(start, size, dev.pageSize());
        } finally {
            lock.unlock();
        }
        owner.removeOnClose(closeHook);
        owner.removeVmDump(dumpHook);
        release(gone);
    }

    /**
     * Writes the VM and its mappings into a dump (MemoryManager.dump()): name, start, size, and
     * per mapping its va, range, object handle and offset. Holds the VM lock for the copy only;
     * a closed VM writes nothing.
     */
    private void dumpTo(Json j) {
        List<Mapping<GemObject>> ms;
        lock.lock();
        try {
            if (closed) {
                return;
            }
            ms = space.mappings();
        } finally {
            lock.unlock();
        }
        j.beginObject().field("name", name).field("start", start).field("size", size);
        j.name("mappings").beginArray();
        for (Mapping<GemObject> m : ms) {
            j.beginObject().field("va", m.va()).field("range", m.range()).field("handle", m.obj().handle())
                    .field("offset", m.offset());
            if (m.obj().file() != owner) {
                j.field("client", m.obj().file().name());
            }
            j.endObject();
        }
        j.endArray().endObject();
    }

    @Override
    public String toString() {
        return "GpuVm[" + name + ", 0x" + Long.toHexString(start) + "+0x" + Long.toHexString(size) + "]";
    }
}
