package dev.memmgr.vulkan;

import static org.lwjgl.util.shaderc.Shaderc.shaderc_compilation_status_success;
import static org.lwjgl.util.shaderc.Shaderc.shaderc_compile_into_spv;
import static org.lwjgl.util.shaderc.Shaderc.shaderc_compile_options_initialize;
import static org.lwjgl.util.shaderc.Shaderc.shaderc_compile_options_release;
import static org.lwjgl.util.shaderc.Shaderc.shaderc_compile_options_set_target_env;
import static org.lwjgl.util.shaderc.Shaderc.shaderc_compiler_initialize;
import static org.lwjgl.util.shaderc.Shaderc.shaderc_compiler_release;
import static org.lwjgl.util.shaderc.Shaderc.shaderc_compute_shader;
import static org.lwjgl.util.shaderc.Shaderc.shaderc_env_version_vulkan_1_2;
import static org.lwjgl.util.shaderc.Shaderc.shaderc_fragment_shader;
import static org.lwjgl.util.shaderc.Shaderc.shaderc_result_get_bytes;
import static org.lwjgl.util.shaderc.Shaderc.shaderc_result_get_compilation_status;
import static org.lwjgl.util.shaderc.Shaderc.shaderc_result_get_error_message;
import static org.lwjgl.util.shaderc.Shaderc.shaderc_result_release;
import static org.lwjgl.util.shaderc.Shaderc.shaderc_target_env_vulkan;
import static org.lwjgl.util.shaderc.Shaderc.shaderc_vertex_shader;

import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * Compiles GLSL to SPIR-V at run time with shaderc (through LWJGL), for Vulkan 1.2.
 */
public final class GlslCompiler {
    /** A shader stage shaderc compiles for. */
    public enum Stage {
        /** A vertex shader. */
        VERTEX(shaderc_vertex_shader),
        /** A fragment shader. */
        FRAGMENT(shaderc_fragment_shader),
        /** A compute shader. */
        COMPUTE(shaderc_compute_shader);

        final int kind;

        Stage(int kind) {
            this.kind = kind;
        }
    }

    private GlslCompiler() {
    }

    /**
     * Compiles one shader.
     *
     * @param source the GLSL source (with its {@code #version} line)
     * @param stage the stage
     * @param name a name for messages, e.g. the file name
     * @return the SPIR-V words, as bytes in native order
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if the source does not compile (the message has shaderc's
     *     errors)
     */
    public static byte[] compile(String source, Stage stage, String name) {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(stage, "stage");
        Objects.requireNonNull(name, "name");
        long compiler = shaderc_compiler_initialize();
        if (compiler == 0) {
            throw new IllegalStateException("shaderc could not be initialised");
        }
        long options = shaderc_compile_options_initialize();
        try {
            shaderc_compile_options_set_target_env(options, shaderc_target_env_vulkan, shaderc_env_version_vulkan_1_2);
            long result = shaderc_compile_into_spv(compiler, source, stage.kind, name, "main", options);
            try {
                if (shaderc_result_get_compilation_status(result) != shaderc_compilation_status_success) {
                    throw new IllegalArgumentException("GLSL " + name + " does not compile: "
                            + shaderc_result_get_error_message(result));
                }
                ByteBuffer spv = shaderc_result_get_bytes(result);
                byte[] out = new byte[spv.remaining()];
                spv.get(out);
                return out;
            } finally {
                shaderc_result_release(result);
            }
        } finally {
            shaderc_compile_options_release(options);
            shaderc_compiler_release(compiler);
        }
    }
}
