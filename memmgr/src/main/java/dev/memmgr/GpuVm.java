package dev.memmgr;

import dev.memmgr.internal.gem.GemObject;
import dev.memmgr.internal.vm.Mapping;
import dev.memmgr.internal.vm.Op;
import dev.memmgr.internal.vm.VmBoLink;
import dev.memmgr.internal.vm.VmEngine;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A GPU virtual address space (drm_gpuvm): ranges of buffer objects bound at virtual addresses,
 * as a GPU's page tables would map them. Made by {@link Client#createVm(String, long, long)};
 * closed with its client.
 *
 * <pre>{@code
 * try (GpuVm vm = client.createVm("scene", 0, 1L << 32)) {
 *     vm.map(0x10000, 64 << 10, texture, 0);          // bind 64 KiB of the texture
 *     vm.map(0x20000, 4096, atlas, 8 * 4096);          // a page of a suballocated heap
 *     try (Exec locked = vm.lockAll()) {               // the VM + every shared object
 *         vm.validate();                               // swap evicted ones back in
 *         texture.resv().addFence(done, FenceUsage.READ);
 *     }
 *     vm.read(0x10000, pixels);                        // CPU access at a virtual address
 * }
 * }</pre>
 *
 * <p><b>Mappings.</b> {@link #map} binds {@code [va, va + range)} to bytes
 * {@code [offset, offset + range)} of an object, cutting whatever it overlaps exactly as the
 * kernel's drm_gpuvm_sm_map does, and returns the steps ({@link VaOp}) a driver would apply to its
 * page tables: REMAP or UNMAP for each mapping it overlaps, in address order, then one MAP.
 * Neighbouring mappings are never merged. {@link #planMap} returns the same steps without applying
 * them. Addresses, ranges and offsets are page multiples.
 *
 * <p><b>Objects.</b> Mapping an object links it to the VM ({@link VmBo}); the link holds one
 * reference on the object while it has a mapping here, so closing the object's handle neither
 * unmaps nor frees it. Mappings do not pin: the shrinker may evict a mapped object, which marks
 * its link evicted ({@link #evicted()}); before GPU work, {@link #lockAll} locks the VM's
 * reservation and every external object's (objects whose reservation is not the VM's; those
 * made by {@link #createLocal} share the VM's), and {@link #validate()} swaps them back in.
 *
 * <p>Thread-safe. Mapping takes the object's reservation (unless the calling thread holds it) and
 * an internal lock of the VM; unmapping and queries take only the internal lock. After
 * {@link #close()}, every method but {@link #name()}, {@link #start()}, {@link #size()},
 * {@link #owner()} and {@link #resv()} throws IllegalStateException.
 */
public final class GpuVm implements AutoCloseable {
    private final Client owner;
    private final VmEngine vm;

    GpuVm(Client owner, VmEngine vm) {
        this.owner = owner;
        this.vm = vm;
    }

    VmEngine engine() {
        return vm;
    }

    /**
     * Returns the name given at creation.
     *
     * @return the name given at creation
     */
    public String name() {
        return vm.name();
    }

    /**
     * Returns the first address of the VM.
     *
     * @return the first address of the VM
     */
    public long start() {
        return vm.start();
    }

    /**
     * Returns the size of the VM's address range in bytes.
     *
     * @return the size of the VM's address range in bytes
     */
    public long size() {
        return vm.size();
    }

    /**
     * Returns the client that made the VM.
     *
     * @return the client that made the VM
     */
    public Client owner() {
        return owner;
    }

    /**
     * Returns the VM's own reservation: the lock {@link #lockAll} takes first, shared by the
     * objects of {@link #createLocal}.
     *
     * @return the VM's reservation
     */
    public Reservation resv() {
        return new Reservation(vm.resv());
    }

    /**
     * Creates an object of the owner client (a handle there, reference count 1) local to this VM:
     * its {@link BufferObject#resv() reservation} is the VM's, so it is never an external object
     * and {@link #lockAll} locks it with the VM. It stays usable after the VM is closed.
     *
     * @param size bytes, rounded up to whole pages
     * @return the new object
     * @throws IllegalArgumentException if size is not positive or too large
     * @throws IllegalStateException if the VM, its client or the manager is closed
     */
    public BufferObject createLocal(long size) {
        return vm.createLocal(Client.pages(size, owner.manager().pageSize()), BufferObject::new).facade();
    }

    /**
     * Returns the steps {@link #map} would apply now, changing nothing.
     *
     * @param va first virtual address, a page multiple
     * @param range bytes, a page multiple, &gt; 0
     * @param bo an object of the same manager
     * @param offset first byte of the object, a page multiple
     * @return the steps: REMAP or UNMAP per overlapping mapping in address order, then one MAP
     * @throws NullPointerException if bo is null
     * @throws IllegalArgumentException if va, range or offset is not a page multiple, range is not
     *     positive, {@code [va, va + range)} is not inside the VM, or bo belongs to another manager
     * @throws IndexOutOfBoundsException if {@code offset < 0} or {@code offset + range} exceeds
     *     the object's size
     * @throws IllegalStateException if the VM or the manager is closed, or the object freed (as
     *     {@link #map} would)
     */
    public List<VaOp> planMap(long va, long range, BufferObject bo, long offset) {
        return ops(vm.planMap(va, range, gem(bo), offset));
    }

    /**
     * Returns the steps {@link #unmap} would apply now, changing nothing.
     *
     * @param va first virtual address, a page multiple
     * @param range bytes, a page multiple, &gt; 0
     * @return the steps: REMAP or UNMAP per overlapping mapping in address order; none when
     *     nothing is mapped there
     * @throws IllegalArgumentException if va or range is not a page multiple, range is not
     *     positive, or {@code [va, va + range)} is not inside the VM
     * @throws IllegalStateException if the VM is closed
     */
    public List<VaOp> planUnmap(long va, long range) {
        return ops(vm.planUnmap(va, range));
    }

    /**
     * Maps {@code [va, va + range)} to bytes {@code [offset, offset + range)} of an object,
     * cutting the mappings it overlaps (see the class comment). Takes the object's reservation
     * unless the calling thread holds it. Bad arguments change nothing; they are checked in
     * this order: null, alignment and VM bounds, manager, object range.
     *
     * @param va first virtual address, a page multiple
     * @param range bytes, a page multiple, &gt; 0
     * @param bo an object of the same manager
     * @param offset first byte of the object, a page multiple
     * @return the steps applied
     * @throws NullPointerException if bo is null
     * @throws IllegalArgumentException as {@link #planMap}
     * @throws IndexOutOfBoundsException as {@link #planMap}
     * @throws IllegalStateException if the VM or the manager is closed, or the object freed
     */
    public List<VaOp> map(long va, long range, BufferObject bo, long offset) {
        return ops(vm.map(va, range, gem(bo), offset));
    }

    /**
     * Unmaps {@code [va, va + range)}: mappings inside go, mappings cut at either end keep their
     * parts outside the range. An object whose last mapping here goes loses its link, and the
     * link's reference (which may free it).
     *
     * @param va first virtual address, a page multiple
     * @param range bytes, a page multiple, &gt; 0
     * @return the steps applied; none when nothing is mapped there
     * @throws IllegalArgumentException as {@link #planUnmap}
     * @throws IllegalStateException if the VM is closed
     */
    public List<VaOp> unmap(long va, long range) {
        return ops(vm.unmap(va, range));
    }

    /**
     * Returns every mapping, in address order.
     *
     * @return every mapping, in address order (a snapshot)
     * @throws IllegalStateException if the VM is closed
     */
    public List<GpuVa> mappings() {
        return vas(vm.mappings());
    }

    /**
     * Returns the mappings overlapping {@code [va, va + range)}, in address order; any values.
     *
     * @param va first address
     * @param range bytes
     * @return the mappings overlapping the range (a snapshot)
     * @throws IllegalStateException if the VM is closed
     */
    public List<GpuVa> mappings(long va, long range) {
        return vas(vm.mappings(va, range));
    }

    /**
     * Returns the mapping containing an address; any value.
     *
     * @param address a virtual address
     * @return the mapping containing it, or empty
     * @throws IllegalStateException if the VM is closed
     */
    public Optional<GpuVa> find(long address) {
        Mapping<GemObject> m = vm.find(address);
        return m == null ? Optional.empty() : Optional.of(va(m));
    }

    /**
     * Returns the link of an object mapped here.
     *
     * @param bo an object
     * @return its link, while it has a mapping here; empty otherwise
     * @throws NullPointerException if bo is null
     * @throws IllegalStateException if the VM is closed
     */
    public Optional<VmBo> vmBo(BufferObject bo) {
        VmBoLink l = vm.link(gem(bo));
        return l == null ? Optional.empty() : Optional.of(new VmBo(this, l));
    }

    /**
     * Returns the links of the external objects: those whose reservation is not the VM's.
     *
     * @return the links of external objects (a snapshot)
     * @throws IllegalStateException if the VM is closed
     */
    public List<VmBo> externalObjects() {
        return vmBos(vm.externalLinks());
    }

    /**
     * Returns the links whose object lost its frames (eviction, purge) since the last
     * {@link #validate()}, or was not resident when it was first mapped here.
     *
     * @return the evicted links, in the order they were marked (a snapshot)
     * @throws IllegalStateException if the VM is closed
     */
    public List<VmBo> evicted() {
        return vmBos(vm.evictedLinks());
    }

    /**
     * Locks the VM's reservation, then every external object's, then {@code extra}, without
     * deadlock against other threads doing the same (drm_gpuvm_exec_lock). Mapping takes the
     * object's reservation, not the VM's: an object another thread maps after this call listed
     * the external objects is not locked, and {@link #validate()} refuses it if it is evicted
     * (lock again; a job's preparation does).
     *
     * @param extra more objects to lock (duplicates and local objects are fine)
     * @return the locks; close it to unlock everything
     * @throws NullPointerException if extra or one of its elements is null
     * @throws IllegalStateException if the VM is closed, or the calling thread holds one of the
     *     reservations outside an {@link Exec}
     */
    public Exec lockAll(BufferObject... extra) {
        Objects.requireNonNull(extra, "extra");
        for (BufferObject b : extra) {
            Objects.requireNonNull(b, "extra object");
        }
        Reservation mine = resv();
        return Exec.lockAll(e -> {
            e.lock(mine);
            for (VmBoLink l : vm.externalLinks()) {
                e.lock(l.obj().facade());
            }
            for (BufferObject b : extra) {
                e.lock(b);
            }
        });
    }

    /**
     * Makes every evicted object resident again. The caller holds the VM's reservation and that
     * of every evicted object ({@link #lockAll}): checked before anything moves. With nothing
     * evicted it does nothing. A purged object stays listed and its PurgedException is thrown
     * after the others are swapped in.
     *
     * @throws IllegalStateException if a needed reservation is not held, or the VM is closed
     * @throws PurgedException if an evicted object was purged
     * @throws GpuOutOfMemoryException if frames cannot be found
     * @throws SwapException if a swap-in fails
     */
    public void validate() {
        vm.validate();
    }

    /**
     * Copies {@code dst.byteSize()} bytes at virtual addresses from {@code va} into {@code dst},
     * through the mappings; evicted objects are swapped in as {@link BufferObject#read} does.
     *
     * @param va the first virtual address (any value)
     * @param dst where the bytes go
     * @throws NullPointerException if dst is null
     * @throws IllegalArgumentException if dst is read-only
     * @throws GpuPageFaultException at the first unmapped byte of the range; nothing copied
     * @throws PurgedException if a mapped object was purged (checked before anything is copied)
     * @throws IllegalStateException if the VM or the manager is closed
     */
    public void read(long va, MemorySegment dst) {
        Objects.requireNonNull(dst, "dst");
        if (dst.isReadOnly()) {
            throw new IllegalArgumentException("destination segment is read-only");
        }
        vm.access(va, dst, false);
    }

    /**
     * Copies {@code src} to virtual addresses from {@code va}, through the mappings; objects are
     * populated and swapped in as {@link BufferObject#write} does.
     *
     * @param va the first virtual address (any value)
     * @param src the bytes
     * @throws NullPointerException if src is null
     * @throws GpuPageFaultException at the first unmapped byte of the range; nothing copied
     * @throws PurgedException if a mapped object was purged (checked before anything is copied)
     * @throws GpuOutOfMemoryException if frames cannot be found
     * @throws IllegalStateException if the VM or the manager is closed
     */
    public void write(long va, MemorySegment src) {
        Objects.requireNonNull(src, "src");
        vm.access(va, src, true);
    }

    /**
     * Unmaps everything and drops every link (and its reference). Idempotent. Objects made with
     * {@link #createLocal} stay usable.
     */
    @Override
    public void close() {
        vm.close();
    }

    @Override
    public String toString() {
        return vm.toString();
    }

    // ---- conversions -------------------------------------------------------------------------

    private static GemObject gem(BufferObject bo) {
        return Objects.requireNonNull(bo, "bo").gem();
    }

    static GpuVa va(Mapping<GemObject> m) {
        return m == null ? null : new GpuVa(m.va(), m.range(), m.obj().facade(), m.offset());
    }

    static List<GpuVa> vas(List<Mapping<GemObject>> ms) {
        GpuVa[] out = new GpuVa[ms.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = va(ms.get(i));
        }
        return List.of(out);
    }

    private List<VmBo> vmBos(List<VmBoLink> links) {
        List<VmBo> out = new ArrayList<>(links.size());
        for (VmBoLink l : links) {
            out.add(new VmBo(this, l));
        }
        return List.copyOf(out);
    }

    private static List<VaOp> ops(List<Op<GemObject>> ops) {
        VaOp[] out = new VaOp[ops.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = switch (ops.get(i)) {
                case Op.Map<GemObject> m -> new VaOp.Map(va(m.va()));
                case Op.Unmap<GemObject> u -> new VaOp.Unmap(va(u.va()), u.keep());
                case Op.Remap<GemObject> r -> new VaOp.Remap(new VaOp.Unmap(va(r.unmap().va()), r.unmap().keep()),
                        va(r.prev()), va(r.next()));
            };
        }
        return List.of(out); // one copy, unmodifiable
    }
}
