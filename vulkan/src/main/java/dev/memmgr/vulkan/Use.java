package dev.memmgr.vulkan;

import java.util.Objects;

/**
 * One imported object used by a submission, and how.
 *
 * @param target the import the submission uses
 * @param access whether the GPU only reads it or also writes it
 */
public record Use(HostImport target, Access access) {
    /**
     * Checks the components.
     *
     * @throws NullPointerException if target or access is null
     */
    public Use {
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(access, "access");
    }

    /**
     * Returns a read use of {@code target}.
     *
     * @param target the import the GPU reads
     * @return a {@link Access#READ} use
     */
    public static Use read(HostImport target) {
        return new Use(target, Access.READ);
    }

    /**
     * Returns a write use of {@code target}.
     *
     * @param target the import the GPU writes
     * @return a {@link Access#WRITE} use
     */
    public static Use write(HostImport target) {
        return new Use(target, Access.WRITE);
    }
}
