package dev.jhv.launcher.monitor;

import dev.jhv.core.chardev.CharFrontend;
import dev.jhv.core.machine.MachineControl;
import dev.jhv.launcher.chardev.Chardev;
import dev.jhv.launcher.chardev.QueuedInput;
import dev.jhv.launcher.chardev.SocketChardev;
import dev.jhv.launcher.cli.Version;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The HMP text monitor on one chardev: "(qemu) " prompt, simple line editing (backspace; escape sequences such as
 * arrow keys are ignored), commands from a {@link CommandTable}. Its output goes back on its own chardev.
 * When a peer arrives (a socket client connects, the multiplexer's focus comes) it prints the banner and prompt.
 * Input and commands run on the monitor's own thread, in order: a long command (savevm, migrate) holds this
 * monitor as in QEMU, but not the I/O thread that other chardevs (the serial console, other monitors) share.
 */
public final class Monitor implements CharFrontend, Chardev.Listener {
    static final String PROMPT = "(qemu) ";
    static final String BANNER = "jhv " + Version.VERSION + " monitor - type 'help' for more information";

    private enum Escape { NONE, ESC, CSI }

    /** The longest command line, as QEMU's readline: what is typed past it is dropped. */
    static final int MAX_LINE = 4095;

    private final Chardev chardev;
    private final CommandTable commands;
    private final MonitorContext context;
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();
    private Escape escape = Escape.NONE;
    private boolean lastWasCr;
    private boolean bannerShown;
    private final Executor executor;
    private final QueuedInput queue;

    /** Attaches itself to {@code chardev} (as front end and listener); start the chardev afterwards. */
    public Monitor(Chardev chardev, MachineControl machine, CommandTable commands) {
        this(chardev, machine, commands, ownThread());
    }

    /** As above, with input and commands run by {@code executor} (one at a time, in order). */
    public Monitor(Chardev chardev, MachineControl machine, CommandTable commands, Executor executor) {
        this.executor = executor;
        this.chardev = chardev;
        this.commands = commands;
        this.context = new MonitorContext() {
            @Override
            public MachineControl machine() {
                return machine;
            }

            @Override
            public CommandTable commands() {
                return commands;
            }

            @Override
            public void print(String text) {
                output(text);
            }
        };
        this.queue = new QueuedInput(chardev, executor, this::input);
        chardev.attach(this);
        chardev.setListener(this);
    }

    private static Executor ownThread() {
        return Executors.newSingleThreadExecutor(Thread.ofPlatform().name("monitor-", THREADS.getAndIncrement())
                .daemon(true).factory());
    }

    private static final AtomicInteger THREADS = new AtomicInteger();

    @Override
    public void opened() {
        executor.execute(this::showPrompt);
    }

    private synchronized void showPrompt() {
        if (!bannerShown) {
            output(BANNER + "\n");
            bannerShown = true;
        }
        output(PROMPT);
        if (line.size() > 0) {
            raw(line.toByteArray());
        }
    }

    @Override
    public void closed() {
        executor.execute(this::endSession);
    }

    private synchronized void endSession() {
        if (chardev instanceof SocketChardev) {
            // the next client is a new session: fresh line, banner again
            line.reset();
            escape = Escape.NONE;
            bannerShown = false;
        }
    }

    @Override
    public int canReceive() {
        return queue.room();
    }

    @Override
    public void receive(byte[] data, int offset, int length) {
        queue.take(data, offset, length);
    }

    private synchronized void input(byte[] data) {
        for (byte b : data) {
            accept(b);
        }
    }

    private void accept(byte b) {
        boolean cr = lastWasCr;
        lastWasCr = false;
        switch (escape) {
            case ESC -> {
                escape = (b == '[' || b == 'O') ? Escape.CSI : Escape.NONE;
                return;
            }
            case CSI -> {
                if (b >= 0x40 && b <= 0x7e) {
                    escape = Escape.NONE;
                }
                return;
            }
            case NONE -> { }
        }
        switch (b) {
            case '\r' -> {
                lastWasCr = true;
                endOfLine();
            }
            case '\n' -> {
                if (!cr) {
                    endOfLine();
                }
            }
            case 0x7f, 0x08 -> backspace();
            case 0x1b -> escape = Escape.ESC;
            default -> {
                if ((b & 0xff) >= 0x20 && line.size() < MAX_LINE) {
                    line.write(b);
                    raw(new byte[] {b});
                }
            }
        }
    }

    private void backspace() {
        byte[] bytes = line.toByteArray();
        int n = bytes.length;
        if (n == 0) {
            return;
        }
        n--;
        while (n > 0 && (bytes[n] & 0xc0) == 0x80) {
            n--;    // a whole UTF-8 character
        }
        line.reset();
        line.write(bytes, 0, n);
        output("\b \b");
    }

    private void endOfLine() {
        String text = line.toString(StandardCharsets.UTF_8);
        line.reset();
        output("\n");
        Dispatcher.execute(context, commands, text, "");
        output(PROMPT);
    }

    /** Writes text with "\n" as "\r\n", as QEMU's monitor does. */
    private void output(String text) {
        raw(text.replace("\r\n", "\n").replace("\n", "\r\n").getBytes(StandardCharsets.UTF_8));
    }

    private void raw(byte[] bytes) {
        chardev.write(bytes, 0, bytes.length);
    }
}
