package dev.memmgr;

import dev.memmgr.internal.gem.GemFile;
import dev.memmgr.internal.dmabuf.DmaBufCore;
import dev.memmgr.internal.dmabuf.ImportLink;
import dev.memmgr.internal.gem.GemObject;
import dev.memmgr.internal.vm.VmEngine;
import java.util.Objects;

/**
 * One user's namespace of buffer objects (a DRM file): creates objects, maps handles to them,
 * and reports its usage. A handle means nothing in another client.
 *
 * <p>Thread-safe. The handle table has its own lock, held briefly; statistics are snapshots.
 * Closing a client closes its handles; objects that other references keep alive stay usable.
 */
public final class Client implements AutoCloseable {
    private final MemoryManager manager;
    private final GemFile file;

    Client(MemoryManager manager, GemFile file) {
        this.manager = manager;
        this.file = file;
        file.facade(this);
    }

    /**
     * Returns the name given to {@link MemoryManager#openClient(String)}; answers after close too.
     *
     * @return the name given to {@link MemoryManager#openClient(String)}; answers after close too
     */
    public String name() {
        return file.name();
    }

    /**
     * Returns the manager this client belongs to.
     *
     * @return the manager this client belongs to
     */
    public MemoryManager manager() {
        return manager;
    }

    /**
     * Creates a buffer object with a new handle. Lazy: no frame is allocated until the object is
     * written, populated ({@link BufferObject#getPages()}), pinned or vmapped; until then it reads
     * as zeros.
     *
     * @param size bytes, rounded up to whole pages
     * @return the object; its handle holds one reference, dropped by {@link BufferObject#close()}
     * @throws IllegalArgumentException if size is not positive or too large (more than 2^31 - 1
     *     pages)
     * @throws IllegalStateException if this client or the manager is closed
     */
    public BufferObject create(long size) {
        return file.create(pages(size, manager.pageSize()), BufferObject::new).facade();
    }

    /**
     * The pages an object of {@code size} bytes needs.
     *
     * @throws IllegalArgumentException if size is not positive or needs more than 2^31 - 1 pages
     */
    static int pages(long size, long pageSize) {
        if (size <= 0) {
            throw new IllegalArgumentException("size must be positive: " + size);
        }
        long pages = size / pageSize + (size % pageSize == 0 ? 0 : 1);
        if (pages > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("size " + size + " exceeds 2^31 - 1 pages");
        }
        return (int) pages;
    }

    /**
     * Imports a shared buffer into this client. From the exporter's own manager: the exporting
     * object itself, with a new handle here holding one more reference (none if this client has
     * a handle for it already). From another manager: an imported object of this client whose
     * pages are the exporter's (zero copy; {@link BufferObject#isImported()}); its operations go
     * through a dynamic attachment it owns, and its frames count in the exporter's manager only.
     * Importing the same buffer again into this client returns the same object and takes nothing.
     *
     * @param buf the buffer
     * @return the object in this client
     * @throws NullPointerException if buf is null
     * @throws IllegalStateException if buf is closed, or this client, its manager or the
     *     exporter's is closed (also when this client imported it before)
     * @throws IllegalArgumentException if buf comes from another manager and its size is not a
     *     whole number of this manager's pages
     */
    public BufferObject importBuffer(DmaBuf buf) {
        Objects.requireNonNull(buf, "buf");
        DmaBufCore core = buf.core();
        if (!core.isOpen()) {
            throw new IllegalStateException("import of a closed DmaBuf");
        }
        GemObject exporter = core.exporter();
        exporter.checkAlive(); // freed with its manager: nothing to import
        if (exporter.dev() == file.device()) {
            file.addHandle(exporter);
            return exporter.facade();
        }
        return file.importFrom(exporter, () -> new ImportLink(core, file.name()), BufferObject::new).facade();
    }

    /**
     * Returns the handle an object has in this client: its own handle in its owner, or the one
     * an import gave it.
     *
     * @param bo an object
     * @return its handle here
     * @throws NullPointerException if bo is null
     * @throws NoSuchHandleException if it has no handle here
     * @throws IllegalStateException if this client or the manager is closed
     */
    public int handleOf(BufferObject bo) {
        Objects.requireNonNull(bo, "bo");
        return file.handleOf(bo.gem());
    }

    /**
     * Closes one handle of this client, dropping its reference: the object's own handle (as
     * {@link BufferObject#close()}) or one an import gave it here.
     *
     * @param handle a handle of this client
     * @throws NoSuchHandleException if the handle is not open here
     * @throws IllegalStateException if this client or the manager is closed
     */
    public void closeHandle(int handle) {
        file.closeHandle(handle);
    }

    /**
     * Creates a GPU virtual address space {@code [start, start + size)} of this client. Closing
     * the client closes its VMs.
     *
     * @param name shown in dumps and messages
     * @param start the first address: a page multiple, &gt;= 0
     * @param size bytes: a page multiple, &gt; 0, with {@code start + size} not overflowing
     * @return the new VM, empty
     * @throws NullPointerException if name is null
     * @throws IllegalArgumentException if start or size is not a page multiple, start is negative,
     *     size is not positive, or the range overflows
     * @throws IllegalStateException if this client or the manager is closed
     */
    public GpuVm createVm(String name, long start, long size) {
        Objects.requireNonNull(name, "name");
        return new GpuVm(this, new VmEngine(file, name, start, size));
    }

    /**
     * Looks a handle up.
     *
     * @param handle a handle of this client
     * @return the same {@link BufferObject} instance {@link #create(long)} returned, with one more
     *     reference that the caller gives back with {@link BufferObject#release()}
     * @throws NoSuchHandleException if the handle is not open in this client
     * @throws IllegalStateException if this client or the manager is closed
     */
    public BufferObject lookup(int handle) {
        return file.lookup(handle).facade();
    }

    /**
     * Returns this client's usage.
     *
     * @return the usage of the objects with open handles in this client (a snapshot)
     * @throws IllegalStateException if this client or the manager is closed
     */
    public ClientStats stats() {
        return file.stats();
    }

    /**
     * The client's usage in the kernel's drm-usage-stats text format, one key per line:
     * {@code drm-driver}, {@code drm-client-id}, {@code drm-client-name}, then
     * {@code drm-total-memory}, {@code drm-shared-memory}, {@code drm-resident-memory},
     * {@code drm-purgeable-memory}, {@code drm-active-memory} and {@code drm-evicted-memory},
     * each as {@code "drm-<key>-memory:\t<N> KiB"} or {@code MiB} (the largest unit that divides
     * the value exactly; zero prints as {@code 0 KiB}).
     *
     * @return the text
     * @throws IllegalStateException if this client or the manager is closed
     */
    public String fdinfo() {
        return file.fdinfo();
    }

    /** Closes every handle still open. Objects kept alive by references stay usable. Idempotent. */
    @Override
    public void close() {
        file.close();
    }

    @Override
    public String toString() {
        return "Client[" + file.name() + (file.isClosed() ? ", closed" : "") + "]";
    }
}
