package dev.jhv.launcher.qmp;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jhv.core.machine.MachineConfig;
import dev.jhv.core.machine.RunState;
import dev.jhv.launcher.command.Hmp;
import dev.jhv.launcher.command.Operation;
import dev.jhv.launcher.command.Parameter;
import dev.jhv.launcher.monitor.CommandTable;
import dev.jhv.launcher.testing.FakeMachine;
import dev.jhv.launcher.testing.TestChardev;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class QmpMonitorTest {
    static final ObjectMapper JSON = new ObjectMapper();
    FakeMachine machine;
    TestChardev dev;
    CommandTable commands;
    QmpMonitor qmp;
    int read;

    /** A later feature's operation: typed arguments, a record result, an HMP form. */
    record Echo(String text, long times) { }

    @BeforeEach
    void setUp() throws Exception {
        machine = new FakeMachine(new MachineConfig("vm1", 128L << 20, MachineConfig.Smp.of(2), "qemu64", null, null,
                null, false, false, false, List.of(), List.of()), null);
        machine.start();
        commands = CommandTable.standard();
        commands.register(Operation.of("x-echo", List.of(Parameter.string("text"), Parameter.integer("times")
                        .asOptional()), (m, a) -> new Echo(a.string("text"), a.integer("times", 1)))
                .withHmp(Hmp.command("x_echo", "echo", (Echo e) -> e.text().repeat((int) e.times()) + "\n")));
        dev = new TestChardev(true);
        qmp = new QmpMonitor(dev, machine, commands.operations());
        dev.start();
    }

    /** The next line the monitor wrote, parsed. */
    JsonNode next() throws Exception {
        int end = dev.output.await("\r\n", read);
        String line = dev.output.text().substring(read, end - 2);
        read = end;
        assertThat(line).doesNotContain("\n");
        return JSON.readTree(line);
    }

    JsonNode send(String json) throws Exception {
        dev.type(json);
        return next();
    }

    void negotiate() throws Exception {
        next();
        assertThat(send("{\"execute\": \"qmp_capabilities\"}").toString()).isEqualTo("{\"return\":{}}");
    }

    @Test
    void greetsWithVersionAndCapabilities() throws Exception {
        assertThat(next().toString()).isEqualTo(
                "{\"QMP\":{\"version\":{\"qemu\":{\"micro\":0,\"minor\":1,\"major\":0},\"package\":\"\"},"
                        + "\"capabilities\":[\"oob\"]}}");
        assertThat(dev.output.text()).contains("{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, ");
    }

    @Test
    void commandsWaitForNegotiation() throws Exception {
        next();
        assertThat(send("{\"execute\": \"query-status\", \"id\": 1}").toString()).isEqualTo(
                "{\"error\":{\"class\":\"CommandNotFound\",\"desc\":\"Expecting capabilities negotiation with "
                        + "'qmp_capabilities'\"},\"id\":1}");
        assertThat(send("{\"execute\": \"qmp_capabilities\", \"id\": \"a\"}").toString())
                .isEqualTo("{\"return\":{},\"id\":\"a\"}");
        assertThat(send("{\"execute\": \"qmp_capabilities\"}").at("/error/class").asText())
                .isEqualTo("CommandNotFound");
    }

    @Test
    void statusStopContWithEvents() throws Exception {
        negotiate();
        assertThat(send("{\"execute\": \"query-status\", \"id\": [1]}").toString()).isEqualTo(
                "{\"return\":{\"running\":true,\"singlestep\":false,\"status\":\"running\"},\"id\":[1]}");
        JsonNode stop = send("{\"execute\": \"stop\"}");
        assertThat(stop.get("event").asText()).isEqualTo("STOP");
        assertThat(stop.has("data")).isFalse();
        assertThat(stop.at("/timestamp/seconds").isIntegralNumber()).isTrue();
        assertThat(stop.at("/timestamp/microseconds").asLong()).isBetween(0L, 999_999L);
        assertThat(next().toString()).isEqualTo("{\"return\":{}}");
        assertThat(machine.runState()).isEqualTo(RunState.PAUSED);
        assertThat(send("{\"execute\": \"cont\"}").get("event").asText()).isEqualTo("RESUME");
        assertThat(next().toString()).isEqualTo("{\"return\":{}}");
    }

    @Test
    void eventsOnlyAfterNegotiation() throws Exception {
        next();
        machine.stop();
        assertThat(send("{\"execute\": \"qmp_capabilities\"}").toString()).isEqualTo("{\"return\":{}}");
    }

    @Test
    void humanMonitorCommandReturnsTheText() throws Exception {
        negotiate();
        assertThat(send("{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": \"info cpus\"}}")
                .get("return").asText()).isEqualTo("* CPU #0: thread_id=1000\r\n  CPU #1: thread_id=1001\r\n");
        assertThat(send("{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": \"x_echo ab 2\"}}")
                .get("return").asText()).isEqualTo("abab\r\n");
    }

    @Test
    void aLaterFeaturesOperationIsOnBothMonitors() throws Exception {
        negotiate();
        assertThat(send("{\"execute\": \"x-echo\", \"arguments\": {\"text\": \"hi\", \"times\": 3}}").toString())
                .isEqualTo("{\"return\":{\"text\":\"hi\",\"times\":3}}");
        JsonNode list = send("{\"execute\": \"query-commands\"}").get("return");
        assertThat(list.findValuesAsText("name")).contains("x-echo", "human-monitor-command", "query-status",
                "qmp_capabilities", "stop", "cont", "quit");
    }

    @Test
    void argumentErrorsInQemuWords() throws Exception {
        negotiate();
        assertThat(desc(send("{\"execute\": \"x-echo\"}"))).isEqualTo("Parameter 'text' is missing");
        assertThat(desc(send("{\"execute\": \"x-echo\", \"arguments\": {\"text\": 1}}")))
                .isEqualTo("Invalid parameter type for 'text', expected: string");
        assertThat(desc(send("{\"execute\": \"x-echo\", \"arguments\": {\"text\": \"a\", \"times\": 1.5}}")))
                .isEqualTo("Invalid parameter type for 'times', expected: integer");
        assertThat(desc(send("{\"execute\": \"x-echo\", \"arguments\": {\"text\": \"a\", \"x\": 1}}")))
                .isEqualTo("Parameter 'x' is unexpected");
        assertThat(desc(send("{\"execute\": \"query-status\", \"arguments\": {\"x\": 1}}")))
                .isEqualTo("Parameter 'x' is unexpected");
        assertThat(send("{\"execute\": \"nope\"}").toString()).isEqualTo(
                "{\"error\":{\"class\":\"CommandNotFound\",\"desc\":\"The command nope has not been found\"}}");
    }

    @Test
    void requestShapeErrors() throws Exception {
        negotiate();
        assertThat(desc(send("[1]"))).isEqualTo("QMP input must be a JSON object");
        assertThat(desc(send("3 "))).isEqualTo("QMP input must be a JSON object");
        assertThat(desc(send("{\"exec\": \"stop\"}"))).isEqualTo("QMP input member 'exec' is unexpected");
        assertThat(desc(send("{\"execute\": 1}"))).isEqualTo("QMP input member 'execute' must be a string");
        assertThat(desc(send("{\"execute\": \"stop\", \"arguments\": []}")))
                .isEqualTo("QMP input member 'arguments' must be an object");
        assertThat(desc(send("{\"id\": 1}"))).isEqualTo("QMP input lacks member 'execute'");
        assertThat(desc(send("{\"exec-oob\": \"stop\"}"))).isEqualTo("QMP input member 'exec-oob' is unexpected");
    }

    @Test
    void badJsonIsAGenericErrorAndTheConnectionStaysUsable() throws Exception {
        negotiate();
        JsonNode r = send("{\"execute\" \"x\"}");
        assertThat(r.at("/error/class").asText()).isEqualTo("GenericError");
        assertThat(desc(r)).startsWith("JSON parse error, ");
        assertThat(desc(send("}"))).isEqualTo("JSON parse error, expecting value");
        assertThat(desc(send("{\"a\": tru}"))).startsWith("JSON parse error, ");
        assertThat(desc(send("[" .repeat(3000) + "]".repeat(3000))))
                .isEqualTo("JSON parse error, nesting deeper than 1024 levels");
        assertThat(send("{\"execute\": \"query-name\"}").toString()).isEqualTo("{\"return\":{\"name\":\"vm1\"}}");
    }

    @Test
    void aMachineRefusalIsAGenericError() throws Exception {
        negotiate();
        machine.exit(0);
        assertThat(next().get("event").asText()).isEqualTo("STOP");   // running to shutdown
        JsonNode r = send("{\"execute\": \"cont\"}");
        assertThat(r.at("/error/class").asText()).isEqualTo("GenericError");
        assertThat(desc(r)).isEqualTo("cannot continue a machine in state shutdown");
    }

    @Test
    void aNewClientNegotiatesAgain() throws Exception {
        negotiate();
        dev.connect(false);
        dev.connect(true);
        assertThat(next().has("QMP")).isTrue();
        assertThat(send("{\"execute\": \"query-status\"}").at("/error/class").asText()).isEqualTo("CommandNotFound");
    }

    @Test
    void drainWaitsForTheReplyUnderWay() throws Exception {
        negotiate();
        dev.type("{\"execute\": \"quit\"}");
        qmp.drain(10_000);
        assertThat(dev.output.text()).endsWith("{\"return\": {}}\r\n");
    }

    private static String desc(JsonNode reply) {
        return reply.at("/error/desc").asText();
    }
}
