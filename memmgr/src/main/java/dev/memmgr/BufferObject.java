package dev.memmgr;

import dev.memmgr.internal.Access;
import dev.memmgr.internal.dmabuf.DmaBufCore;
import dev.memmgr.internal.gem.GemObject;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * A buffer object: {@link #size()} bytes of page-granular memory that memmgr may move between
 * page frames and swap as long as nobody holds it in place.
 *
 * <p><b>Lifetime.</b> A reference count, as GEM objects have: the handle holds one reference
 * ({@link #close()} drops it), {@link #retain()} and {@link Client#lookup(int)} add one each,
 * {@link #release()} gives one back. The object is freed when the last goes; every later
 * operation throws IllegalStateException while {@link #size()}, {@link #handle()},
 * {@link #refCount()}, {@link #residency()} and the counters still answer.
 *
 * <p><b>Pages.</b> {@link #getPages()}/{@link #putPages()} count weak users: the shrinker may
 * still evict an idle object they hold. {@link #pin()}/{@link #unpin()} count hard users: a
 * pinned object is never evicted or purged. {@link #vmap()} gives a CPU view and holds one pin
 * for all open views. Content persists while the object lives, whatever the counts.
 *
 * <p><b>Threads and locks.</b> Thread-safe. Pin of a pinned object, unpin that leaves it
 * pinned, getPages of a used resident object, putPages that leaves it used and vmap of a vmapped
 * object are lock-free (one CAS, no allocation but the Vmap). Everything else takes the object's
 * {@link #resv() reservation} lock, blocking while another thread holds it, unless the calling
 * thread holds it already (lock the reservation to make several operations atomic). Operations
 * that allocate frames may run the shrinker in the calling thread (direct reclaim), which never
 * blocks on other objects.
 */
public final class BufferObject implements AutoCloseable {
    static {
        Access.registerObjects(bo -> bo.obj);
    }

    private final GemObject obj;
    /** Made on first use and kept: lockAll and Exec ask for it often. */
    private volatile Reservation resv;

    BufferObject(GemObject obj) {
        this.obj = obj;
    }

    /** @return the object behind this facade (the package's GPU VM and Exec use it) */
    GemObject gem() {
        return obj;
    }

    /**
     * Returns the size in bytes, a whole number of pages; answers after free.
     *
     * @return bytes, a whole number of pages; answers after free
     */
    public long size() {
        return obj.size();
    }

    /**
     * Returns the handle in the owner client; answers after free.
     *
     * @return the handle in the owner client; answers after free
     */
    public int handle() {
        return obj.handle();
    }

    /**
     * Names the object for people: the label appears in {@link #toString()}, in
     * {@link MemoryManager#dump()}, in the JFR events of the object (evictions, swap-ins, purges,
     * cold vmaps) and in leak reports. It changes nothing else; objects may share a label.
     * Lock-free: one volatile write.
     *
     * @param label any text; "" removes it
     * @return this
     * @throws NullPointerException if label is null
     * @throws IllegalStateException if the object is freed or the manager closed
     */
    public BufferObject label(String label) {
        Objects.requireNonNull(label, "label");
        obj.label(label);
        return this;
    }

    /**
     * Returns the label given with {@link #label(String)}, "" when none was; answers after free.
     *
     * @return the label, or ""
     */
    public String label() {
        return obj.label();
    }

    /**
     * Returns the client that created the object.
     *
     * @return the client that created the object
     */
    public Client owner() {
        return obj.file().facade();
    }

    /**
     * Takes a reference: the object stays alive until {@link #release()}, even after its handle
     * or client is closed. Lock-free.
     *
     * @return this
     * @throws IllegalStateException if the object is freed
     */
    public BufferObject retain() {
        obj.retainUser();
        return this;
    }

    /**
     * Gives back a reference taken by {@link #retain()} or {@link Client#lookup(int)}; the last
     * reference frees the object (its frames and slots; open vmaps become invalid). Lock-free;
     * freeing takes no object lock.
     *
     * @throws IllegalStateException if the object is freed, or more references would be released
     *     than were taken (nothing changes then)
     */
    public void release() {
        obj.releaseUser();
    }

    /**
     * Returns the reference count: the open handle plus retains and lookups not released; 0 once freed.
     *
     * @return references: the open handle plus retains and lookups not released; 0 once freed
     */
    public int refCount() {
        return obj.refCount();
    }

    /** Closes the handle, dropping its reference. Idempotent: never drops a second reference. */
    @Override
    public void close() {
        obj.closeHandle();
    }

    /**
     * Takes a weak use of the pages: populates them (zeroed) or swaps them in. The shrinker may
     * still evict the object while it is idle; the pages come back on the next use.
     *
     * @throws PurgedException if the object was purged
     * @throws GpuOutOfMemoryException if frames cannot be found (nothing changes)
     * @throws SwapException if swap-in fails (the object stays evicted)
     * @throws IllegalStateException if the object is freed or the manager closed
     */
    public void getPages() {
        obj.getPages();
    }

    /**
     * Drops a weak use taken by {@link #getPages()}. The content stays.
     *
     * @throws IllegalStateException without a matching getPages, or if the object is freed
     */
    public void putPages() {
        obj.putPages();
    }

    /**
     * Pins the pages in memory: populates or swaps them in, and keeps them from being evicted or
     * purged until {@link #unpin()}. All pins together hold one page use.
     *
     * @throws IllegalStateException if the object is marked DONTNEED (a pinned object may not be
     *     purgeable), or freed, or the manager closed
     * @throws PurgedException if the object was purged
     * @throws GpuOutOfMemoryException if frames cannot be found (nothing changes)
     * @throws SwapException if swap-in fails (the object stays evicted)
     */
    public void pin() {
        obj.pin();
    }

    /**
     * Drops a pin.
     *
     * @throws IllegalStateException without a matching pin, or if the object is freed
     */
    public void unpin() {
        obj.unpin();
    }

    /**
     * Maps the object into one contiguous, zero-copy CPU view: writes through it are the object's
     * content. All open views of an object share one mapping and hold one pin together; a view of
     * an already mapped object costs no system call, and a mapping is cached after its last view
     * closes until the object's frames go or the process's budget of memory mappings needs it.
     * Once the last view is closed and the mapping torn down (eviction, purge, free, manager
     * close), access through the segment throws IllegalStateException, or, while another thread
     * still has the segment in use (a blocking read into it, a native call), reads zeros and
     * writes nowhere: never a crash, never another object's memory.
     *
     * <p>A scattered object is first moved into one run of free frames when there is one, so that
     * it is mapped with a single mmap.
     *
     * @return a new view; close it when done
     * @throws IllegalStateException if the object is marked DONTNEED, freed, or the manager closed
     * @throws MemoryManagerException if the mapping does not fit the process's budget of memory
     *     mappings (nothing changes)
     * @throws PurgedException if the object was purged
     * @throws GpuOutOfMemoryException if frames cannot be found (nothing changes)
     * @throws SwapException if swap-in fails (the object stays evicted)
     */
    public Vmap vmap() {
        MemorySegment segment = obj.vmap();
        return new Vmap(obj, segment);
    }

    /**
     * Copies {@code dst.byteSize()} bytes of the object, from {@code offset}, into {@code dst}.
     * Pages never written read as zero; reading them allocates nothing (an unpopulated object
     * stays so). An evicted object is swapped in. Reading zero bytes does nothing at all. A
     * destination that aliases the object (a slice of its own view) gets the bytes as if they
     * went through a temporary buffer.
     *
     * @param offset the first byte of the object to copy
     * @param dst where the bytes go; all of it is filled
     * @throws NullPointerException if dst is null
     * @throws IndexOutOfBoundsException if the range is not inside the object
     * @throws IllegalArgumentException if dst is read-only
     * @throws PurgedException if the object was purged
     * @throws IllegalStateException if the object is freed, the manager closed, or dst's arena
     *     closed (checked before anything moves)
     * @throws WrongThreadException if dst is confined to another thread
     */
    public void read(long offset, MemorySegment dst) {
        Objects.requireNonNull(dst, "dst");
        Objects.checkFromIndexSize(offset, dst.byteSize(), obj.size());
        if (dst.isReadOnly()) {
            throw new IllegalArgumentException("destination segment is read-only");
        }
        obj.read(offset, dst);
    }

    /**
     * Copies {@code src} into the object at {@code offset}, populating (zeroed) or swapping in
     * what it needs. All or nothing: the source is checked and every frame is secured before
     * any byte is copied, so a failure leaves residency and content as they were. Writing zero
     * bytes does nothing at all. A source that aliases the object (a slice of its own view) is
     * copied as if through a temporary buffer (memmove).
     *
     * @param offset the first byte of the object to write
     * @param src the bytes; all of it is copied
     * @throws NullPointerException if src is null
     * @throws IndexOutOfBoundsException if the range is not inside the object
     * @throws PurgedException if the object was purged
     * @throws GpuOutOfMemoryException if frames cannot be found (nothing changes)
     * @throws IllegalStateException if the object is freed, the manager closed, or src's arena
     *     closed (nothing changes)
     * @throws WrongThreadException if src is confined to another thread (nothing changes)
     */
    public void write(long offset, MemorySegment src) {
        Objects.requireNonNull(src, "src");
        Objects.checkFromIndexSize(offset, src.byteSize(), obj.size());
        obj.write(offset, src);
    }

    /**
     * Says whether the content is still needed. DONTNEED makes the object purgeable: under memory
     * pressure it is destroyed before anything needed is evicted. WILLNEED takes that back, if it
     * is not too late.
     *
     * @param advice whether the content is needed
     * @return whether the content is retained: false once purged (nothing changes then)
     * @throws NullPointerException if advice is null
     * @throws IllegalStateException on DONTNEED for a pinned (or vmapped) object, or if the object
     *     is freed
     */
    public boolean madvise(Madvise advice) {
        Objects.requireNonNull(advice, "advice");
        return obj.madvise(advice);
    }

    /**
     * Returns where the content lives (a snapshot); {@link Residency#UNPOPULATED} once freed.
     *
     * @return where the content lives (a snapshot); {@link Residency#UNPOPULATED} once freed
     */
    public Residency residency() {
        return obj.residency();
    }

    /**
     * Returns the number of weak page uses, including the one all pins hold together; 0 once freed.
     *
     * @return weak page uses, including the one all pins hold together; 0 once freed
     */
    public int pagesUseCount() {
        return obj.pagesUseCount();
    }

    /**
     * Returns the number of pins, including the one all vmaps hold together; 0 once freed.
     *
     * @return pins, including the one all vmaps hold together; 0 once freed
     */
    public int pinCount() {
        return obj.pinCount();
    }

    /**
     * Returns the number of open vmaps; 0 once freed.
     *
     * @return open vmaps; 0 once freed
     */
    public int vmapCount() {
        return obj.vmapCount();
    }

    /**
     * Returns the reservation. It keeps answering after the object is freed, so that a thread
     * that locked it can always unlock it, whoever frees the object meanwhile (closing the last
     * handle, the client or the manager); operations waiting for the lock then fail with
     * IllegalStateException. Fences may still be added and queried; locking it is harmless.
     *
     * @return the reservation: the object's lock and its fences
     */
    public Reservation resv() {
        Reservation r = resv;
        if (r == null) {
            r = new Reservation(obj); // a race makes two equal ones: harmless
            resv = r;
        }
        return r;
    }

    /**
     * Exports the object for sharing: its DmaBuf, which holds a reference on it until closed. An
     * object with an open DmaBuf gets the same one again, with no further reference. An imported
     * object gives its exporter's buffer.
     *
     * @return the open DmaBuf of the object
     * @throws IllegalStateException if the object is freed or the manager closed
     */
    public DmaBuf export() {
        return DmaBufCore.export(obj, DmaBuf::new, Attachment::new).facade();
    }

    /**
     * Returns whether this object was imported from a DmaBuf of another manager: its pages are
     * the exporter's, counted there.
     *
     * @return whether this object is an import from another manager
     */
    public boolean isImported() {
        return obj.isImported();
    }

    /**
     * Returns what the object is, for people: {@code BufferObject[handle 3 of client 'renderer',
     * label 'atlas', 4 MiB, RESIDENT, refs 1, page uses 0, pins 0, vmaps 0]} (its size with a unit,
     * DONTNEED when marked so, "freed" instead of the residency once freed).
     *
     * @return a description of the object
     */
    @Override
    public String toString() {
        return obj.toString();
    }
}
