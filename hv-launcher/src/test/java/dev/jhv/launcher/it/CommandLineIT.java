package dev.jhv.launcher.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;

/** Bad command lines: one clear line on stderr, exit status 1, never a stack trace. */
class CommandLineIT {
    @ParameterizedTest
    @ValueSource(strings = {
        "-m foo", "-m 1", "-smp 0", "-smp 100000", "-frobnicate", "-kernel /nonexistent/kernel",
        "-serial nosuch:thing", "-device nosuchdevice", "-cpu nosuchcpu -kernel guest-images/out/testos.bin"})
    void badOptionsFailWithOneLine(String args) throws Exception {
        try (JhvProcess jhv = JhvProcess.start(args.split(" "))) {
            assertThat(jhv.awaitExit(Duration.ofSeconds(30))).isEqualTo(1);
            assertThat(jhv.stderr()).hasSize(1);
            assertThat(jhv.stderr().getFirst()).startsWith("jhv: ").doesNotContain("Exception");
        }
    }

    @Test
    void versionAndHelp() throws Exception {
        try (JhvProcess jhv = JhvProcess.start("--version")) {
            assertThat(jhv.awaitExit(Duration.ofSeconds(30))).isZero();
            assertThat(String.join("\n", jhv.stdout())).contains("jhv version 0.1.0");
        }
        try (JhvProcess jhv = JhvProcess.start("-h")) {
            assertThat(jhv.awaitExit(Duration.ofSeconds(30))).isZero();
            assertThat(String.join("\n", jhv.stdout())).contains("-smp").contains("-kernel").contains("-monitor");
        }
    }

    /** ./jhv remembers the java that find-java chose, but a different JHV_JAVA or JAVA_HOME is searched afresh. */
    @Test
    void rememberedJavaFollowsJhvJava(@TempDir Path dir) throws Exception {
        Path bin = Files.createDirectories(dir.resolve("fake-jdk/bin"));
        Files.writeString(dir.resolve("fake-jdk/release"), "JAVA_VERSION=\"25.0.9\"\n");
        Path java = Files.writeString(bin.resolve("java"), "#!/bin/sh\necho fake java\n");
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
        assertThat(launcherSays(null)).contains("jhv version 0.1.0");
        assertThat(launcherSays(java)).isEqualTo("fake java");
        assertThat(launcherSays(null)).as("the real one again once JHV_JAVA is gone").contains("jhv version 0.1.0");
    }

    private static String launcherSays(Path jhvJava) throws Exception {
        var pb = new ProcessBuilder(JhvProcess.ROOT.resolve("jhv").toString(), "--version").redirectErrorStream(true);
        pb.environment().remove("JHV_JAVA");
        if (jhvJava != null) {
            pb.environment().put("JHV_JAVA", jhvJava.toString());
        }
        Process p = pb.start();
        p.getOutputStream().close();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    }
}
