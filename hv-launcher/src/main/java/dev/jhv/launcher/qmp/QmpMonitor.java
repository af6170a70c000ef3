package dev.jhv.launcher.qmp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jhv.core.chardev.CharFrontend;
import dev.jhv.core.machine.MachineControl;
import dev.jhv.core.machine.MachineEvent;
import dev.jhv.core.machine.RunState;
import dev.jhv.launcher.chardev.Chardev;
import dev.jhv.launcher.chardev.QueuedInput;
import dev.jhv.launcher.command.OperationTable;
import dev.jhv.launcher.command.StandardOperations;
import dev.jhv.launcher.command.VersionInfo;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The QMP monitor on one chardev: greets each client, then answers its JSON requests in order on the monitor's
 * own thread, and sends the machine's events (STOP, RESUME, SHUTDOWN, RESET, POWERDOWN) to a client that has
 * negotiated. Input is framed and bounded before anything parses it, so no input takes jhv down.
 */
public final class QmpMonitor implements CharFrontend, Chardev.Listener {
    private static final System.Logger LOG = System.getLogger(QmpMonitor.class.getName());
    private static final AtomicInteger THREADS = new AtomicInteger();

    private final Chardev chardev;
    private final MachineControl machine;
    private final OperationTable operations;
    private final ExecutorService executor;
    private final JsonFramer framer;
    private final QueuedInput queue;
    private volatile QmpSession session;

    /** Attaches itself to {@code chardev} (as front end and listener) and to the machine's events. */
    public QmpMonitor(Chardev chardev, MachineControl machine, OperationTable operations) {
        this.chardev = chardev;
        this.machine = machine;
        this.operations = operations;
        this.executor = Executors.newSingleThreadExecutor(Thread.ofPlatform()
                .name("qmp-", THREADS.getAndIncrement()).daemon(true).factory());
        this.session = new QmpSession(machine, operations);
        this.framer = new JsonFramer(new JsonFramer.Sink() {
            @Override
            public void message(byte[] json) {
                answer(json);
            }

            @Override
            public void error(String desc) {
                send(QmpSession.parseError(desc));
            }
        });
        this.queue = new QueuedInput(chardev, executor, bytes -> framer.feed(bytes, 0, bytes.length));
        chardev.attach(this);
        chardev.setListener(this);
        machine.addRunStateListener(this::runStateChanged);
        machine.addEventListener(this::machineEvent);
    }

    /** {"QMP": {"version": ..., "capabilities": ["oob"]}}, as query-version gives the version. */
    static ObjectNode greeting(VersionInfo version) {
        ObjectNode g = QmpCodec.object();
        ObjectNode qmp = g.putObject("QMP");
        qmp.set("version", QmpCodec.toJson(version));
        qmp.putArray("capabilities").add("oob");
        return g;
    }

    @Override
    public void opened() {
        executor.execute(() -> {
            framer.reset();
            session = new QmpSession(machine, operations);   // each client negotiates anew
            send(greeting(StandardOperations.version()));
        });
    }

    @Override
    public void closed() {
        executor.execute(() -> {
            framer.reset();
            session = new QmpSession(machine, operations);
        });
    }

    @Override
    public int canReceive() {
        return queue.room();
    }

    @Override
    public void receive(byte[] data, int offset, int length) {
        queue.take(data, offset, length);
    }

    private void answer(byte[] json) {
        ObjectNode reply;
        try {
            reply = session.handle(QmpCodec.parse(json));
        } catch (QmpCodec.ParseError e) {
            reply = QmpSession.parseError(e.getMessage());
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "QMP request failed", e);
            reply = QmpSession.parseError("internal error: " + e.getMessage());
        }
        send(reply);
    }

    /** Waits (at most {@code timeoutMs}) until what was asked before this call is answered: replies before exit. */
    public void drain(long timeoutMs) {
        var done = new CompletableFuture<Void>();
        try {
            executor.execute(() -> done.complete(null));
            done.get(timeoutMs, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException | java.util.concurrent.ExecutionException
                 | java.util.concurrent.TimeoutException e) {
            LOG.log(System.Logger.Level.DEBUG, "QMP monitor did not drain", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void runStateChanged(RunState from, RunState to) {
        if (from.isRunning() && !to.isRunning()) {
            event("STOP", null);
        } else if (!from.isRunning() && to.isRunning()) {
            event("RESUME", null);
        }
    }

    private void machineEvent(MachineEvent e) {
        switch (e) {
            case MachineEvent.Shutdown(boolean guest, String reason) -> event("SHUTDOWN", cause(guest, reason));
            case MachineEvent.Reset(boolean guest, String reason) -> event("RESET", cause(guest, reason));
            case MachineEvent.Powerdown() -> event("POWERDOWN", null);
            case MachineEvent.Migration(String status) -> event("MIGRATION",
                    com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode().put("status", status));
            case MachineEvent.MigrationPass(long pass) -> event("MIGRATION_PASS",
                    com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode().put("pass", pass));
        }
    }

    private static JsonNode cause(boolean guest, String reason) {
        return QmpCodec.object().put("guest", guest).put("reason", reason);
    }

    /** Sent at once (not queued behind commands), as QEMU sends an event before the reply of the command behind it. */
    private void event(String name, JsonNode data) {
        try {
            if (chardev.isConnected() && session.negotiated()) {
                send(QmpCodec.event(name, data, Instant.now()));
            }
        } catch (RuntimeException e) {
            // the machine's thread must never fail on a monitor's account
            LOG.log(System.Logger.Level.DEBUG, "QMP event " + name + " not sent", e);
        }
    }

    private synchronized void send(JsonNode message) {
        byte[] line = QmpCodec.encode(message);
        chardev.write(line, 0, line.length);
    }
}
