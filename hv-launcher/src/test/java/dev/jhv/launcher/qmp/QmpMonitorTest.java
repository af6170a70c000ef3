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
                null, false, false, false), null);
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

    /** Hostile input: each gets QEMU's error shape, {"error": {"class": "GenericError", "desc": ...}}, and after
     * each the monitor answers the next command. */
    @Test
    void hostileInputGetsQemusErrorShapeAndTheMonitorGoesOn() throws Exception {
        negotiate();
        String mib = "x".repeat(1 << 20);
        String echo = "{\"execute\": \"x-echo\", \"arguments\": ";
        var inputs = new java.util.LinkedHashMap<String, byte[]>();
        inputs.put("closed with the other bracket", utf8("{\"execute\": \"query-status\"]"));
        inputs.put("unbalanced inside", utf8("{\"execute\": \"query-status\", \"arguments\": {]}"));
        inputs.put("a closer with nothing open", utf8("]"));
        inputs.put("a 1 MiB key", utf8(echo + "{\"" + mib + "\": \"a\"}}"));
        inputs.put("nested 1025 deep", utf8("[".repeat(1025) + "]".repeat(1025)));
        inputs.put("arguments nested 2000 deep", utf8(echo + "{\"text\": " + "[".repeat(2000) + "]".repeat(2000)
                + "}}"));
        inputs.put("null at the top", utf8("null\n"));
        inputs.put("true at the top", utf8("true\n"));
        inputs.put("a number at the top", utf8("42\n"));
        inputs.put("a string at the top", utf8("\"execute\"\n"));
        inputs.put("an empty array", utf8("[]"));
        inputs.put("a command in an array", utf8("[{\"execute\": \"stop\"}]"));
        inputs.put("execute null", utf8("{\"execute\": null}"));
        inputs.put("execute an array", utf8("{\"execute\": [\"stop\"]}"));
        inputs.put("arguments a string", utf8("{\"execute\": \"stop\", \"arguments\": \"x\"}"));
        inputs.put("an integer as a string", utf8(echo + "{\"text\": \"a\", \"times\": \"1\"}}"));
        inputs.put("an integer beyond 64 bits", utf8(echo + "{\"text\": \"a\", \"times\": 99999999999999999999}}"));
        inputs.put("a string as an array", utf8(echo + "{\"text\": [\"a\"]}}"));
        inputs.put("invalid UTF-8 in a string", withBytes(echo + "{\"text\": \"@\"}}", 0xff, 0xfe));
        inputs.put("a truncated UTF-8 sequence", withBytes(echo + "{\"text\": \"@\"}}", 0xc3));
        inputs.put("an overlong UTF-8 sequence", withBytes(echo + "{\"text\": \"@\"}}", 0xe0, 0x80, 0xaf));
        inputs.put("an encoded surrogate", withBytes(echo + "{\"text\": \"@\"}}", 0xed, 0xa0, 0x80));
        inputs.put("a lone surrogate escape", utf8(echo + "{\"text\": \"a\\ud800b\"}}"));
        inputs.put("a lone surrogate escape in a key", utf8(echo + "{\"\\udc00\": \"a\"}}"));
        inputs.put("a raw NUL in a string", withBytes(echo + "{\"text\": \"@\"}}", 0));
        inputs.put("invalid UTF-8 outside strings", withBytes("@\n", 0xff));
        for (var e : inputs.entrySet()) {
            dev.typeAll(e.getValue());
            JsonNode r = next();
            assertThat(fieldNames(r)).as(e.getKey() + ": " + r).containsExactly("error");
            assertThat(fieldNames(r.get("error"))).as(e.getKey()).containsExactly("class", "desc");
            assertThat(r.at("/error/class").asText()).as(e.getKey()).isEqualTo("GenericError");
            assertThat(r.at("/error/desc").isTextual()).as(e.getKey()).isTrue();
            assertThat(send("{\"execute\": \"query-name\"}").toString()).as("after " + e.getKey())
                    .isEqualTo("{\"return\":{\"name\":\"vm1\"}}");
        }
    }

    @Test
    void repliesEscapeAsQemuDoes() throws Exception {
        negotiate();
        dev.type("{\"execute\": \"x-echo\", \"arguments\": {\"text\": \"\u00e9\\u007f\ud83d\ude00\\b\\u0001/\"}}");
        int end = dev.output.await("\r\n", read);
        // what QEMU 7.2 writes for the same characters
        assertThat(dev.output.text().substring(read, end))
                .isEqualTo("{\"return\": {\"text\": \"\\u00E9\\u007F\\uD83D\\uDE00\\b\\u0001/\", \"times\": 1}}\r\n");
    }

    @Test
    void aSurrogatePairEscapeIsOneCharacter() throws Exception {
        negotiate();
        assertThat(send("{\"execute\": \"x-echo\", \"arguments\": {\"text\": \"\\ud83d\\ude00\"}}").at("/return/text")
                .asText()).isEqualTo("\ud83d\ude00");
    }

    @Test
    void aOneMebibyteStringArgumentIsTakenWhole() throws Exception {
        negotiate();
        String mib = "é".repeat(1 << 19);
        dev.typeAll(utf8("{\"execute\": \"x-echo\", \"arguments\": {\"text\": \"" + mib + "\"}, \"id\": 7}"));
        JsonNode r = next();
        assertThat(r.get("id").asInt()).isEqualTo(7);
        assertThat(r.at("/return/text").asText()).isEqualTo(mib);
        assertThat(send("{\"execute\": \"query-name\"}").toString()).isEqualTo("{\"return\":{\"name\":\"vm1\"}}");
    }

    private static byte[] utf8(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    /** {@code template} with its '@' replaced by the raw bytes. */
    private static byte[] withBytes(String template, int... raw) {
        var out = new java.io.ByteArrayOutputStream();
        int at = template.indexOf('@');
        out.writeBytes(utf8(template.substring(0, at)));
        for (int b : raw) {
            out.write(b);
        }
        out.writeBytes(utf8(template.substring(at + 1)));
        return out.toByteArray();
    }

    private static List<String> fieldNames(JsonNode n) {
        var out = new java.util.ArrayList<String>();
        n.fieldNames().forEachRemaining(out::add);
        return out;
    }

    private static String desc(JsonNode reply) {
        return reply.at("/error/desc").asText();
    }
}
