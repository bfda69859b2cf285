/**
 * GPU virtual address spaces, the pure core of drm_gpuvm: which addresses map which bytes of
 * which object, and the split/merge planner that turns a map or unmap request into the ordered
 * steps a driver applies. No objects, locks or reference counts here: the public
 * {@code GpuVm} builds them (its vm_bos, eviction tracking, locking) on this layer, which is
 * generic over the mapped object type and compares objects by identity.
 *
 * <p><b>Mappings and the tree.</b> A {@link dev.memmgr.internal.vm.Mapping} is
 * {@code [va, va + range) -> (obj, offset)}. It is at the same time the node of an AVL tree
 * keyed by va and of a doubly linked list in address order ({@link dev.memmgr.internal.vm.VaTree};
 * the kernel keeps an interval rb-tree and the same list). Mappings never overlap, so the
 * mapping containing an address is the floor of that address, and the mappings overlapping a
 * range are the floor of its start (if it reaches in) and its list successors up to the range's
 * end: O(log n + k). Insert and remove are O(log n) and allocate nothing; the only allocation per
 * mapping is the node, made when the mapping is planned. A node holds three longs, six
 * references (the object, parent, two children, two list neighbours) and a byte: 64 bytes with
 * compressed references (the default below 32 GB of heap), with or without compact object
 * headers, measured at 64 bytes per mapping (bench GpuVmPlanBench's main); a java.util.TreeMap
 * would cost an entry (40), a boxed key (24) and a value object (40) per mapping.
 *
 * <p><b>Planning is pure.</b> {@link dev.memmgr.internal.vm.VaSpace#planMap} and
 * {@link dev.memmgr.internal.vm.VaSpace#planUnmap} read the tree and return a
 * {@link dev.memmgr.internal.vm.Plan}: the ops in order, exactly as __drm_gpuvm_sm_map and
 * __drm_gpuvm_sm_unmap emit them. Walking the mappings that overlap the request in address
 * order, each one becomes
 * <ul>
 * <li>REMAP with a {@code prev} piece {@code [old.va, req.va)} (same object, same offset) when it
 *     starts before the request, and a {@code next} piece {@code [req.end, old.end)} at offset
 *     {@code old.offset + (req.end - old.va)} when it ends after it (both when the request lies
 *     inside it);</li>
 * <li>UNMAP when it lies inside the request;</li>
 * </ul>
 * and a map request ends with exactly one MAP of the request. For a map request, {@code keep}
 * is true when the old mapping maps the same object and
 * {@code old.offset - old.va == req.offset - req.va} (every address the two share keeps its
 * page); for an unmap it is always false. Neighbouring mappings are never merged. The kernel's
 * DOC "Split and Merge" is wrong against its own code in two places, and this layer follows the
 * code: an identical request gives UNMAP(keep) then MAP (the text promises no callback), and
 * in its example 15 the remaining piece has offset n+1 (the text says n+2).
 *
 * <p><b>Stamped plans.</b> {@link dev.memmgr.internal.vm.VaSpace#apply} performs a plan's ops on
 * the tree (remove the old node, insert the pieces, insert the new mapping) and bumps the space's
 * generation. A plan records the generation it was made at, and apply refuses one whose
 * generation is not the current one with IllegalStateException before touching anything. So an
 * op list can be applied once, and only to the very mappings it was computed from: the kernel
 * leaves that to the driver ("before calling this function again ... it is necessary to update
 * the view"), and drivers holding stale op lists are a known source of bugs there.
 *
 * <p><b>Bad requests</b> are refused before planning, in this order: null object (NPE);
 * addresses, range or offset not page multiples, an empty range, a range outside the space (IAE);
 * object bytes {@code [offset, offset + range)} outside the object (IOOBE). The public facade
 * checks that the object belongs to its manager between the last two. Queries accept any value.
 *
 * <p><b>Threads.</b> Nothing here is thread-safe or locks anything: a space has one owner, the
 * {@code GpuVm}, which plans and applies under its own lock.
 */
package dev.memmgr.internal.vm;
