package dev.jhv.launcher.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;

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
}
