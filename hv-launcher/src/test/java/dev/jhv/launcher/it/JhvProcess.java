package dev.jhv.launcher.it;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The real ./jhv run as a subprocess, the way a person runs it; output is collected line by line. */
public final class JhvProcess implements AutoCloseable {
    public static final Path ROOT = Path.of(System.getProperty("jhv.root", "..")).toAbsolutePath().normalize();
    public static final Path TESTOS = ROOT.resolve("guest-images/out/testos.bin");
    public static final Path TESTOS_ELF = ROOT.resolve("guest-images/out/testos.elf");

    private final Process process;
    private final List<String> out = new ArrayList<>();
    private final List<String> err = new ArrayList<>();
    private final StringBuilder partialOut = new StringBuilder();
    private final OutputStream stdin;

    private JhvProcess(Process p) {
        this.process = p;
        this.stdin = p.getOutputStream();
        pump(p.getInputStream(), out, "jhv-stdout");
        pump(p.getErrorStream(), err, "jhv-stderr");
    }

    /** Runs a tool (qemu-img, jhv-img) to its end, which must be a success within a minute; returns its output. */
    public static String runTool(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        org.assertj.core.api.Assertions.assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        org.assertj.core.api.Assertions.assertThat(p.exitValue()).as(String.join(" ", cmd) + ":\n" + out).isZero();
        return out;
    }

    /** Starts ./jhv with the given arguments (the launcher script at the checkout's root). */
    public static JhvProcess start(String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(ROOT.resolve("jhv").toString());
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(ROOT.toFile());
        return new JhvProcess(pb.start());
    }

    /** A command that runs ./jhv itself (script(1) giving it a terminal, say), collected the same way. */
    public static JhvProcess wrapped(List<String> cmd) throws IOException {
        return new JhvProcess(new ProcessBuilder(cmd).directory(ROOT.toFile()).start());
    }

    /** The standard arguments for booting the test guest: bzImage, no display, serial on stdio. */
    public static List<String> guestArgs(String append, String... more) {
        List<String> a = new ArrayList<>(List.of("-kernel", TESTOS.toString(), "-append", append,
                "-display", "none", "-serial", "stdio"));
        a.addAll(List.of(more));
        return a;
    }

    public static JhvProcess boot(String append, String... more) throws IOException {
        if (!Files.exists(TESTOS)) {
            throw new IllegalStateException("test guest missing: run guest-images/build (./test does)");
        }
        return start(guestArgs(append, more).toArray(String[]::new));
    }

    /** Boots the test guest inside a network namespace ({@code ip netns exec}, which execs jhv: same pid). */
    public static JhvProcess bootIn(String netns, String append, String... more) throws IOException {
        if (!Files.exists(TESTOS)) {
            throw new IllegalStateException("test guest missing: run guest-images/build (./test does)");
        }
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", netns, ROOT.resolve("jhv").toString()));
        cmd.addAll(guestArgs(append, more));
        return wrapped(cmd);
    }

    private final List<Thread> pumps = new ArrayList<>();

    private void pump(InputStream in, List<String> sink, String name) {
        pumps.add(Thread.ofPlatform().name(name).daemon(true).start(() -> {
            try (var r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                int c;
                StringBuilder line = new StringBuilder();
                while ((c = r.read()) >= 0) {
                    synchronized (this) {
                        if (c == '\n') {
                            String s = line.toString();
                            if (s.endsWith("\r")) {
                                s = s.substring(0, s.length() - 1);
                            }
                            sink.add(s);
                            line.setLength(0);
                            if (sink == out) {
                                partialOut.setLength(0);
                            }
                        } else {
                            line.append((char) c);
                            if (sink == out) {
                                partialOut.append((char) c);
                            }
                        }
                        notifyAll();
                    }
                }
                synchronized (this) {
                    if (!line.isEmpty()) {
                        sink.add(line.toString());
                    }
                    notifyAll();
                }
            } catch (IOException e) {
                // process gone
            }
        }));
    }

    /** Waits for a stdout line matching the pattern, starting at line {@code from}; returns the matcher. */
    public synchronized Matcher awaitLine(Pattern p, int from, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        int i = from;
        while (true) {
            for (; i < out.size(); i++) {
                Matcher m = p.matcher(out.get(i));
                if (m.find()) {
                    return m;
                }
            }
            long left = deadline - System.nanoTime();
            if (left <= 0 || (!process.isAlive() && i >= out.size())) {
                throw new AssertionError("no line matching /" + p + "/ within " + timeout
                        + (process.isAlive() ? "" : " (jhv exited " + process.exitValue() + ")")
                        + "\nstdout:\n" + String.join("\n", tail(out)) + "\nstderr:\n" + String.join("\n", tail(err)));
            }
            wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
        }
    }

    public Matcher awaitLine(String regex, Duration timeout) throws InterruptedException {
        return awaitLine(Pattern.compile(regex), 0, timeout);
    }

    /** Waits until the not-yet-terminated output line ends with the text (a prompt). */
    public synchronized void awaitPrompt(String prompt, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!partialOut.toString().endsWith(prompt)) {
            long left = deadline - System.nanoTime();
            if (left <= 0 || !process.isAlive()) {
                throw new AssertionError("no prompt '" + prompt + "' within " + timeout + "; stdout:\n"
                        + String.join("\n", tail(out)) + "\n" + partialOut);
            }
            wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
        }
    }

    private static List<String> tail(List<String> l) {
        return new ArrayList<>(l.subList(Math.max(0, l.size() - 40), l.size()));
    }

    public synchronized int lineCount() {
        return out.size();
    }

    public synchronized List<String> stdout() {
        return List.copyOf(out);
    }

    public synchronized List<String> stderr() {
        return List.copyOf(err);
    }

    public void send(String text) throws IOException {
        stdin.write(text.getBytes(StandardCharsets.UTF_8));
        stdin.flush();
    }

    /** Waits for the process to end; returns its exit status. */
    public int awaitExit(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("jhv still running after " + timeout + "; stdout:\n"
                    + String.join("\n", tail(stdout())) + "\nstderr:\n" + String.join("\n", tail(stderr())));
        }
        for (Thread t : pumps) {
            t.join(5000); // the output that was written before exit
        }
        return process.exitValue();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    public long pid() {
        return process.pid();
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
