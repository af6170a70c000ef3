package dev.jhv.qcow2;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jhv.qcow2.tool.JhvImg;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * jhv-img's errors are for people: one line, the file and the reason (as qemu-img gives them),
 * never a Java class name.
 */
@Tag("qemu")
class JhvImgMessagesTest {
    @TempDir
    Path tmp;

    record Out(int exit, String text) {}

    private static Out jhv(String... args) {
        var o = new ByteArrayOutputStream();
        var ps = new PrintStream(o, true, StandardCharsets.UTF_8);
        int rc = JhvImg.run(args, ps, ps);
        return new Out(rc, o.toString(StandardCharsets.UTF_8));
    }

    private static List<String[]> verbs(String file, Path dir) {
        return List.of(new String[] {"info", file}, new String[] {"check", file}, new String[] {"snapshot", "-l", file},
                new String[] {"convert", "-O", "raw", file, dir.resolve("out.raw").toString()});
    }

    private static void assertForPeople(Out r, String what) {
        assertThat(r.exit()).as(what).isEqualTo(1);
        assertThat(r.text().strip()).as(what).startsWith("jhv-img: ").doesNotContain("\n")
                .doesNotContain("Exception").doesNotContain("java.").doesNotContain("dev.jhv");
    }

    @Test
    void aMissingFileIsNamedWithItsReason() throws Exception {
        String f = tmp.resolve("missing.qcow2").toString();
        for (String[] v : verbs(f, tmp)) {
            var r = jhv(v);
            assertForPeople(r, String.join(" ", v));
            assertThat(r.text()).contains("Could not open '" + f + "': No such file or directory");
            if (Qemu.available()) assertThat(Qemu.run(prepend("qemu-img", v)).out()).contains("No such file or directory");
        }
    }

    @Test
    void aDirectoryIsNamedWithItsReason() throws Exception {
        Path d = Files.createDirectory(tmp.resolve("dir.qcow2"));
        for (String[] v : verbs(d.toString(), tmp)) {
            var r = jhv(v);
            assertForPeople(r, String.join(" ", v));
            assertThat(r.text()).contains("'" + d + "'").contains("Is a directory");
        }
    }

    @Test
    void anUnreadableFileSaysPermissionDenied() throws Exception {
        Assumptions.assumeFalse("root".equals(System.getProperty("user.name")), "root reads a file of mode 000 anyway");
        Path f = tmp.resolve("locked.qcow2");
        Qcow2Image.create(f, Qcow2Image.CreateOptions.of(1 << 20)).close();
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("---------"));
        for (String[] v : verbs(f.toString(), tmp)) {
            var r = jhv(v);
            assertForPeople(r, String.join(" ", v));
            assertThat(r.text()).contains("'" + f + "'").contains("Permission denied");
        }
    }

    @Test
    void aMissingBackingFileIsNamedWithItsReasonAsQemuImgNamesIt() throws Exception {
        Qemu.assumeQemuImg();
        Path top = tmp.resolve("top.qcow2");
        Qemu.ok("qemu-img", "create", "-q", "-u", "-f", "qcow2", "-b", "nobase.qcow2", "-F", "qcow2", top.toString(), "1M");
        for (String[] v : verbs(top.toString(), tmp)) {
            if (v[0].equals("info")) continue; // qemu-img info opens the top alone
            String q = Qemu.run(prepend("qemu-img", v)).out();
            assertThat(q).contains("Could not open backing file: Could not open '").contains("nobase.qcow2': No such file or directory");
            var r = jhv(v);
            assertForPeople(r, String.join(" ", v));
            assertThat(r.text()).contains("Could not open backing file: Could not open '" + tmp.resolve("nobase.qcow2") + "'")
                    .contains("No such file or directory");
        }
    }

    @Test
    void aTargetInAMissingDirectoryIsNamedWithItsReason() throws Exception {
        Path src = tmp.resolve("ok.qcow2");
        Qcow2Image.create(src, Qcow2Image.CreateOptions.of(1 << 20)).close();
        String target = tmp.resolve("nodir/out.raw").toString();
        var r = jhv("convert", "-O", "raw", src.toString(), target);
        assertForPeople(r, "convert into a missing directory");
        assertThat(r.text()).contains("'" + target + "'").contains("No such file or directory");
    }

    /** A name with bytes that are not UTF-8 reaches the JVM mangled: jhv-img must say so, and not open or create another file. */
    @ParameterizedTest
    @ValueSource(strings = {"C.UTF-8", "C"})
    void aFileNameThatIsNotUtf8IsRefusedClearly(String locale) throws Exception {
        Path ok = tmp.resolve("ok.qcow2");
        Qcow2Image.create(ok, Qcow2Image.CreateOptions.of(1 << 20)).close();
        String java = ProcessHandle.current().info().command().orElse("java");
        String cp = System.getProperty("java.class.path");
        new ProcessBuilder("/bin/sh", "-c", "cd \"$1\" && cp ok.qcow2 \"$(printf 'bad\\377\\376.qcow2')\"", "sh", tmp.toString())
                .inheritIO().start().waitFor();
        assertThat(tmp.toFile().list()).hasSize(2);
        for (String verb : new String[] {"info", "check", "snapshot -l", "convert -O raw"}) {
            // the shell passes the raw bytes: Java's own process API cannot
            String script = "cd \"$3\" && exec \"$1\" -cp \"$2\" "
                    + "-XX:TieredStopAtLevel=1 dev.jhv.qcow2.tool.JhvImg " + verb + " \"$(printf 'bad\\377\\376.qcow2')\""
                    + (verb.startsWith("convert") ? " \"$(printf 'out\\377.raw')\"" : "");
            var pb = new ProcessBuilder("/bin/sh", "-c", script, "sh", java, cp, tmp.toString()).redirectErrorStream(true);
            pb.environment().put("LC_ALL", locale);
            var before = new ArrayList<>(List.of(tmp.toFile().list()));
            var p = pb.start();
            String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertForPeople(new Out(p.exitValue(), text), verb + " under LC_ALL=" + locale);
            assertThat(text).containsAnyOf("not valid UTF-8", "character set");
            assertThat(tmp.toFile().list()).as("no file created under another name").containsExactlyInAnyOrderElementsOf(before);
        }
    }

    private static String[] prepend(String first, String[] rest) {
        String[] all = new String[rest.length + 1];
        all[0] = first;
        System.arraycopy(rest, 0, all, 1, rest.length);
        return all;
    }
}
