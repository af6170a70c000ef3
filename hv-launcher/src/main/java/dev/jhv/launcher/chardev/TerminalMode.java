package dev.jhv.launcher.chardev;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The controlling terminal switched to raw mode (keys go to the guest as typed, no echo) and back.
 * Like QEMU's stdio chardev it keeps output processing (\n to \r\n), and signals (Ctrl-C ends jhv) unless
 * the terminal is shared with the monitor (mon:stdio, -nographic), where Ctrl-C is the guest's.
 * Uses stty(1) on /dev/tty: no native code, and nothing is spawned when stdin is not a terminal.
 */
final class TerminalMode {
    private static final System.Logger LOG = System.getLogger(TerminalMode.class.getName());

    private final String saved;
    private final AtomicBoolean restored = new AtomicBoolean();
    private final Thread hook;

    private TerminalMode(String saved) {
        this.saved = saved;
        this.hook = new Thread(this::restore, "terminal-restore");
    }

    /** Whether fd 0 is a terminal (a tty or pty), judged from /proc without native calls. */
    static boolean stdinIsTerminal() {
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/0")).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty") || target.equals("/dev/console");
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    /** Puts the terminal in raw mode if stdin is one; null if not (or if stty failed). */
    static TerminalMode enterRawIfTerminal(boolean signals) {
        if (!stdinIsTerminal()) {
            return null;
        }
        try {
            var p = new ProcessBuilder("sh", "-c", "stty -g && stty raw -echo opost " + (signals ? "isig" : "-isig"))
                    .redirectInput(new File("/dev/tty"))
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
            String saved = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).strip();
            if (p.waitFor() != 0 || saved.isEmpty()) {
                return null;
            }
            var mode = new TerminalMode(saved);
            Runtime.getRuntime().addShutdownHook(mode.hook);
            return mode;
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot put the terminal in raw mode: " + e.getMessage());
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** Restores the settings saved on entry; runs once (on close or from the shutdown hook). */
    void restore() {
        if (!restored.compareAndSet(false, true)) {
            return;
        }
        try {
            var p = new ProcessBuilder("stty", saved)
                    .redirectInput(new File("/dev/tty"))
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
            p.waitFor();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot restore the terminal: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (Thread.currentThread() != hook) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // already shutting down
            }
        }
    }
}
