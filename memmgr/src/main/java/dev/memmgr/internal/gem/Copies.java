package dev.memmgr.internal.gem;

import dev.memmgr.internal.mem.Vmapping;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The copies of {@code BufferObject.read} and {@code write} between a user segment and an
 * object's frames, through the direct map, one run of consecutive frames at a time; holes read
 * as zero.
 *
 * <p>A user segment may alias the object itself: a slice of the object's own vmap. Copying
 * through the direct map page by page would then read bytes it has already overwritten
 * ({@code write(4096, view.asSlice(0, 8192))} must move pages 0..1 onto 1..2, not smear page 0).
 * Such copies are done as if through a temporary buffer: within the view itself when the user
 * segment lies inside it ({@code MemorySegment.copy} is a memmove there), through a real
 * temporary buffer when it only overlaps it.
 *
 * <p>Locking: the object's reservation held (asserted); the object is resident wherever a write
 * goes, and evicted objects have been swapped in before a read.
 */
final class Copies {
    private Copies() {
    }

    static void copyLocked(GemObject o, long offset, MemorySegment user, boolean toObject) {
        o.assertLocked();
        long length = user.byteSize();
        Vmapping m = o.mapping();
        if (m != null && user.isNative()) {
            MemorySegment view = m.segment();
            long ua = user.address();
            long va = view.address();
            if (ua < va + view.byteSize() && va < ua + length) {
                copyAliased(o, offset, user, view, toObject);
                return;
            }
        }
        copyDirect(o, offset, user, 0, length, toObject);
    }

    private static void copyAliased(GemObject o, long offset, MemorySegment user, MemorySegment view, boolean toObject) {
        long length = user.byteSize();
        long inView = user.address() - view.address();
        if (inView >= 0 && inView + length <= view.byteSize()) {
            if (toObject) {
                MemorySegment.copy(view, inView, view, offset, length);
            } else {
                MemorySegment.copy(view, offset, view, inView, length);
            }
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment tmp = arena.allocate(length);
            if (toObject) {
                tmp.copyFrom(user);
                copyDirect(o, offset, tmp, 0, length, true);
            } else {
                copyDirect(o, offset, tmp, 0, length, false);
                user.copyFrom(tmp);
            }
        }
    }

    /** Copies between object bytes [offset, offset + length) and user bytes from userOffset. */
    private static void copyDirect(GemObject o, long offset, MemorySegment user, long userOffset, long length, boolean toObject) {
        PageTable t = o.table();
        if (t == null) {
            if (toObject) {
                throw new IllegalStateException("write to an unbacked object " + o.handle());
            }
            user.asSlice(userOffset, length).fill((byte) 0);
            return;
        }
        MemorySegment dm = o.dev().mem().directMap();
        int shift = o.dev().pageShift();
        long pageMask = (1L << shift) - 1;
        while (length > 0) {
            int p = (int) (offset >>> shift);
            long inPage = offset & pageMask;
            int touched = (int) Math.min((inPage + length + pageMask) >>> shift, o.pages() - p);
            int run = t.runLength(p, touched);
            long chunk = Math.min(((long) run << shift) - inPage, length);
            int unit = t.get(p);
            if (unit == PageTable.NONE) {
                if (toObject) {
                    throw new IllegalStateException("write to an unbacked page " + p + " of object " + o.handle());
                }
                user.asSlice(userOffset, chunk).fill((byte) 0);
            } else if (toObject) {
                MemorySegment.copy(user, userOffset, dm, ((long) unit << shift) + inPage, chunk);
            } else {
                MemorySegment.copy(dm, ((long) unit << shift) + inPage, user, userOffset, chunk);
            }
            offset += chunk;
            userOffset += chunk;
            length -= chunk;
        }
    }
}
