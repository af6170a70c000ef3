package dev.jhv.launcher.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/** A QMP client on a unix socket: the greeting, requests with their replies, and the events seen meanwhile. */
final class QmpClient implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();
    private final SocketChannel ch;
    private final BufferedReader in;
    final JsonNode greeting;
    /** Every event read so far, in order. */
    final List<JsonNode> events = new ArrayList<>();

    private QmpClient(SocketChannel ch) throws IOException {
        this.ch = ch;
        this.in = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch), StandardCharsets.UTF_8));
        this.greeting = readLine();
    }

    /** Connects, waiting up to the timeout for the socket to appear, and reads the greeting. */
    static QmpClient connect(Path socket, Duration timeout) throws IOException, InterruptedException {
        return new QmpClient(UnixSockets.connect(socket, timeout, "QMP socket"));
    }

    private JsonNode readLine() throws IOException {
        String line = in.readLine();
        if (line == null) {
            throw new IOException("the QMP connection closed");
        }
        return JSON.readTree(line);
    }

    /** Sends raw text and returns the next reply ("return" or "error"), keeping events that come before it. */
    JsonNode raw(String text) throws IOException {
        ch.write(ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)));
        while (true) {
            JsonNode m = readLine();
            if (m.has("event")) {
                events.add(m);
            } else {
                return m;
            }
        }
    }

    JsonNode execute(String command) throws IOException {
        return raw("{\"execute\": \"" + command + "\"}\n");
    }

    JsonNode execute(String command, String argumentsJson) throws IOException {
        return raw("{\"execute\": \"" + command + "\", \"arguments\": " + argumentsJson + "}\n");
    }

    /** Returns the first event (seen before or read now) the test accepts; replies may not come meanwhile. */
    JsonNode awaitEvent(Predicate<JsonNode> test) throws IOException {
        for (JsonNode e : events) {
            if (test.test(e)) {
                return e;
            }
        }
        while (true) {
            JsonNode m = readLine();
            if (!m.has("event")) {
                throw new IOException("a reply with no request pending: " + m);
            }
            events.add(m);
            if (test.test(m)) {
                return m;
            }
        }
    }

    /** The names of the events seen so far. */
    List<String> eventNames() {
        return events.stream().map(e -> e.get("event").asText()).toList();
    }

    /** Reads until the connection ends (closed or reset by an exiting peer), keeping the events. */
    void readToEnd() throws IOException {
        String line;
        try {
            while ((line = in.readLine()) != null) {
                JsonNode m = JSON.readTree(line);
                if (m.has("event")) {
                    events.add(m);
                }
            }
        } catch (java.net.SocketException e) {
            // the peer exited with our input unread: the end all the same
        }
    }

    @Override
    public void close() throws IOException {
        ch.close();
    }
}
