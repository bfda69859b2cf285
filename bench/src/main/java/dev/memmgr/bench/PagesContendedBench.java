package dev.memmgr.bench;

import org.openjdk.jmh.annotations.Threads;

/**
 * {@link PagesBench} with two threads on one object (and one shared {@code AtomicInteger} for
 * the floor): the cache line of the counts bounces between the cores. Target (DESIGN.md section
 * 5): no worse than 2 x the one-thread time of the same benchmark.
 */
@Threads(2)
public class PagesContendedBench extends PagesBench {
}
