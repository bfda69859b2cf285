package dev.memmgr.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The stress report's latency figures: each in the unit its magnitude asks for. */
class LatencyHistogramTest {
    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            0             | 0 ns
            850           | 850 ns
            999           | 999 ns
            1000          | 1.0 us
            35200         | 35.2 us
            999949        | 999.9 us
            999950        | 1.0 ms
            1300000       | 1.3 ms
            999949999     | 999.9 ms
            999950000     | 1.0 s
            2000000000    | 2.0 s
            """)
    void durationsInTheirUnit(long nanos, String text) {
        assertEquals(text, LatencyHistogram.duration(nanos));
    }

    @Test
    void lineShowsP50AndP99EachInItsUnit() {
        LatencyHistogram h = new LatencyHistogram();
        for (int i = 0; i < 98; i++) {
            h.record(500);
        }
        h.record(2_000_000);
        h.record(2_000_000);
        // 500 ns has a bucket 16 ns wide (midpoint 503); 2 ms is the maximum seen
        assertEquals("pin p50: 503 ns p99: 2.0 ms", h.line("pin"));
    }
}
