package dev.jhv.launcher.cli;

/** jhv's version, as --version and "info version" print it. */
public final class Version {
    public static final String VERSION = "0.1.0";

    private Version() { }
}
