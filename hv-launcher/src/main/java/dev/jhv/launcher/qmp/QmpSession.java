package dev.jhv.launcher.qmp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jhv.core.machine.MachineControl;
import dev.jhv.launcher.LauncherException;
import dev.jhv.launcher.command.Arguments;
import dev.jhv.launcher.command.CommandException;
import dev.jhv.launcher.command.ErrorClass;
import dev.jhv.launcher.command.Operation;
import dev.jhv.launcher.command.OperationTable;
import dev.jhv.launcher.command.Parameter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * One client's QMP conversation: capability negotiation, then commands checked against their operation's
 * parameters and run; every request gets one reply object (its "id" echoed). Not thread-safe: one caller at a time.
 */
final class QmpSession {
    private static final System.Logger LOG = System.getLogger(QmpSession.class.getName());
    static final String NEGOTIATE_FIRST = "Expecting capabilities negotiation with 'qmp_capabilities'";
    /** The capabilities jhv offers; it has no out-of-band commands, so "oob" only changes their refusal. */
    static final Set<String> CAPABILITIES = Set.of("oob");

    private final MachineControl machine;
    private final OperationTable operations;
    private volatile boolean negotiated;
    private boolean oob;

    QmpSession(MachineControl machine, OperationTable operations) {
        this.machine = machine;
        this.operations = operations;
    }

    /** Whether the client has negotiated (events go only to such clients). */
    boolean negotiated() {
        return negotiated;
    }

    /** The reply to one parsed message. */
    ObjectNode handle(JsonNode message) {
        JsonNode id = message.isObject() ? message.get("id") : null;
        try {
            return withId(QmpCodec.object().set("return", execute(message)), id);
        } catch (CommandException e) {
            return withId(error(e.errorClass(), e.getMessage()), id);
        }
    }

    /** The reply to input that was not JSON. */
    static ObjectNode parseError(String desc) {
        return error(ErrorClass.GenericError, desc);
    }

    static ObjectNode error(ErrorClass cls, String desc) {
        ObjectNode reply = QmpCodec.object();
        ObjectNode e = reply.putObject("error");
        e.put("class", cls.name());
        e.put("desc", desc);
        return reply;
    }

    private static ObjectNode withId(ObjectNode reply, JsonNode id) {
        if (id != null) {
            reply.set("id", id);
        }
        return reply;
    }

    private JsonNode execute(JsonNode message) {
        if (!message.isObject()) {
            throw new CommandException("QMP input must be a JSON object");
        }
        String name = null;
        boolean outOfBand = false;
        JsonNode args = null;
        for (Iterator<String> it = message.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            JsonNode v = message.get(key);
            switch (key) {
                case "execute", "exec-oob" -> {
                    if (key.equals("exec-oob") && !oob) {
                        throw new CommandException("QMP input member 'exec-oob' is unexpected");
                    }
                    if (!v.isTextual()) {
                        throw new CommandException("QMP input member '" + key + "' must be a string");
                    }
                    if (name != null) {
                        throw new CommandException("QMP input must not have both 'execute' and 'exec-oob'");
                    }
                    name = v.asText();
                    outOfBand = key.equals("exec-oob");
                }
                case "arguments" -> {
                    if (!v.isObject()) {
                        throw new CommandException("QMP input member 'arguments' must be an object");
                    }
                    args = v;
                }
                case "id" -> { }
                default -> throw new CommandException("QMP input member '" + key + "' is unexpected");
            }
        }
        if (name == null) {
            throw new CommandException("QMP input lacks member 'execute'");
        }
        if (outOfBand) {
            throw new CommandException("The command " + name + " does not support OOB");
        }
        if (!negotiated && !name.equals("qmp_capabilities")) {
            throw new CommandException(ErrorClass.CommandNotFound, NEGOTIATE_FIRST);
        }
        Operation<?> op = operations.find(name);
        if (op == null) {
            throw new CommandException(ErrorClass.CommandNotFound, "The command " + name + " has not been found");
        }
        Arguments bound = bind(op, args);
        if (!negotiated) {
            negotiate(bound);
            return QmpCodec.object();
        }
        return QmpCodec.toJson(run(op, bound));
    }

    private void negotiate(Arguments args) {
        for (String cap : args.stringList("enable")) {
            if (!CAPABILITIES.contains(cap)) {
                throw new CommandException("Parameter 'enable' does not accept value '" + cap + "'");
            }
        }
        oob = args.stringList("enable").contains("oob");
        negotiated = true;
    }

    private Object run(Operation<?> op, Arguments args) {
        try {
            return op.handler().run(machine, args);
        } catch (CommandException e) {
            throw e;
        } catch (LauncherException | IllegalStateException | IllegalArgumentException
                 | UnsupportedOperationException e) {
            throw new CommandException(e.getMessage());
        } catch (RuntimeException e) {
            // a bug: one line for the client, the trace only in the debug log
            LOG.log(System.Logger.Level.DEBUG, "QMP command '" + op.name() + "' failed", e);
            throw new CommandException(e.getMessage() == null ? "internal error in '" + op.name() + "'"
                    : e.getMessage());
        }
    }

    /** Checks the arguments against the operation's parameters, in QEMU's order: each parameter, then leftovers. */
    static Arguments bind(Operation<?> op, JsonNode args) {
        var values = new HashMap<String, Object>();
        for (Parameter p : op.parameters()) {
            JsonNode v = args == null ? null : args.get(p.name());
            if (v == null) {
                if (!p.optional()) {
                    throw new CommandException("Parameter '" + p.name() + "' is missing");
                }
                continue;
            }
            values.put(p.name(), value(p.name(), p, v));
        }
        if (args != null) {
            for (Iterator<String> it = args.fieldNames(); it.hasNext(); ) {
                String key = it.next();
                if (op.parameter(key) == null) {
                    throw new CommandException("Parameter '" + key + "' is unexpected");
                }
            }
        }
        return new Arguments(values);
    }

    private static Object value(String where, Parameter p, JsonNode v) {
        return switch (p.type()) {
            case STRING -> {
                if (!v.isTextual()) {
                    throw mistyped(where, "string");
                }
                yield v.asText();
            }
            case INTEGER -> {
                if (!v.isIntegralNumber() || !v.canConvertToLong()) {
                    throw mistyped(where, "integer");
                }
                yield v.asLong();
            }
            case BOOLEAN -> {
                if (!v.isBoolean()) {
                    throw mistyped(where, "boolean");
                }
                yield v.asBoolean();
            }
            case STRING_LIST -> {
                if (!v.isArray()) {
                    throw mistyped(where, "array");
                }
                List<String> out = new ArrayList<>();
                for (int i = 0; i < v.size(); i++) {
                    if (!v.get(i).isTextual()) {
                        throw mistyped(where + "[" + i + "]", "string");
                    }
                    out.add(v.get(i).asText());
                }
                yield List.copyOf(out);
            }
            case OBJECT_LIST -> {
                if (!v.isArray()) {
                    throw mistyped(where, "array");
                }
                List<java.util.Map<String, Object>> out = new ArrayList<>();
                for (int i = 0; i < v.size(); i++) {
                    JsonNode o = v.get(i);
                    if (!o.isObject()) {
                        throw mistyped(where + "[" + i + "]", "object");
                    }
                    var m = new java.util.LinkedHashMap<String, Object>();
                    for (var it = o.fields(); it.hasNext(); ) {
                        var f = it.next();
                        JsonNode x = f.getValue();
                        m.put(f.getKey(), x.isTextual() ? x.asText() : x.isBoolean() ? (Object) x.asBoolean()
                                : x.isIntegralNumber() ? (Object) x.asLong() : x.toString());
                    }
                    out.add(m);
                }
                yield List.copyOf(out);
            }
        };
    }

    private static CommandException mistyped(String where, String expected) {
        return new CommandException("Invalid parameter type for '" + where + "', expected: " + expected);
    }
}
