package dev.jhv.qcow2.tool;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonFactoryBuilder;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.PrettyPrinter;
import com.fasterxml.jackson.core.json.JsonWriteFeature;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;

/**
 * jhv-img's {@code --output json}: maps, lists, strings, numbers and booleans indented like qemu-img (4 spaces, each
 * member on its own line, an empty container still opened on one line and closed on the next) and escaped as
 * QEMU's JSON writer does, written with Jackson's streaming API and the tree walk of the stream descriptions
 * ({@link dev.jhv.core.vmstate.Json}).
 */
final class Json {
    /**
     * QEMU's escapes: {@code " \ \b \f \n \r \t} short, the other control characters, DEL and everything past
     * ASCII as uppercase <code>&#92;uXXXX</code> (past the BMP as the two halves of a surrogate pair).
     */
    private static final JsonFactory FACTORY = new JsonFactoryBuilder()
            .characterEscapes(new dev.jhv.core.vmstate.Json.QemuEscapes())
            .enable(JsonWriteFeature.ESCAPE_NON_ASCII)
            .build();

    private Json() {}

    static String write(Object v) {
        var out = new StringWriter();
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            g.setPrettyPrinter(new QemuImgIndent());
            dev.jhv.core.vmstate.Json.writeValue(g, v);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    private static final class QemuImgIndent implements PrettyPrinter {
        private int level;

        private void indent(JsonGenerator g) throws IOException {
            g.writeRaw(" ".repeat(4 * level));
        }

        private void open(JsonGenerator g, char c) throws IOException {
            g.writeRaw(c);
            g.writeRaw('\n');
            level++;
        }

        private void separate(JsonGenerator g) throws IOException {
            g.writeRaw(",\n");
            indent(g);
        }

        private void close(JsonGenerator g, int members, char c) throws IOException {
            if (members > 0) {
                g.writeRaw('\n');
            }
            level--;
            indent(g);
            g.writeRaw(c);
        }

        @Override
        public void writeRootValueSeparator(JsonGenerator g) {}

        @Override
        public void writeStartObject(JsonGenerator g) throws IOException {
            open(g, '{');
        }

        @Override
        public void beforeObjectEntries(JsonGenerator g) throws IOException {
            indent(g);
        }

        @Override
        public void writeObjectFieldValueSeparator(JsonGenerator g) throws IOException {
            g.writeRaw(": ");
        }

        @Override
        public void writeObjectEntrySeparator(JsonGenerator g) throws IOException {
            separate(g);
        }

        @Override
        public void writeEndObject(JsonGenerator g, int entries) throws IOException {
            close(g, entries, '}');
        }

        @Override
        public void writeStartArray(JsonGenerator g) throws IOException {
            open(g, '[');
        }

        @Override
        public void beforeArrayValues(JsonGenerator g) throws IOException {
            indent(g);
        }

        @Override
        public void writeArrayValueSeparator(JsonGenerator g) throws IOException {
            separate(g);
        }

        @Override
        public void writeEndArray(JsonGenerator g, int values) throws IOException {
            close(g, values, ']');
        }
    }
}
