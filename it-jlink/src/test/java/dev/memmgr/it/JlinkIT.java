package dev.memmgr.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.lang.module.ModuleReference;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.spi.ToolProvider;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * An adopter's jlink, end to end, on the packaged memmgr jar (the one this build installs): compile
 * a modular application that {@code requires dev.memmgr} (src/it/app), jar it, jlink it with the
 * JDK this test runs on (the toolchain's JDK 25: failsafe forks it), run the image with {@code
 * --enable-native-access=dev.memmgr} and check its one line of output. Fails if the jar's
 * descriptor requires an automatic module (jlink refuses it), if a bundled class is missing from
 * the image, or if the program misbehaves.
 */
class JlinkIT {
    private static final String APP = "dev.memmgr.it.app";

    @Test
    void jlinkedApplicationRuns() throws Exception {
        Path memmgrJar = memmgrJar();
        ModuleDescriptor descriptor = descriptorOf(memmgrJar);
        assertTrue(descriptor.requires().stream().noneMatch(r -> r.name().equals("org.agrona")),
                "the packaged jar must not require the automatic module org.agrona: " + descriptor.requires());

        Path work = Path.of(System.getProperty("it.work", "target/jlink-it"));
        deleteRecursively(work);
        Path classes = Files.createDirectories(work.resolve("classes"));
        Path appJar = work.resolve("app.jar");
        Path image = work.resolve("image");

        Path src = Path.of(System.getProperty("it.app.src", "src/it/app"));
        List<String> javac = new ArrayList<>(List.of("--module-path", memmgrJar.toString(), "-d", classes.toString(),
                "-Xlint:all,-path", "-Werror"));
        try (Stream<Path> files = Files.walk(src)) {
            files.filter(f -> f.toString().endsWith(".java")).forEach(f -> javac.add(f.toString()));
        }
        tool("javac", javac);
        tool("jar", List.of("--create", "--file", appJar.toString(), "--main-class", APP + ".App", "-C",
                classes.toString(), "."));
        // no --module-path entry for the JDK's own modules: jlink takes them from the JDK it runs
        // in (its jmods/, or its run-time image where there is none)
        tool("jlink", List.of("--module-path", memmgrJar + java.io.File.pathSeparator + appJar,
                "--add-modules", APP, "--output", image.toString(), "--strip-debug", "--no-header-files",
                "--no-man-pages"));

        Path java = image.resolve("bin").resolve("java");
        Result listed = run(List.of(java.toString(), "--list-modules"));
        assertTrue(listed.out.lines().anyMatch(l -> l.startsWith("dev.memmgr@")), "image modules: " + listed.out);
        assertTrue(listed.out.lines().noneMatch(l -> l.startsWith("org.agrona")), "image modules: " + listed.out);

        Result r = run(List.of(java.toString(), "--enable-native-access=dev.memmgr", "-m", APP));
        String version = System.getProperty("memmgr.version");
        String expected = "memmgr " + version + " in a jlinked image (module dev.memmgr): 3 pages written, 12288"
                + " bytes evicted, swapped back in intact, swap-ins 1";
        assertEquals(0, r.exit, "exit status; stdout:\n" + r.out + "stderr:\n" + r.err);
        assertEquals(expected, r.out.strip(), "stderr:\n" + r.err);
        assertEquals("", r.err, "the image must run without warnings (native access is enabled for dev.memmgr)");
        Files.writeString(work.resolve("output.txt"), r.out);
    }

    /** The memmgr jar on this test's class path: in a reactor build, the one just packaged. */
    private static Path memmgrJar() throws URISyntaxException {
        URL url = ClassLoader.getSystemResource("dev/memmgr/MemoryManager.class");
        if (url == null || !url.getProtocol().equals("jar")) {
            fail("memmgr must be on the class path as a jar (run in `mvn verify`, after package): " + url);
        }
        String s = url.toString();
        return Path.of(new java.net.URI(s.substring("jar:".length(), s.indexOf("!/"))));
    }

    private static ModuleDescriptor descriptorOf(Path jar) {
        ModuleReference ref = ModuleFinder.of(jar).findAll().stream().findFirst()
                .orElseThrow(() -> new AssertionError("not a module: " + jar));
        ModuleDescriptor d = ref.descriptor();
        assertEquals("dev.memmgr", d.name());
        assertTrue(!d.isAutomatic(), "dev.memmgr must be an explicit module");
        return d;
    }

    /** Runs a JDK tool in this JVM; fails the test with its output if it returns non-zero. */
    private static void tool(String name, List<String> args) {
        ToolProvider tool = ToolProvider.findFirst(name).orElseThrow(() -> new AssertionError(
                "no " + name + " in the JDK running this test (" + System.getProperty("java.home") + ")"));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream ps = new PrintStream(out, true, StandardCharsets.UTF_8);
        int rc = tool.run(ps, ps, args.toArray(String[]::new));
        if (rc != 0) {
            fail(name + " " + String.join(" ", args) + " failed (" + rc + "):\n" + out.toString(StandardCharsets.UTF_8));
        }
    }

    private record Result(int exit, String out, String err) {
    }

    private static Result run(List<String> command) throws IOException, InterruptedException {
        Path outFile = Files.createTempFile("jlink-it", ".out");
        Path errFile = Files.createTempFile("jlink-it", ".err");
        try {
            Process p = new ProcessBuilder(command).redirectOutput(outFile.toFile()).redirectError(errFile.toFile())
                    .start();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                fail(String.join(" ", command) + " did not finish in 60 s");
            }
            return new Result(p.exitValue(), Files.readString(outFile), Files.readString(errFile));
        } finally {
            Files.deleteIfExists(outFile);
            Files.deleteIfExists(errFile);
        }
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
