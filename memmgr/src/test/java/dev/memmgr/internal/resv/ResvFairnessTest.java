package dev.memmgr.internal.resv;

import static dev.memmgr.internal.resv.Threads.start;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

/**
 * No starvation (issue 9, defect 9): one thread locks {@value #LOCKS} reservations with an acquire
 * context in a loop while {@value #LOCKS} other threads each re-take one of them in a tight loop.
 *
 * <p><b>Rounds counted.</b> A single-lock thread's round is <em>contended</em> when, at its end
 * (checked while still holding the lock), the many-lock thread is queued for that lock: those are
 * the rounds in which the two compete. Each single-lock thread runs until it has
 * {@value #CONTENDED_ROUNDS} of them.
 *
 * <p><b>The bound.</b> Between a single-lock thread's first and last contended round, the
 * many-lock thread must take that lock at least {@value #CONTENDED_ROUNDS} - 1 times: once per
 * contended round but the last (its hand-over comes after). Why: unlock hands the lock to the
 * longest-waiting thread, and the many-lock thread is queued at the end of every contended round,
 * so it holds the lock before the single-lock thread can have it again; the single-lock thread
 * cannot start its next round before that. Checked per round as well (no "overtake": a round
 * after a contended one that finds the many-lock thread's count unchanged). So the many-lock
 * thread completes one round of its own for every round another thread made it wait for, whatever
 * the scheduler does: the test is deterministic. The lock that woke waiters with notifyAll and
 * let the unlocker re-take the lock failed it completely (measured with 300 contended rounds per
 * thread: 299 overtakes, and 0 acquisitions by the many-lock thread in the window).
 *
 * <p>The wait is bounded ({@link Threads#LONG_WAIT}).
 */
class ResvFairnessTest {
    static final int LOCKS = 3;
    static final int CONTENDED_ROUNDS = 50;

    @Test
    void aThreadThatNeedsManyLocksIsNotStarvedByThreadsThatRetakeOne() throws Exception {
        Resv[] locks = new Resv[LOCKS];
        for (int i = 0; i < LOCKS; i++) {
            locks[i] = new Resv();
        }
        long[] manyAcquired = new long[LOCKS]; // [i] guarded by locks[i]
        long[] singleRounds = new long[LOCKS];
        long[] contendedRounds = new long[LOCKS];
        long[] manyAcquiredInWindow = new long[LOCKS]; // between the first and the last contended round
        long[] overtakes = new long[LOCKS];
        CountDownLatch go = new CountDownLatch(1);
        CountDownLatch singlesDone = new CountDownLatch(LOCKS);
        List<Threads.Started<Void>> singles = new ArrayList<>();
        for (int t = 0; t < LOCKS; t++) {
            int i = t;
            singles.add(start("single-" + i, () -> {
                Resv r = locks[i];
                go.await();
                long mustExceed = -1; // the many-lock count seen at the last contended unlock
                long first = -1;
                while (contendedRounds[i] < CONTENDED_ROUNDS) {
                    r.lock();
                    try {
                        long seen = manyAcquired[i];
                        if (seen <= mustExceed) {
                            overtakes[i]++; // re-took the lock ahead of the queued many-lock thread
                        }
                        singleRounds[i]++;
                        if (r.hasWaiters()) { // only the many-lock thread ever waits for r
                            if (contendedRounds[i]++ == 0) {
                                first = seen;
                            }
                            manyAcquiredInWindow[i] = seen - first;
                            mustExceed = seen;
                        } else {
                            mustExceed = -1;
                        }
                    } finally {
                        r.unlock();
                    }
                }
                singlesDone.countDown();
                return null;
            }));
        }
        long[] manyRounds = new long[1];
        Threads.Started<Void> many = start("many", () -> {
            go.await();
            while (singlesDone.getCount() > 0) {
                AcquireContext ctx = new AcquireContext();
                for (int i = 0; i < LOCKS; i++) {
                    ctx.lock(locks[i], locks[i]); // the only context: never dies
                    manyAcquired[i]++;
                }
                ctx.close();
                manyRounds[0]++;
            }
            return null;
        });
        go.countDown();
        for (Threads.Started<Void> s : singles) {
            s.join();
        }
        many.join();
        String figures = "many-lock rounds " + manyRounds[0] + ", single-lock rounds " + Arrays.toString(singleRounds)
                + ", contended " + Arrays.toString(contendedRounds) + ", many-lock acquisitions in the contended window "
                + Arrays.toString(manyAcquiredInWindow);
        for (int i = 0; i < LOCKS; i++) {
            assertEquals(0, overtakes[i], "single-lock thread " + i + " re-took its lock ahead of the queued many-lock thread; " + figures);
            assertTrue(manyAcquiredInWindow[i] >= CONTENDED_ROUNDS - 1, "the many-lock thread got less than its share of lock " + i + ": " + figures);
        }
        assertTrue(manyRounds[0] >= CONTENDED_ROUNDS, figures);
    }
}
