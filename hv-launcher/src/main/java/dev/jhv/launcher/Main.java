package dev.jhv.launcher;

import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.function.IntConsumer;

/** Entry point of the {@code jhv} command. */
public final class Main {
    private Main() { }

    public static void main(String[] args) {
        ProcessSignals.install(System.err);
        // fd 0 and 1 unbuffered: the serial console must not sit in a buffer
        run(args, new FileInputStream(FileDescriptor.in), new FileOutputStream(FileDescriptor.out), System.err,
                true, new DefaultMachineFactory(), System::exit);
    }

    /** jhv in this JVM without a terminal (the AOT cache's training run); returns the exit status. */
    public static int runDetached(String[] args, InputStream in, OutputStream out, PrintStream err) {
        int[] status = new int[1];
        run(args, in, out, err, false, new DefaultMachineFactory(), s -> status[0] = s);
        return status[0];
    }

    /** main() with everything outside the JVM passed in, for tests: the status goes to {@code exit}. */
    public static void run(String[] args, InputStream in, OutputStream out, PrintStream err, boolean rawTerminal,
                           MachineFactory factory, IntConsumer exit) {
        Path root = Path.of(System.getProperty("jhv.root", "."));
        exit.accept(new Launcher(factory, in, out, err, rawTerminal, root).run(args));
    }
}
