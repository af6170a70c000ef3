package dev.jhv.launcher.command;

import com.fasterxml.jackson.annotation.JsonProperty;

/** query-version / info version, and the QMP greeting's "version". */
public record VersionInfo(Triple qemu, @JsonProperty("package") String packageName) {
    /** QEMU's member order: micro, minor, major. */
    public record Triple(int micro, int minor, int major) { }

    /** A version string "MAJOR.MINOR.MICRO" (missing or odd parts as 0). */
    public static VersionInfo parse(String version, String packageName) {
        String[] p = version.split("[.-]");
        return new VersionInfo(new Triple(number(p, 2), number(p, 1), number(p, 0)), packageName);
    }

    private static int number(String[] parts, int i) {
        try {
            return i < parts.length ? Integer.parseInt(parts[i]) : 0;
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** "0.1.0", with the package in parentheses when there is one, as QEMU's info version. */
    public String hmpText() {
        String v = qemu.major() + "." + qemu.minor() + "." + qemu.micro();
        return v + (packageName.isEmpty() ? "" : " (" + packageName + ")") + "\n";
    }
}
