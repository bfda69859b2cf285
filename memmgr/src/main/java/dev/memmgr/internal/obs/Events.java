package dev.memmgr.internal.obs;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;

/**
 * The library's JDK Flight Recorder events, category "memmgr". Each is made where the work
 * starts ({@code begin()} where it has a duration) and committed where it ends, through the
 * {@code end(...)} method of its class, which fills the fields only if {@code shouldCommit()}:
 * with no recording (or the event disabled) nothing is built (no strings, no labels), and the
 * JIT removes the event object itself.
 *
 * <pre>{@code
 * Events.Evict ev = new Events.Evict();
 * ev.begin();
 * ... write to swap ...
 * ev.end(manager, client, handle, label, bytes);   // commits only when recording
 * }</pre>
 *
 * <p>Fields are what an engineer filters on: the manager's name (its {@code Builder.name}, or
 * {@code manager-N} when unnamed), the client, the object's handle and label, bytes.
 */
public final class Events {
    /** Values of {@link Reclaim}'s kind. */
    public static final String DIRECT = "direct";
    public static final String BACKGROUND = "background";
    public static final String REQUESTED = "requested";

    private Events() {
    }

    /** A run of the shrinker. */
    @Name("dev.memmgr.Reclaim")
    @Label("Reclaim")
    @Category("memmgr")
    @Description("A run of the shrinker: purges DONTNEED objects, then evicts idle ones to swap")
    @StackTrace(false)
    public static final class Reclaim extends Event {
        @Label("Manager")
        String manager;
        @Label("Kind")
        @Description("direct (an allocation ran short), background (the watermarks) or requested (MemoryManager.reclaim)")
        String kind;
        @Label("Requested")
        @DataAmount
        long requested;
        @Label("Freed")
        @DataAmount
        long freed;
        @Label("Purged Objects")
        int purged;
        @Label("Evicted Objects")
        int evicted;
        @Label("Skipped Objects")
        @Description("objects the shrinker looked at and could not take: pinned, busy, locked or declined")
        int skipped;

        public void end(String manager, String kind, long requested, long freed, int purged, int evicted, int skipped) {
            if (shouldCommit()) {
                this.manager = manager;
                this.kind = kind;
                this.requested = requested;
                this.freed = freed;
                this.purged = purged;
                this.evicted = evicted;
                this.skipped = skipped;
                commit();
            }
        }
    }

    /** What the object events share. */
    abstract static class ObjectEvent extends Event {
        @Label("Manager")
        String manager;
        @Label("Client")
        String client;
        @Label("Handle")
        int handle;
        @Label("Object Label")
        String label;
        @Label("Bytes")
        @DataAmount
        long bytes;

        public void end(String manager, String client, int handle, String label, long bytes) {
            if (shouldCommit()) {
                this.manager = manager;
                this.client = client;
                this.handle = handle;
                this.label = label;
                this.bytes = bytes;
                commit();
            }
        }
    }

    /** A buffer object written to swap and its frames freed. */
    @Name("dev.memmgr.Evict")
    @Label("Evict")
    @Category("memmgr")
    @Description("A buffer object written to swap, its frames freed")
    @StackTrace(false)
    public static final class Evict extends ObjectEvent {
    }

    /** A buffer object read back from swap. */
    @Name("dev.memmgr.SwapIn")
    @Label("Swap In")
    @Category("memmgr")
    @Description("A buffer object read back from swap into frames; the stack is the operation that needed it")
    public static final class SwapIn extends ObjectEvent {
    }

    /** The content of a DONTNEED object destroyed. */
    @Name("dev.memmgr.Purge")
    @Label("Purge")
    @Category("memmgr")
    @Description("The content of a DONTNEED buffer object destroyed, its frames or swap slots freed")
    @StackTrace(false)
    public static final class Purge extends ObjectEvent {
    }

    /** An allocation that failed with GpuOutOfMemoryException. */
    @Name("dev.memmgr.OutOfMemory")
    @Label("Out Of Memory")
    @Category("memmgr")
    @Description("An allocation of frames failed: GpuOutOfMemoryException, with what kept the shrinker from freeing enough")
    public static final class OutOfMemory extends Event {
        @Label("Manager")
        String manager;
        @Label("Requested")
        @DataAmount
        long requested;
        @Label("Free")
        @DataAmount
        long free;
        @Label("Pinned")
        @DataAmount
        long pinned;
        @Label("Busy")
        @Description("frames of objects skipped because of unsignaled fences")
        @DataAmount
        long busy;
        @Label("Locked")
        @Description("frames of objects skipped because another thread held their reservation")
        @DataAmount
        long locked;
        @Label("Evictable")
        @Description("frames that could have been evicted with swap room")
        @DataAmount
        long evictable;
        @Label("Message")
        String message;

        public void end(String manager, long requested, long free, long pinned, long busy, long locked, long evictable,
                        String message) {
            if (shouldCommit()) {
                this.manager = manager;
                this.requested = requested;
                this.free = free;
                this.pinned = pinned;
                this.busy = busy;
                this.locked = locked;
                this.evictable = evictable;
                this.message = message;
                commit();
            }
        }
    }

    /** A cold vmap: a new mapping of an object's frames. */
    @Name("dev.memmgr.VmapMap")
    @Label("Vmap Map")
    @Category("memmgr")
    @Description("A cold vmap: the frames of a buffer object mapped (after compaction when it was scattered)")
    @StackTrace(false)
    public static final class VmapMap extends Event {
        @Label("Manager")
        String manager;
        @Label("Client")
        String client;
        @Label("Handle")
        int handle;
        @Label("Object Label")
        String label;
        @Label("Bytes")
        @DataAmount
        long bytes;
        @Label("Mmap Calls")
        int mmapCalls;
        @Label("Compacted")
        @Description("the object's scattered frames were first moved into one run")
        boolean compacted;

        public void end(String manager, String client, int handle, String label, long bytes, int mmapCalls,
                        boolean compacted) {
            if (shouldCommit()) {
                this.manager = manager;
                this.client = client;
                this.handle = handle;
                this.label = label;
                this.bytes = bytes;
                this.mmapCalls = mmapCalls;
                this.compacted = compacted;
                commit();
            }
        }
    }

    /** A job that ran past its scheduler's timeout. */
    @Name("dev.memmgr.JobTimeout")
    @Label("Job Timeout")
    @Category("memmgr")
    @Description("A GPU job ran longer than its scheduler's timeout: its fence signaled with a TimeoutException")
    @StackTrace(false)
    public static final class JobTimeout extends Event {
        @Label("Scheduler")
        String scheduler;
        @Label("Job")
        long job;
        @Label("Timeout")
        @Timespan
        long timeout;

        public void end(String scheduler, long job, long timeoutNanos) {
            if (shouldCommit()) {
                this.scheduler = scheduler;
                this.job = job;
                this.timeout = timeoutNanos;
                commit();
            }
        }
    }
}
