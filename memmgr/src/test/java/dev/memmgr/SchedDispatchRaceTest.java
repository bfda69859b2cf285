package dev.memmgr;

import static dev.memmgr.SchedTestSupport.assertSucceeds;
import static dev.memmgr.SchedTestSupport.scheduler;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A job becomes ready in two ways: its last dependency signals while it is its entity's head, or
 * its entity's head leaves while its dependencies have all signaled. When both happen at once (the
 * job ahead is dispatched in one thread while the job's last dependency signals in another), the
 * job must still be made ready once, and run once. Two threads race the two signals, many times.
 */
@ExtendWith(MemmgrExtension.class)
class SchedDispatchRaceTest {

    @Test
    void aJobMadeReadyTwiceAtOnceRunsOnce(Fixture f) {
        final int rounds = 3000;
        Fence[] aGates = new Fence[rounds];
        Fence[] bGates = new Fence[rounds];
        for (int i = 0; i < rounds; i++) {
            aGates[i] = new Fence();
            bGates[i] = new Fence();
        }
        AtomicInteger go = new AtomicInteger(-1);
        AtomicIntegerArray runsOfB = new AtomicIntegerArray(rounds);
        AtomicReferenceArray<Job> sentinels = new AtomicReferenceArray<>(rounds);
        try (GpuScheduler gpu = scheduler("race", 1)) {
            Workers w = f.workers();
            w.add("signaler", () -> {
                for (int i = 0; i < rounds; i++) {
                    long deadline = System.nanoTime() + Fixture.DEADLINE.toNanos();
                    while (go.get() < i) {
                        if (System.nanoTime() > deadline) {
                            throw new AssertionError("round " + i + " never started");
                        }
                        Thread.onSpinWait();
                    }
                    aGates[i].signal(); // A becomes ready and is dispatched; B's dependencies may be done
                }
            }).start();
            for (int i = 0; i < rounds; i++) {
                int round = i;
                try (Entity e = gpu.createEntity(Priority.NORMAL)) {
                    e.job(ctx -> { }).dependency(aGates[i]).push();                          // A
                    e.job(ctx -> runsOfB.incrementAndGet(round)).dependency(bGates[i]).push(); // B
                    sentinels.set(i, e.job(ctx -> { }).push());                              // C
                    go.set(i);
                    bGates[i].signal(); // B's last dependency, while A may be leaving the head
                    assertSucceeds(sentinels.get(i), "the job after B, round " + i);
                }
                assertEquals(1, runsOfB.get(i), "runs of B in round " + i);
            }
            w.join();
            for (int i = 0; i < rounds; i++) {
                assertEquals(1, runsOfB.get(i), "runs of B in round " + i);
            }
        }
    }
}
