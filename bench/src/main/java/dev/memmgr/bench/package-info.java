/**
 * JMH benchmarks for memmgr, built into {@code bench/target/benchmarks.jar}.
 *
 * <p>Each benchmark measures one path of the library next to a baseline run in the same JVM
 * (plain FFM arenas, a slice of the direct map, ...), so results are read as ratios within one
 * run rather than as absolute numbers (see DESIGN.md, section 5). The jar puts the library on
 * the class path, so benchmarks may drive the internal layers ({@code dev.memmgr.internal.*})
 * directly before the public API exists.
 *
 * <p>Run with a JDK 25, for example:
 * <pre>
 * java -jar bench/target/benchmarks.jar -f 1 -wi 3 -w 1 -i 5 -r 1 FrameBench
 * </pre>
 * Every benchmark class forks with {@code --enable-native-access=ALL-UNNAMED} (the library calls
 * libc through FFM) and a small heap. State is created in {@code @Setup} and released in
 * {@code @TearDown}: no native memory or mapping outlives a trial.
 */
package dev.memmgr.bench;
