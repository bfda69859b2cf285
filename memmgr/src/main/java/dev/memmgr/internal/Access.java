package dev.memmgr.internal;

import dev.memmgr.BufferObject;
import dev.memmgr.MemoryManager;
import dev.memmgr.internal.gem.GemDevice;
import dev.memmgr.internal.gem.GemObject;
import java.util.function.Function;

/**
 * The objects behind the public facades, for memmgr's own benchmarks, tools and tests (like
 * the JDK's SharedSecrets). Not exported from module dev.memmgr: code on the module path cannot
 * reach it. The public classes register their accessors when they are initialized.
 */
public final class Access {
    private static volatile Function<BufferObject, GemObject> objects;
    private static volatile Function<MemoryManager, GemDevice> devices;

    private Access() {
    }

    /** Called once by BufferObject's static initializer. */
    public static void registerObjects(Function<BufferObject, GemObject> f) {
        objects = f;
    }

    /** Called once by MemoryManager's static initializer. */
    public static void registerDevices(Function<MemoryManager, GemDevice> f) {
        devices = f;
    }

    /** @return the buffer object's internal object */
    public static GemObject gem(BufferObject bo) {
        return objects.apply(bo);
    }

    /** @return the manager's device */
    public static GemDevice device(MemoryManager mm) {
        return devices.apply(mm);
    }
}
