package dev.memmgr;

/**
 * A CPU access through a {@link GpuVm} touched an address that nothing maps (a GPU page fault).
 * Nothing was copied.
 */
public class GpuPageFaultException extends MemoryManagerException {
    private static final long serialVersionUID = 1L;

    /** The first unmapped byte of the access. */
    private final long address;

    /**
     * Creates an exception for an access that faulted.
     *
     * @param message what went wrong
     * @param address the first unmapped byte of the access
     */
    public GpuPageFaultException(String message, long address) {
        super(message);
        this.address = address;
    }

    /**
     * Returns the first unmapped byte of the access.
     *
     * @return the first unmapped byte of the access
     */
    public long address() {
        return address;
    }
}
