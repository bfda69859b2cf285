package dev.memmgr.bench;

/**
 * The soak: the {@link Stress stress tool} with a default length of five minutes, for long runs
 * under the same small heap. Options and exit status are the stress tool's.
 *
 * <p>{@code bin/memmgr soak [options]}
 */
public final class Soak {
    static final int DEFAULT_SECONDS = 300;
    static final String USAGE = Stress.usage("soak", DEFAULT_SECONDS, "the stress tool for five minutes");

    private Soak() {
    }

    public static void main(String[] args) {
        System.exit(Stress.run("soak", USAGE, DEFAULT_SECONDS, args, System.out, System.err));
    }
}
