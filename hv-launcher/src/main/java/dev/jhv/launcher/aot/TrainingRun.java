package dev.jhv.launcher.aot;

import dev.jhv.launcher.Main;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.PrintStream;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The AOT cache's training run (scripts/train-aot): what users start most, in one JVM, so that the cache holds the
 * classes, linked call sites and compilation profiles those starts need.
 * <ol>
 * <li>The test guest boots on two vCPUs with a socket serial port and a qcow2 drive and dirties 64 MiB; then, from a
 * stdio monitor: info status, stop, savevm, loadvm, migrate exec: to a file, quit.</li>
 * <li>That stream comes back through -incoming exec: while a client on a unix-socket monitor polls info status until
 * the load is done; the guest carries on (its heartbeat shows on the serial socket), then quit.</li>
 * </ol>
 * Usage: {@code TrainingRun KERNEL QCOW2 DIR}; exits non-zero if a run fails.
 */
public final class TrainingRun {
    /** A step that takes longer than this is broken, not slow. */
    private static final long STEP_SECONDS = 120;

    private TrainingRun() { }

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: TrainingRun KERNEL QCOW2 DIR");
            System.exit(2);
        }
        Path dir = Path.of(args[2]);
        Path stream = dir.resolve("train.bin");
        List<String> machine = List.of("-kernel", args[0], "-append", "mode=dirty mib=64 hb=100", "-smp", "2",
                "-m", "256", "-display", "none", "-drive", "file=" + args[1] + ",format=qcow2,if=none,id=train");
        try {
            save(machine, dir, stream);
            restore(machine, dir, stream);
        } catch (IOException | TimeoutException | ExecutionException e) {
            System.err.println("TrainingRun: " + e);
            System.exit(1);
        }
        System.exit(0);
    }

    private static void save(List<String> machine, Path dir, Path stream) throws Exception {
        Path serial = dir.resolve("serial-save.sock");
        var monitorIn = new PipedInputStream();
        var monitor = new PipedOutputStream(monitorIn);
        FutureTask<Integer> run = start(with(machine, "-monitor", "stdio", "-serial",
                "unix:" + serial + ",server,nowait"), monitorIn);
        try (SocketChannel console = connect(serial, run)) {
            // both CPUs' shares written: the stream then holds the whole 64 MiB region
            awaitText(console, "DIRTY cpu=0 pass=1", "DIRTY cpu=1 pass=1");
        }
        monitor.write(("info status\nstop\nsavevm train\nloadvm train\nmigrate \"exec:cat > " + stream + "\"\nquit\n")
                .getBytes(StandardCharsets.UTF_8));
        monitor.flush();
        expectSuccess("save", run);
        monitor.close();
        if (!Files.exists(stream)) {
            throw new IOException("the save run wrote no " + stream);
        }
    }

    private static void restore(List<String> machine, Path dir, Path stream) throws Exception {
        Path serial = dir.resolve("serial-restore.sock");
        Path monitorSocket = dir.resolve("monitor.sock");
        FutureTask<Integer> run = start(with(machine, "-incoming", "exec:cat " + stream, "-serial",
                "unix:" + serial + ",server,nowait", "-monitor", "unix:" + monitorSocket + ",server,nowait"),
                InputStream.nullInputStream());
        try (SocketChannel console = connect(serial, run); SocketChannel monitor = connect(monitorSocket, run)) {
            awaitText(monitor, "(qemu) ");
            while (command(monitor, "info status").contains("inmigrate")) {
                if (run.isDone()) {
                    throw new IOException("the incoming run ended while loading");
                }
            }
            awaitText(console, "HB cpu=");
            monitor.write(ByteBuffer.wrap("quit\n".getBytes(StandardCharsets.US_ASCII)));
            expectSuccess("incoming", run);
        }
    }

    private static List<String> with(List<String> machine, String... more) {
        var l = new ArrayList<>(machine);
        l.addAll(List.of(more));
        return l;
    }

    private static FutureTask<Integer> start(List<String> args, InputStream in) {
        Callable<Integer> jhv = () -> Main.runDetached(args.toArray(String[]::new), in, OutputStream.nullOutputStream(),
                new PrintStream(System.err, true));
        var task = new FutureTask<>(jhv);
        Thread.ofPlatform().name("training-jhv").daemon().start(task);
        return task;
    }

    private static void expectSuccess(String what, FutureTask<Integer> run) throws Exception {
        int status = run.get(STEP_SECONDS, TimeUnit.SECONDS);
        if (status != 0) {
            throw new IOException("the " + what + " run ended with status " + status);
        }
    }

    /** Connects once the socket is there; gives up when the run has ended or after the bound. */
    private static SocketChannel connect(Path socket, FutureTask<Integer> run) throws IOException,
            InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(STEP_SECONDS);
        while (true) {
            try {
                return SocketChannel.open(UnixDomainSocketAddress.of(socket));
            } catch (IOException e) {
                if (run.isDone() || System.nanoTime() > deadline) {
                    throw new IOException("nothing listens on " + socket + ": " + e.getMessage(), e);
                }
                Thread.sleep(5);
            }
        }
    }

    private static String command(SocketChannel monitor, String line) throws IOException {
        monitor.write(ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.US_ASCII)));
        return awaitText(monitor, "(qemu) ");
    }

    /** Reads until every one of {@code texts} has arrived, in any order (blocking reads; the caller bounds the run). */
    private static String awaitText(SocketChannel c, String... texts) throws IOException {
        var sb = new StringBuilder();
        ByteBuffer buf = ByteBuffer.allocate(4096);
        while (java.util.Arrays.stream(texts).anyMatch(t -> sb.indexOf(t) < 0)) {
            buf.clear();
            if (c.read(buf) < 0) {
                throw new IOException("the socket closed before '" + String.join("', '", texts) + "'");
            }
            sb.append(new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8));
        }
        return sb.toString();
    }
}
