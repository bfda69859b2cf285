package dev.memmgr;

import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * The memmgr test extension ({@code @ExtendWith(MemmgrExtension.class)}): gives each test one
 * {@link Fixture} (a parameter of the test method and of its {@code @BeforeEach} and
 * {@code @AfterEach} methods: the same instance), captures the library's log from before the
 * first {@code @BeforeEach} to the end, and after the last {@code @AfterEach} closes what the
 * fixture opened and fails the test if that went wrong or the library logged a WARNING the test
 * did not expect. When the test has failed already, that failure is added to it (suppressed), so
 * the log of a failing test is in its report.
 */
// Public for the tests of the internal packages; patched into the exported package dev.memmgr
// with the tests, so javac sees JUnit and java.logging types in an "exported" signature: not API.
@SuppressWarnings("exports")
public final class MemmgrExtension implements BeforeEachCallback, AfterEachCallback, ParameterResolver {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(MemmgrExtension.class);

    /** Made by JUnit ({@code @ExtendWith}). */
    public MemmgrExtension() {
    }

    private static Fixture fixture(ExtensionContext context) {
        return context.getStore(NS).getOrComputeIfAbsent(Fixture.class, k -> new Fixture(), Fixture.class);
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        fixture(context).start();
    }

    @Override
    public void afterEach(ExtensionContext context) {
        AssertionError e = fixture(context).finish();
        if (e != null) {
            throw e;
        }
    }

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        return parameter.getParameter().getType() == Fixture.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        return fixture(context);
    }
}
