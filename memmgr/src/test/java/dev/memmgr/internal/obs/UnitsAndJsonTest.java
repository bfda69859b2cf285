package dev.memmgr.internal.obs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** Units.bytes (what every toString prints) and the Json writer's structure checks and layout. */
class UnitsAndJsonTest {
    @Test
    void bytesInBinaryUnitsWithOneDecimalAtMost() {
        assertEquals("0 B", Units.bytes(0));
        assertEquals("1023 B", Units.bytes(1023));
        assertEquals("1 KiB", Units.bytes(1024));
        assertEquals("1.5 KiB", Units.bytes(1536));
        assertEquals("4 KiB", Units.bytes(4096));
        assertEquals("1 MiB", Units.bytes(1024 * 1024 - 1), "1023.999 KiB rounds to 1 MiB, not 1024 KiB");
        assertEquals("14.5 MiB", Units.bytes(14L * 1024 * 1024 + 512 * 1024));
        assertEquals("256 MiB", Units.bytes(256L << 20));
        assertEquals("1.2 GiB", Units.bytes(1288490189L));
        assertEquals("1 TiB", Units.bytes(1L << 40));
        assertEquals("8 EiB", Units.bytes(Long.MAX_VALUE));
        assertEquals("-4 KiB", Units.bytes(-4096));
        assertEquals("-8 EiB", Units.bytes(Long.MIN_VALUE));
    }

    @Test
    void jsonIsIndentedAndBalanced() {
        Json j = new Json().beginObject().field("a", 1).field("s", "x").name("list").beginArray().value(true).value(-2)
                .beginObject().endObject().beginArray().endArray().endArray().endObject();
        assertEquals("{\n  \"a\": 1,\n  \"s\": \"x\",\n  \"list\": [\n    true,\n    -2,\n    {},\n    []\n  ]\n}", j.toString());
    }

    @Test
    void jsonRefusesWhatWouldBeInvalid() {
        assertThrows(IllegalStateException.class, () -> new Json().name("outside"));
        assertThrows(IllegalStateException.class, () -> new Json().beginObject().value(1));
        assertThrows(IllegalStateException.class, () -> new Json().beginObject().name("a").name("b"));
        assertThrows(IllegalStateException.class, () -> new Json().beginArray().endObject());
        assertThrows(IllegalStateException.class, () -> new Json().beginObject().name("a").endObject());
        assertThrows(IllegalStateException.class, () -> new Json().beginObject().toString());
        assertThrows(IllegalStateException.class, () -> new Json().value(1).value(2));
    }

    @Test
    void jsonEscapes() {
        String text = new Json().value("\" \\ \n \r \t \b \f \u0001 \u2028 \ud83d\ude00 \udc00").toString();
        assertEquals("\"\\\" \\\\ \\n \\r \\t \\b \\f \\u0001 \\u2028 \ud83d\ude00 \ufffd\"", text);
    }
}
