package dev.jhv.launcher.chardev;

import dev.jhv.launcher.cli.ChardevSpec;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;

/**
 * Opens chardevs from their specs. {@code in}/{@code out} stand for the process's stdin/stdout (tests pass pipes);
 * {@code rawTerminal}: put a terminal on stdin in raw mode. "mon:DEV" gives a {@link MuxChardev}.
 */
public final class Chardevs {
    private final InputStream in;
    private final OutputStream out;
    private final PrintStream err;
    private final boolean rawTerminal;

    public Chardevs(InputStream in, OutputStream out, PrintStream err, boolean rawTerminal) {
        this.in = in;
        this.out = out;
        this.err = err;
        this.rawTerminal = rawTerminal;
    }

    /**
     * Opens the device ({@link ChardevSpec.None} gives null). A mux needs the quit action for Ctrl-A x.
     *
     * @throws dev.jhv.launcher.LauncherException when it cannot be opened
     */
    public Chardev open(ChardevSpec spec, Runnable quit) {
        return switch (spec) {
            case ChardevSpec.None n -> null;
            case ChardevSpec.Null n -> new NullChardev();
            case ChardevSpec.Stdio s -> new StdioChardev(in, out, rawTerminal, true);
            case ChardevSpec.File f -> new FileChardev(f.path());
            case ChardevSpec.Unix u -> SocketChardev.open(u, err);
            case ChardevSpec.Tcp t -> SocketChardev.open(t, err);
            // as QEMU's mon:stdio (and -nographic): Ctrl-C goes to the guest, Ctrl-A x quits
            case ChardevSpec.Mon(ChardevSpec.Stdio s) -> new MuxChardev(new StdioChardev(in, out, rawTerminal, false),
                    quit);
            case ChardevSpec.Mon m -> new MuxChardev(open(m.inner(), quit), quit);
        };
    }
}
