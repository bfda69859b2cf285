package dev.memmgr.internal.mem;

import java.lang.reflect.Method;

/**
 * Test support: the bytes of Java heap the calling thread has allocated so far
 * ({@code com.sun.management.ThreadMXBean#getCurrentThreadAllocatedBytes}), reached by reflection
 * because the module under test does not read java.management. Thread-safe.
 */
final class HeapMeter {
    private static final Object BEAN;
    private static final Method ALLOCATED;

    static {
        try {
            BEAN = Class.forName("java.lang.management.ManagementFactory").getMethod("getThreadMXBean").invoke(null);
            ALLOCATED = Class.forName("com.sun.management.ThreadMXBean").getMethod("getCurrentThreadAllocatedBytes");
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private HeapMeter() {
    }

    /** @return heap bytes allocated by the calling thread since it started */
    static long allocatedBytes() {
        try {
            return (long) ALLOCATED.invoke(BEAN);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }
}
