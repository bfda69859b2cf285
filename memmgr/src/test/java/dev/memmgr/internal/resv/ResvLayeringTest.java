package dev.memmgr.internal.resv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassModel;
import java.lang.classfile.constantpool.PoolEntry;
import java.lang.classfile.constantpool.Utf8Entry;
import java.net.URISyntaxException;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Layering (issue 9, "no package cycle"): the resv layer needs nothing from the public API. Every
 * compiled class of {@code dev.memmgr.internal.resv} is parsed and every name in its constant
 * pool (class references, descriptors, signatures, string constants) is checked: any mention of
 * {@code dev/memmgr/} must be of this package. The sources' imports are checked too.
 */
class ResvLayeringTest {
    private static final String PACKAGE = "dev/memmgr/internal/resv/";

    @Test
    void noClassOfTheResvLayerRefersToTheRestOfMemmgr() throws IOException, URISyntaxException {
        Path location = Path.of(Resv.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        List<String> offending = new ArrayList<>();
        List<String> scanned = new ArrayList<>();
        if (Files.isDirectory(location)) {
            scan(location.resolve(PACKAGE), scanned, offending);
        } else {
            try (FileSystem jar = FileSystems.newFileSystem(location, Map.of())) {
                scan(jar.getPath(PACKAGE), scanned, offending);
            }
        }
        for (String main : List.of("Resv", "AcquireContext", "FenceCore", "Usage", "WouldDeadlockException", "Timeouts")) {
            assertTrue(scanned.contains(main), "scanned " + scanned + ", missing " + main);
        }
        assertEquals(List.of(), offending);
    }

    @Test
    void noSourceOfTheResvLayerImportsTheRestOfMemmgr() throws IOException {
        Path sources = Path.of("src/main/java").resolve(PACKAGE);
        assertTrue(Files.isDirectory(sources), "run from the module directory: " + sources.toAbsolutePath());
        List<String> offending = new ArrayList<>();
        try (Stream<Path> files = Files.list(sources)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                for (String line : Files.readAllLines(f)) {
                    String l = line.strip();
                    if (l.startsWith("import") && l.contains("dev.memmgr.") && !l.contains("dev.memmgr.internal.resv.")) {
                        offending.add(f.getFileName() + ": " + l);
                    }
                }
            }
        }
        assertEquals(List.of(), offending);
    }

    private static void scan(Path dir, List<String> scanned, List<String> offending) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".class")).toList()) {
                ClassModel model = ClassFile.of().parse(Files.readAllBytes(f));
                String name = model.thisClass().asInternalName();
                if (!name.startsWith(PACKAGE) || name.endsWith("Test") || name.contains("Test$")) {
                    continue;
                }
                scanned.add(name.substring(PACKAGE.length()));
                for (PoolEntry e : model.constantPool()) {
                    if (e instanceof Utf8Entry u && refersOutside(u.stringValue())) {
                        offending.add(name + " -> " + u.stringValue());
                    }
                }
            }
        }
    }

    private static boolean refersOutside(String s) {
        for (String prefix : new String[] {"dev/memmgr/", "dev.memmgr."}) {
            String own = prefix.charAt(3) == '/' ? PACKAGE : PACKAGE.replace('/', '.');
            for (int i = s.indexOf(prefix); i >= 0; i = s.indexOf(prefix, i + 1)) {
                if (!s.startsWith(own, i)) {
                    return true;
                }
            }
        }
        return false;
    }
}
