package dev.jhv.launcher.qmp;

import java.io.ByteArrayOutputStream;

/**
 * Cuts a QMP input stream into whole JSON values without parsing them: an object or array ends where its brackets
 * balance (outside strings), a bare value at the top level where whitespace or a bracket follows it. Bounded:
 * a value longer than {@link #MAX_MESSAGE} or nested deeper than {@link #MAX_DEPTH} is reported once and the rest
 * of it skipped, so a client can neither exhaust memory nor lose the connection with one bad message.
 */
final class JsonFramer {
    /** What the framer found. */
    interface Sink {
        void message(byte[] json);

        /** A framing error, already worded as QEMU's "JSON parse error, ..." desc. */
        void error(String desc);
    }

    static final int MAX_MESSAGE = 4 << 20;
    /** As QEMU's JSON parser. */
    static final int MAX_DEPTH = 1024;

    private final Sink sink;
    private final ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    private int depth;
    private boolean bare;
    private boolean inString;
    private boolean escape;
    /** The rest of the current value is dropped (it was too long or too deep). */
    private boolean skipping;

    JsonFramer(Sink sink) {
        this.sink = sink;
    }

    /** Forgets a value begun by the previous client. */
    void reset() {
        buffer.reset();
        depth = 0;
        bare = false;
        inString = false;
        escape = false;
        skipping = false;
    }

    void feed(byte[] data, int offset, int length) {
        for (int i = offset; i < offset + length; i++) {
            accept(data[i]);
        }
    }

    private void accept(byte b) {
        if (depth == 0 && !bare) {
            start(b);
            return;
        }
        if (inString) {
            if (escape) {
                escape = false;
            } else if (b == '\\') {
                escape = true;
            } else if (b == '"') {
                inString = false;
            }
            append(b);
            if (bare && !inString) {
                finish();   // a bare "string" at the top level
            }
            return;
        }
        if (bare) {
            if (isSpace(b) || b == '{' || b == '[' || b == '}' || b == ']' || b == '"') {
                finish();
                start(b);
            } else {
                append(b);
            }
            return;
        }
        switch (b) {
            case '"' -> inString = true;
            case '{', '[' -> {
                if (++depth > MAX_DEPTH && !skipping) {
                    skipping = true;
                    buffer.reset();
                    sink.error("JSON parse error, nesting deeper than " + MAX_DEPTH + " levels");
                }
            }
            case '}', ']' -> depth--;
            default -> { }
        }
        append(b);
        if (depth == 0) {
            finish();
        }
    }

    /** The first byte of a top-level value. */
    private void start(byte b) {
        if (isSpace(b)) {
            return;
        }
        switch (b) {
            case '{', '[' -> depth = 1;
            case '}', ']' -> {
                sink.error("JSON parse error, expecting value");
                return;
            }
            case '"' -> {
                bare = true;
                inString = true;
            }
            default -> bare = true;
        }
        append(b);
    }

    private void append(byte b) {
        if (skipping) {
            return;
        }
        if (buffer.size() >= MAX_MESSAGE) {
            skipping = true;
            buffer.reset();
            sink.error("JSON parse error, message longer than " + (MAX_MESSAGE >> 20) + " MiB");
            return;
        }
        buffer.write(b);
    }

    private void finish() {
        boolean dropped = skipping;
        byte[] json = buffer.toByteArray();
        reset();
        if (!dropped) {
            sink.message(json);
        }
    }

    private static boolean isSpace(byte b) {
        return b == ' ' || b == '\t' || b == '\n' || b == '\r';
    }
}
