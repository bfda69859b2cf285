package dev.memmgr.internal.sys;

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
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The lower layers (sys, mem, swap) call nobody above them: no compiled class of theirs refers
 * to a type of the public package {@code dev.memmgr} (its exceptions included; gem translates).
 * Reads every class file's constant pool, where every type a class names appears (in class
 * entries, descriptors and signatures alike) as a UTF-8 entry.
 */
class LayerDependencyTest {
    /** A type of the package dev.memmgr itself (not of a sub-package) inside a constant pool string. */
    private static final Pattern PUBLIC_TYPE = Pattern.compile("(?<![\\w/$])dev/memmgr/([A-Za-z_$][\\w$]*)(?![\\w$/])");

    @Test
    void lowerLayersReferNoPublicType() throws IOException, URISyntaxException {
        Path classes = classesRoot();
        List<String> violations = new ArrayList<>();
        int scanned = 0;
        for (String layer : new String[] {"sys", "mem", "swap"}) {
            Path dir = classes.resolve("dev/memmgr/internal/" + layer);
            assertTrue(Files.isDirectory(dir), "compiled layer " + dir);
            try (Stream<Path> files = Files.list(dir)) {
                for (Path f : files.filter(p -> p.toString().endsWith(".class")).toList()) {
                    scanned++;
                    TreeSet<String> refs = publicTypes(Files.readAllBytes(f));
                    if (!refs.isEmpty()) {
                        violations.add(layer + "/" + f.getFileName() + " -> " + refs);
                    }
                }
            }
        }
        assertTrue(scanned >= 20, "scanned " + scanned + " classes in " + classes);
        assertEquals(List.of(), violations, "sys, mem and swap must not depend on the public package");
    }

    @Test
    void theScanFindsAPublicReference() throws IOException, URISyntaxException {
        // the gem class that translates the lower layers' exceptions refers to public types: the scan must see them
        Path gem = classesRoot().resolve("dev/memmgr/internal/gem/LowerLayers.class");
        TreeSet<String> refs = publicTypes(Files.readAllBytes(gem));
        assertTrue(refs.contains("dev.memmgr.SwapException") && refs.contains("dev.memmgr.MemoryManagerException"),
                String.valueOf(refs));
    }

    private static TreeSet<String> publicTypes(byte[] classFile) {
        TreeSet<String> found = new TreeSet<>();
        for (PoolEntry e : ClassFile.of().parse(classFile).constantPool()) {
            if (e instanceof Utf8Entry utf8) {
                Matcher m = PUBLIC_TYPE.matcher(utf8.stringValue());
                while (m.find()) {
                    found.add("dev.memmgr." + m.group(1));
                }
            }
        }
        return found;
    }

    /** The directory of the main classes (not the test classes patched into the module). */
    private static Path classesRoot() throws URISyntaxException {
        return Path.of(LibC.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    }
}
