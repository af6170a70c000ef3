package dev.jhv.core.vmstate;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonFactoryBuilder;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.PrettyPrinter;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.io.CharacterEscapes;
import com.fasterxml.jackson.core.io.SerializedString;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON of stream descriptions, on Jackson's streaming API: objects are {@code Map<String,Object>}
 * (insertion-ordered), arrays {@code List<Object>}, numbers {@code Long} (integers) or {@code Double}, plus String,
 * Boolean and null. The text written is byte for byte what earlier builds wrote (streams carry it under a checksum,
 * and the golden files of JsonGoldenTest hold it): compact without spaces, {@code \n \r \t} and other control
 * characters as lowercase <code>&#92;u00xx</code> escaped, everything else as is; numbers as Java prints them. The parser
 * takes untrusted text: nesting is bounded and every error names the character offset.
 */
public final class Json {
    private static final int MAX_DEPTH = 64;

    private Json() {
    }

    /** Thrown for text that is not JSON. */
    public static final class JsonException extends RuntimeException {
        JsonException(String message) {
            super(message);
        }
    }

    /** Jackson set up once (its factory is thread-safe), on first use: a start-up that writes no stream never builds it. */
    private static final class Jackson {
        static final JsonFactory FACTORY = new JsonFactoryBuilder().characterEscapes(new Escapes()).build();
    }

    /**
     * Escapes as the hand-written writer of earlier builds did: {@code "} and {@code \}, {@code \n}, {@code \r} and
     * {@code \t} short, the other control characters as lowercase <code>&#92;u00xx</code> (Jackson's own are
     * uppercase and use {@code \b} and {@code \f}), nothing else.
     */
    private static final class Escapes extends CharacterEscapes {
        private final int[] codes = new int[128];
        private final SerializableString[] hex = new SerializableString[0x20];

        Escapes() {
            for (int c = 0; c < 0x20; c++) {
                codes[c] = ESCAPE_CUSTOM;
                hex[c] = new SerializedString(String.format("\\u%04x", c));
            }
            codes['\n'] = 'n';
            codes['\r'] = 'r';
            codes['\t'] = 't';
            codes['"'] = '"';
            codes['\\'] = '\\';
        }

        @Override
        public int[] getEscapeCodesForAscii() {
            return codes;
        }

        @Override
        public SerializableString getEscapeSequence(int ch) {
            return ch < 0x20 ? hex[ch] : null;
        }
    }

    /**
     * QEMU's JSON writer's escapes, for what must read as QEMU's output (QMP, jhv-img's --output json):
     * {@code " \\ \b \f \n \r \t} short, the other control characters and DEL as <code>&#92;u00XX</code>; with
     * {@code JsonWriteFeature.ESCAPE_NON_ASCII} everything past ASCII as uppercase <code>&#92;uXXXX</code>.
     */
    public static final class QemuEscapes extends CharacterEscapes {
        private final int[] codes = standardAsciiEscapesForJSON();

        public QemuEscapes() {
            codes[0x7f] = ESCAPE_STANDARD;
        }

        @Override
        public int[] getEscapeCodesForAscii() {
            return codes;
        }

        @Override
        public SerializableString getEscapeSequence(int ch) {
            return null;
        }
    }

    public static String write(Object v) {
        return write(v, null);
    }

    /** Indented form for people (2 spaces, {@code "key": value}). */
    public static String writePretty(Object v) {
        return write(v, new Indented());
    }

    private static String write(Object v, PrettyPrinter printer) {
        var out = new StringWriter();
        try (JsonGenerator g = Jackson.FACTORY.createGenerator(out)) {
            if (printer != null) {
                g.setPrettyPrinter(printer);
            }
            writeValue(g, v);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    /**
     * Writes a tree of maps, lists and scalars; numbers are written as Java prints them ({@code 1.0E-7}, and
     * {@code NaN} bare, as before).
     */
    public static void writeValue(JsonGenerator g, Object v) throws IOException {
        switch (v) {
            case null -> g.writeNull();
            case String s -> g.writeString(s);
            case Boolean b -> g.writeBoolean(b);
            case Long l -> g.writeNumber(l);
            case Integer i -> g.writeNumber(i);
            case Number n -> g.writeNumber(n.toString());
            case Map<?, ?> m -> {
                g.writeStartObject();
                for (var e : m.entrySet()) {
                    g.writeFieldName(String.valueOf(e.getKey()));
                    writeValue(g, e.getValue());
                }
                g.writeEndObject();
            }
            case List<?> l -> {
                g.writeStartArray();
                for (Object o : l) {
                    writeValue(g, o);
                }
                g.writeEndArray();
            }
            default -> throw new IllegalArgumentException("not a JSON value: " + v.getClass().getName());
        }
    }

    /** Each member on its own line indented by 2 per level; empty containers stay {@code {}} and {@code []}. */
    private static final class Indented implements PrettyPrinter {
        private int level;

        private void newline(JsonGenerator g) throws IOException {
            g.writeRaw('\n');
            g.writeRaw(" ".repeat(2 * level));
        }

        @Override
        public void writeRootValueSeparator(JsonGenerator g) {
        }

        @Override
        public void writeStartObject(JsonGenerator g) throws IOException {
            g.writeRaw('{');
            level++;
        }

        @Override
        public void beforeObjectEntries(JsonGenerator g) throws IOException {
            newline(g);
        }

        @Override
        public void writeObjectFieldValueSeparator(JsonGenerator g) throws IOException {
            g.writeRaw(": ");
        }

        @Override
        public void writeObjectEntrySeparator(JsonGenerator g) throws IOException {
            g.writeRaw(',');
            newline(g);
        }

        @Override
        public void writeEndObject(JsonGenerator g, int entries) throws IOException {
            level--;
            if (entries > 0) {
                newline(g);
            }
            g.writeRaw('}');
        }

        @Override
        public void writeStartArray(JsonGenerator g) throws IOException {
            g.writeRaw('[');
            level++;
        }

        @Override
        public void beforeArrayValues(JsonGenerator g) throws IOException {
            newline(g);
        }

        @Override
        public void writeArrayValueSeparator(JsonGenerator g) throws IOException {
            g.writeRaw(',');
            newline(g);
        }

        @Override
        public void writeEndArray(JsonGenerator g, int values) throws IOException {
            level--;
            if (values > 0) {
                newline(g);
            }
            g.writeRaw(']');
        }
    }

    public static Object parse(String text) {
        try (JsonParser p = Jackson.FACTORY.createParser(text)) {
            JsonToken t = p.nextToken();
            if (t == null) {
                throw fail(p, "unexpected end");
            }
            Object v = value(p, t, 0);
            if (p.nextToken() != null) {
                throw fail(p, "trailing characters");
            }
            return v;
        } catch (JsonProcessingException e) {
            long at = e.getLocation() == null ? -1 : e.getLocation().getCharOffset();
            throw new JsonException("bad JSON at character " + at + ": " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a String does not fail to read
        }
    }

    private static JsonException fail(JsonParser p, String what) {
        return new JsonException("bad JSON at character " + p.currentTokenLocation().getCharOffset() + ": " + what);
    }

    private static Object value(JsonParser p, JsonToken t, int depth) throws IOException {
        if (depth > MAX_DEPTH) {
            throw fail(p, "nested deeper than " + MAX_DEPTH);
        }
        return switch (t) {
            case START_OBJECT -> {
                Map<String, Object> m = new LinkedHashMap<>();
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String k = p.currentName();
                    m.put(k, value(p, p.nextToken(), depth + 1));
                }
                yield m;
            }
            case START_ARRAY -> {
                List<Object> l = new ArrayList<>();
                for (JsonToken e = p.nextToken(); e != JsonToken.END_ARRAY; e = p.nextToken()) {
                    if (e == null) {
                        throw fail(p, "unexpected end");
                    }
                    l.add(value(p, e, depth + 1));
                }
                yield l;
            }
            case VALUE_STRING -> p.getText();
            case VALUE_TRUE -> Boolean.TRUE;
            case VALUE_FALSE -> Boolean.FALSE;
            case VALUE_NULL -> null;
            case VALUE_NUMBER_INT -> p.getNumberType() == JsonParser.NumberType.BIG_INTEGER
                    ? failNumber(p) : (Object) p.getLongValue();
            case VALUE_NUMBER_FLOAT -> p.getDoubleValue();
            default -> throw fail(p, "unexpected " + t);
        };
    }

    private static Object failNumber(JsonParser p) throws IOException {
        throw fail(p, "bad number '" + p.getText() + "'");
    }
}
