import java.io.IOException;
import java.lang.classfile.Attributes;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassModel;
import java.lang.classfile.attribute.ModuleAttribute;
import java.lang.classfile.attribute.ModulePackagesAttribute;
import java.lang.classfile.attribute.ModuleRequireInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * Build step of memmgr/pom.xml (package phase, run by the JDK 25 of the toolchain in source-file
 * mode): writes the module descriptor of the published jar.
 *
 * <p>The library is compiled and tested against Agrona as the automatic module {@code
 * org.agrona}; the jar bundles the Agrona classes it uses relocated under {@code
 * dev.memmgr.internal.shaded.agrona} (maven-shade-plugin), so its descriptor must not require
 * {@code org.agrona}: an automatic module cannot be linked by jlink. This copies the compiled
 * descriptor with the given requires removed (everything else kept, so later edits of
 * module-info.java carry over) and without its ModulePackages attribute, which `jar --update`
 * then recomputes from the shaded jar's content. It fails when a module to drop is not required:
 * the build notices if the descriptor and this step disagree.
 *
 * <pre>java ShadedModuleDescriptor.java IN OUT MODULE...</pre>
 */
public final class ShadedModuleDescriptor {
    private ShadedModuleDescriptor() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 3) {
            System.err.println("usage: java ShadedModuleDescriptor.java IN_MODULE_INFO OUT_MODULE_INFO MODULE_TO_DROP...");
            System.exit(2);
        }
        Path in = Path.of(args[0]);
        Path out = Path.of(args[1]);
        Set<String> drop = Set.copyOf(List.of(args).subList(2, args.length));
        ClassModel model = ClassFile.of().parse(in);
        ModuleAttribute module = model.findAttribute(Attributes.module())
                .orElseThrow(() -> new IllegalArgumentException(in + " is not a module descriptor"));
        List<ModuleRequireInfo> kept = module.requires().stream()
                .filter(r -> !drop.contains(r.requires().name().stringValue()))
                .toList();
        for (String m : drop) {
            if (module.requires().stream().noneMatch(r -> r.requires().name().stringValue().equals(m))) {
                throw new IllegalStateException(in + " does not require " + m + ": update memmgr/pom.xml");
            }
        }
        ModuleAttribute rewritten = ModuleAttribute.of(module.moduleName(), module.moduleFlagsMask(),
                module.moduleVersion().orElse(null), kept, module.exports(), module.opens(), module.uses(),
                module.provides());
        byte[] bytes = ClassFile.of().transformClass(model, (builder, element) -> {
            if (element instanceof ModuleAttribute) {
                builder.with(rewritten);
            } else if (!(element instanceof ModulePackagesAttribute)) {
                builder.with(element);
            }
        });
        Files.createDirectories(out.toAbsolutePath().getParent());
        Files.write(out, bytes);
    }
}
