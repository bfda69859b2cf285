package dev.memmgr.internal.obs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.classfile.ClassFile;
import java.lang.classfile.constantpool.PoolEntry;
import java.lang.classfile.constantpool.Utf8Entry;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The claim of the obs layer's package comment: it knows no buffer object. No compiled class of
 * {@code dev.memmgr.internal.obs} names a type of another internal layer, and of the public
 * package only the records and MXBean interfaces it shows; so gem, vm and sched call it and data
 * still flows down. Reads every class file's constant pool, where every type a class names
 * appears as a UTF-8 entry.
 */
class ObsLayeringTest {
    private static final Pattern MEMMGR_TYPE = Pattern.compile("dev/memmgr/([\\w/$]+)");
    private static final Set<String> PUBLIC_ALLOWED = Set.of("MemoryStats", "ClientStats", "MemoryManagerMXBean", "ClientMXBean");

    @Test
    void obsReferToNoOtherLayer() throws IOException, URISyntaxException {
        Path dir = Path.of(Units.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                .resolve("dev/memmgr/internal/obs");
        List<String> violations = new ArrayList<>();
        TreeSet<String> publicSeen = new TreeSet<>();
        int scanned = 0;
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".class")).toList()) {
                scanned++;
                TreeSet<String> bad = new TreeSet<>();
                for (PoolEntry e : ClassFile.of().parse(Files.readAllBytes(f)).constantPool()) {
                    if (e instanceof Utf8Entry utf8) {
                        Matcher m = MEMMGR_TYPE.matcher(utf8.stringValue());
                        while (m.find()) {
                            String t = m.group(1);
                            boolean ok = t.startsWith("internal/obs/") || t.startsWith("internal/shaded/")
                                    || PUBLIC_ALLOWED.contains(t.replaceAll("[$;].*", ""));
                            if (!ok) {
                                bad.add(t);
                            } else if (!t.startsWith("internal/")) {
                                publicSeen.add(t.replaceAll("[$;].*", ""));
                            }
                        }
                    }
                }
                if (!bad.isEmpty()) {
                    violations.add(f.getFileName() + " -> " + bad);
                }
            }
        }
        assertTrue(scanned >= 10, "scanned " + scanned + " classes in " + dir);
        assertEquals(PUBLIC_ALLOWED, publicSeen, "the scan sees the public types the layer does use (in descriptors too)");
        assertEquals(List.of(), violations);
    }
}
