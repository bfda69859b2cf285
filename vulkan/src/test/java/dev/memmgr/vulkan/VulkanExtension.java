package dev.memmgr.vulkan;

import dev.memmgr.vulkan.tools.ComputeKernel;
import java.util.List;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Runs a Vulkan test with a {@link VulkanFixture} (declare a parameter), on one device shared by
 * every test of the JVM (opened at the first test, closed when the run ends).
 *
 * <p>Without a usable Vulkan driver the tests are skipped, with one message on stderr that names
 * the package to install; with the system property {@value #REQUIRED} set to {@code true} (CI
 * sets it through the environment: the module's pom maps {@code MEMMGR_VULKAN_REQUIRED} to it)
 * they fail instead.
 */
public final class VulkanExtension implements ExecutionCondition, BeforeEachCallback, AfterEachCallback,
        ParameterResolver {
    /** The system property that turns a missing driver into a failure. */
    public static final String REQUIRED = "memmgr.vulkan.required";

    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(VulkanExtension.class);

    /**
     * The shared device, or why there is none; closed by JUnit at the end of the run (an
     * AutoCloseable in the root store).
     */
    static final class Shared implements AutoCloseable {
        final VulkanDevice device;
        final String unavailable;

        Shared() {
            VulkanDevice d = null;
            String why = null;
            try {
                d = VulkanDevice.open(List.of(ComputeKernel.PUSH_DESCRIPTOR));
            } catch (RuntimeException | LinkageError e) {
                why = "no usable Vulkan driver (" + (e.getMessage() != null ? e.getMessage() : e.toString())
                        + "). Install Mesa's lavapipe, a CPU Vulkan driver: apt-get install "
                        + VulkanAvailability.DRIVER_PACKAGE;
            }
            device = d;
            unavailable = why;
        }

        @Override
        public void close() {
            if (device != null) {
                device.close();
            }
        }
    }

    private static volatile boolean told;

    private static Shared shared(ExtensionContext ctx) {
        return ctx.getRoot().getStore(NS).getOrComputeIfAbsent(Shared.class, k -> new Shared(), Shared.class);
    }

    private static boolean required() {
        return Boolean.getBoolean(REQUIRED);
    }

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext ctx) {
        Shared s = shared(ctx);
        if (s.unavailable == null || required()) {
            return ConditionEvaluationResult.enabled("Vulkan device present, or required");
        }
        if (!told) {
            told = true;
            System.err.println("memmgr-vulkan: tests skipped: " + s.unavailable);
        }
        return ConditionEvaluationResult.disabled("skipped: " + s.unavailable);
    }

    @Override
    public void beforeEach(ExtensionContext ctx) {
        Shared s = shared(ctx);
        if (s.unavailable != null) {
            throw new AssertionError(REQUIRED + "=true, but " + s.unavailable);
        }
        VulkanFixture f = new VulkanFixture(s.device);
        ctx.getStore(NS).put(VulkanFixture.class, f);
        f.start();
    }

    @Override
    public void afterEach(ExtensionContext ctx) {
        VulkanFixture f = ctx.getStore(NS).remove(VulkanFixture.class, VulkanFixture.class);
        if (f != null) {
            AssertionError e = f.finish();
            if (e != null) {
                throw e;
            }
        }
    }

    @Override
    public boolean supportsParameter(ParameterContext p, ExtensionContext ctx) {
        return p.getParameter().getType() == VulkanFixture.class;
    }

    @Override
    public Object resolveParameter(ParameterContext p, ExtensionContext ctx) {
        return ctx.getStore(NS).get(VulkanFixture.class, VulkanFixture.class);
    }
}
