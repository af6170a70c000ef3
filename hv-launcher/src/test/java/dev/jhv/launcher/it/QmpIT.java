package dev.jhv.launcher.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jhv.core.kvm.Kvm;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** QMP on a unix socket driving the test guest, and the same conversation with QEMU 7.2 compared by shape. */
@Tag("kvm")
class QmpIT {
    static final Duration BOOT = Duration.ofSeconds(60);

    @TempDir
    Path tmp;

    @BeforeAll
    static void needKvm() {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
    }

    @Test
    void negotiatesRunsCommandsSeesEventsAndQuits() throws Exception {
        Path sock = tmp.resolve("qmp.sock");
        try (JhvProcess jhv = JhvProcess.boot("mode=idle", "-qmp", "unix:" + sock + ",server,nowait");
             QmpClient qmp = QmpClient.connect(sock, BOOT)) {
            assertThat(qmp.greeting.at("/QMP/version/qemu/minor").asInt()).isEqualTo(1);
            assertThat(qmp.greeting.at("/QMP/capabilities/0").asText()).isEqualTo("oob");
            assertThat(qmp.execute("query-status").at("/error/desc").asText())
                    .isEqualTo("Expecting capabilities negotiation with 'qmp_capabilities'");
            assertThat(qmp.raw("{\"execute\": \"qmp_capabilities\", \"id\": 42}\n").toString())
                    .isEqualTo("{\"return\":{},\"id\":42}");
            jhv.awaitLine("JHV-GUEST-READY cpus=1", BOOT);
            assertThat(qmp.execute("query-status").get("return").toString())
                    .isEqualTo("{\"running\":true,\"singlestep\":false,\"status\":\"running\"}");

            assertThat(qmp.execute("stop").get("return").toString()).isEqualTo("{}");
            assertThat(qmp.execute("query-status").at("/return/status").asText()).isEqualTo("paused");
            assertThat(qmp.execute("cont").get("return").toString()).isEqualTo("{}");
            assertThat(qmp.eventNames()).containsExactly("STOP", "RESUME");
            assertThat(qmp.events.get(0).at("/timestamp/seconds").asLong()).isPositive();

            assertThat(qmp.execute("human-monitor-command", "{\"command-line\": \"info status\"}").get("return")
                    .asText()).isEqualTo("VM status: running\r\n");
            assertThat(qmp.execute("human-monitor-command", "{\"command-line\": 7}").at("/error/desc").asText())
                    .isEqualTo("Invalid parameter type for 'command-line', expected: string");
            assertThat(qmp.raw("{\"execute\": \"query-status\" \"id\": 1}\n").at("/error/desc").asText())
                    .startsWith("JSON parse error, ");
            assertThat(qmp.raw("{\"execute\": \"system_reset\"}\n").get("return")).isNotNull();
            assertThat(qmp.events.getLast().get("data").toString())
                    .isEqualTo("{\"guest\":false,\"reason\":\"host-qmp-system-reset\"}");

            assertThat(qmp.execute("quit").get("return").toString()).isEqualTo("{}");
            assertThat(qmp.eventNames()).last().isEqualTo("SHUTDOWN");
            assertThat(jhv.awaitExit(BOOT)).isZero();
        }
    }

    @Test
    void theLibvirtSpellingGivesQmpAndHmpOnChardevs() throws Exception {
        Path qsock = tmp.resolve("q.sock");
        Path hsock = tmp.resolve("h.sock");
        try (JhvProcess jhv = JhvProcess.boot("mode=idle",
                "-chardev", "socket,id=charmonitor,path=" + qsock + ",server=on,wait=off",
                "-mon", "chardev=charmonitor,mode=control",
                "-chardev", "socket,id=hmp,path=" + hsock + ",server=on,wait=off",
                "-mon", "chardev=hmp,mode=readline");
             QmpClient qmp = QmpClient.connect(qsock, BOOT);
             MonitorClient hmp = MonitorClient.connect(hsock, BOOT)) {
            qmp.execute("qmp_capabilities");
            assertThat(hmp.command("stop")).isBlank();
            assertThat(qmp.execute("query-status").at("/return/status").asText()).isEqualTo("paused");
            assertThat(qmp.eventNames()).containsExactly("STOP");
            qmp.execute("quit");
            assertThat(jhv.awaitExit(BOOT)).isZero();
        }
    }

    /** The same conversation with QEMU 7.2 (microvm) and with jhv: the replies have the same keys and JSON types. */
    @Test
    @Tag("qemu")
    void repliesHaveQemusShape() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/qemu-system-x86_64")), "QEMU is not installed");
        Path qsock = tmp.resolve("qemu.sock");
        Process qemu = new ProcessBuilder("qemu-system-x86_64", "-enable-kvm", "-M", "microvm", "-display", "none",
                "-qmp", "unix:" + qsock + ",server,nowait", "-kernel", JhvProcess.TESTOS_ELF.toString(),
                "-append", "mode=idle", "-name", "shape").redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        List<JsonNode> fromQemu;
        try (QmpClient c = QmpClient.connect(qsock, BOOT)) {
            fromQemu = conversation(c);
            assertThat(qemu.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        } finally {
            qemu.destroy();
        }
        Path jsock = tmp.resolve("jhv.sock");
        List<JsonNode> fromJhv;
        try (JhvProcess jhv = JhvProcess.boot("mode=idle", "-name", "shape", "-qmp", "unix:" + jsock + ",server,nowait");
             QmpClient c = QmpClient.connect(jsock, BOOT)) {
            fromJhv = conversation(c);
            assertThat(jhv.awaitExit(BOOT)).isZero();
        }
        assertThat(fromJhv).hasSameSizeAs(fromQemu);
        for (int i = 0; i < fromQemu.size(); i++) {
            assertThat(shape(fromJhv.get(i))).as("message %d: jhv %s, QEMU %s", i, fromJhv.get(i), fromQemu.get(i))
                    .isEqualTo(shape(fromQemu.get(i)));
        }
    }

    /** The greeting, each reply, then the events, in order. */
    private static List<JsonNode> conversation(QmpClient c) throws IOException {
        var out = new ArrayList<JsonNode>();
        out.add(c.greeting);
        out.add(c.execute("query-status"));
        out.add(c.raw("{\"execute\": \"qmp_capabilities\", \"id\": \"neg\"}\n"));
        out.add(c.execute("qmp_capabilities"));
        out.add(c.execute("query-status"));
        out.add(c.execute("query-version"));
        out.add(c.execute("query-name"));
        out.add(c.execute("query-kvm"));
        out.add(c.execute("query-cpus-fast"));
        out.add(c.execute("stop"));
        out.add(c.execute("human-monitor-command", "{\"command-line\": \"info status\"}"));
        out.add(c.execute("cont"));
        out.add(c.execute("human-monitor-command"));
        out.add(c.execute("human-monitor-command", "{\"command-line\": 1}"));
        out.add(c.execute("query-status", "{\"x\": 1}"));
        out.add(c.execute("no-such-command"));
        out.add(c.raw("{\"execute\" \"x\"}\n"));
        out.add(c.raw("[1]\n"));
        out.add(c.execute("system_reset"));
        out.add(c.execute("system_powerdown"));
        out.add(c.execute("quit"));
        c.readToEnd();
        out.addAll(c.events);
        return out;
    }

    /** Keys and JSON types, recursively; arrays by their first element; the optional "props" of a CPU left out. */
    private static String shape(JsonNode n) {
        if (n.isObject()) {
            Set<String> keys = new TreeSet<>();
            n.fieldNames().forEachRemaining(keys::add);
            keys.remove("props");
            var sb = new StringBuilder("{");
            for (String k : keys) {
                sb.append(k).append(':').append(shape(n.get(k))).append(',');
            }
            return sb.append('}').toString();
        }
        if (n.isArray()) {
            Iterator<JsonNode> it = n.elements();
            return "[" + (it.hasNext() ? shape(it.next()) : "") + "]";
        }
        return n.getNodeType().name();
    }
}
