package dev.memmgr.bench;

import dev.memmgr.BufferObject;
import dev.memmgr.Client;
import dev.memmgr.Fence;
import dev.memmgr.FenceUsage;
import dev.memmgr.Madvise;
import dev.memmgr.MemoryManager;
import dev.memmgr.Residency;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * A process for TopTest to watch, started by it (so {@code top} looks at a JVM it did not start):
 * a manager "remote" that publishes its counters, whose client "ui" holds still figures (cold:
 * 512 KiB evicted; warm: 256 KiB; pinned: 256 KiB; busy: 64 KiB with a fence never signaled;
 * junk: 128 KiB DONTNEED), and a second manager "churner" whose client "churn" has one 64 KiB
 * object evicted and swapped back in every 20 ms, so that the rates are not zero. Prints
 * "ready PID" once set up, then runs until its standard input closes.
 */
public final class PublishingApp {
    private PublishingApp() {
    }

    public static void main(String[] args) throws IOException, InterruptedException {
        try (MemoryManager mm = MemoryManager.builder().name("remote").capacity(16L << 20).backgroundReclaim(false)
                .publishCounters(true).build();
             MemoryManager churner = MemoryManager.builder().name("churner").capacity(1L << 20).backgroundReclaim(false)
                .publishCounters(true).build();
             Client ui = mm.openClient("ui");
             Client churn = churner.openClient("churn")) {
            BufferObject cold = write(ui.create(512 << 10).label("cold"), 1);
            mm.reclaim(512 << 10); // the only object: evicted
            write(ui.create(256 << 10).label("warm"), 2);
            BufferObject pinned = write(ui.create(256 << 10).label("pinned"), 3);
            pinned.pin();
            write(ui.create(64 << 10).label("busy"), 4).resv().addFence(new Fence(), FenceUsage.WRITE);
            write(ui.create(128 << 10).label("junk"), 5).madvise(Madvise.DONTNEED);
            if (cold.residency() != Residency.EVICTED) {
                throw new IllegalStateException("setup: " + cold);
            }
            BufferObject moving = write(churn.create(64 << 10).label("moving"), 6);
            Thread worker = new Thread(() -> {
                byte[] one = new byte[1];
                while (!Thread.currentThread().isInterrupted()) {
                    churner.reclaim(64 << 10);                   // evicts it
                    moving.read(0, MemorySegment.ofArray(one)); // swaps it in
                    try {
                        Thread.sleep(20);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "churn");
            worker.setDaemon(true);
            worker.start();
            System.out.println("ready " + ProcessHandle.current().pid());
            System.out.flush();
            while (System.in.read() >= 0) {
                // runs until the test closes this process's input
            }
            worker.interrupt();
            worker.join(5000);
            pinned.unpin(); // no leak to report when the client closes
        }
    }

    private static BufferObject write(BufferObject bo, int value) {
        byte[] a = new byte[(int) bo.size()];
        Arrays.fill(a, (byte) value);
        bo.write(0, MemorySegment.ofArray(a));
        return bo;
    }
}
