package dev.jhv.launcher.qmp;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactoryBuilder;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.time.Instant;

/** QMP's JSON through Jackson: messages in, replies and events out (one line each, "\r\n" as QEMU ends them). */
final class QmpCodec {
    /** Thrown for input that is not JSON; the message is QEMU's desc ("JSON parse error, ..."). */
    static final class ParseError extends Exception {
        ParseError(String desc) {
            super(desc);
        }
    }

    // the framer bounds size and depth first; these only keep Jackson's own limits out of its way
    private static final ObjectMapper MAPPER = new ObjectMapper(new JsonFactoryBuilder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(JsonFramer.MAX_DEPTH + 1)
                    .maxStringLength(JsonFramer.MAX_MESSAGE)
                    .build())
            .characterEscapes(new dev.jhv.core.vmstate.Json.QemuEscapes())
            .enable(JsonWriteFeature.ESCAPE_NON_ASCII)
            .build());

    /** QEMU's spacing: {"a": 1, "b": [1, 2]} on one line. */
    private static final class QemuSpacing extends com.fasterxml.jackson.core.util.MinimalPrettyPrinter {
        @Override
        public void writeObjectFieldValueSeparator(com.fasterxml.jackson.core.JsonGenerator g)
                throws java.io.IOException {
            g.writeRaw(": ");
        }

        @Override
        public void writeObjectEntrySeparator(com.fasterxml.jackson.core.JsonGenerator g) throws java.io.IOException {
            g.writeRaw(", ");
        }

        @Override
        public void writeArrayValueSeparator(com.fasterxml.jackson.core.JsonGenerator g) throws java.io.IOException {
            g.writeRaw(", ");
        }
    }

    private static final com.fasterxml.jackson.databind.ObjectWriter WRITER = MAPPER.writer(new QemuSpacing());

    private QmpCodec() { }

    static JsonNode parse(byte[] json) throws ParseError {
        String text;
        try {
            // strict UTF-8 first, as QEMU's parser is: Jackson takes overlong forms and encoded surrogates
            text = StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(json)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new ParseError("JSON parse error, invalid UTF-8 sequence");
        }
        try {
            JsonNode node = MAPPER.readTree(text);
            if (node == null || node.isMissingNode()) {
                throw new ParseError("JSON parse error, expecting value");
            }
            refuseLoneSurrogates(node);
            return node;
        } catch (JacksonException e) {
            String why = e.getOriginalMessage();
            throw new ParseError("JSON parse error, " + (why == null ? "invalid input" : why.lines().findFirst()
                    .orElse("invalid input")));
        } catch (java.io.IOException e) {
            throw new ParseError("JSON parse error, " + e.getMessage());
        }
    }

    /** As QEMU: a {@code \\uD800}-style escape must be one half of a pair (the UTF-8 is checked already). */
    private static void refuseLoneSurrogates(JsonNode n) throws ParseError {
        if (n.isTextual()) {
            refuseLoneSurrogates(n.textValue());
        } else if (n.isContainerNode()) {
            for (var it = n.fields(); it.hasNext(); ) {
                var f = it.next();
                refuseLoneSurrogates(f.getKey());
                refuseLoneSurrogates(f.getValue());
            }
            if (n.isArray()) {
                for (JsonNode e : n) {
                    refuseLoneSurrogates(e);
                }
            }
        }
    }

    private static void refuseLoneSurrogates(String s) throws ParseError {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                throw new ParseError(String.format("JSON parse error, \\u%04x is not a valid Unicode character", (int) c));
            }
        }
    }

    /** A handler's result as JSON: records as objects, lists as arrays, strings as strings, null as {}. */
    static JsonNode toJson(Object value) {
        return value == null ? MAPPER.createObjectNode() : MAPPER.valueToTree(value);
    }

    static ObjectNode object() {
        return MAPPER.createObjectNode();
    }

    /** One message on one line. */
    static byte[] encode(JsonNode message) {
        try {
            return (WRITER.writeValueAsString(message) + "\r\n").getBytes(StandardCharsets.UTF_8);
        } catch (JacksonException e) {
            throw new IllegalStateException("a QMP reply could not be written as JSON", e);
        }
    }

    /** {"timestamp": {"seconds": N, "microseconds": N}, "event": NAME[, "data": {...}]}, data left out when empty. */
    static ObjectNode event(String name, JsonNode data, Instant when) {
        ObjectNode e = object();
        ObjectNode ts = e.putObject("timestamp");
        ts.put("seconds", when.getEpochSecond());
        ts.put("microseconds", when.getNano() / 1000);
        e.put("event", name);
        if (data != null && !data.isEmpty()) {
            e.set("data", data);
        }
        return e;
    }
}
