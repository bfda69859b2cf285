/** The application the jlink integration test links: an adopter's smallest modular program. */
module dev.memmgr.it.app {
    requires dev.memmgr;
}
