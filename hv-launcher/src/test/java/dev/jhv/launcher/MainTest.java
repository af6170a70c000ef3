package dev.jhv.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jhv.core.machine.RunState;
import dev.jhv.launcher.testing.FakeMachine;
import dev.jhv.launcher.testing.Output;
import dev.jhv.launcher.testing.SocketClient;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.PrintStream;
import java.net.UnixDomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Main run in-process: stdin/stdout/stderr are pipes, the exit status goes to a hook, the machine is a fake. */
class MainTest {
    @TempDir
    Path dir;

    final AtomicReference<FakeMachine> machine = new AtomicReference<>();
    final CountDownLatch created = new CountDownLatch(1);
    final AtomicInteger factoryCalls = new AtomicInteger();
    final MachineFactory fake = (config, com1) -> {
        factoryCalls.incrementAndGet();
        var m = new FakeMachine(config, com1);
        machine.set(m);
        created.countDown();
        return m;
    };

    record Run(int status, String out, String err) { }

    Run run(InputStream in, String... args) {
        var out = new ByteArrayOutputStream();
        var err = new ByteArrayOutputStream();
        var status = new AtomicInteger(-1);
        Main.run(args, in, out, new PrintStream(err, true), false, fake, status::set);
        return new Run(status.get(), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    Run run(String... args) {
        return run(new ByteArrayInputStream(new byte[0]), args);
    }

    void assertOneLineError(Run r, String line) {
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("jhv: " + line + "\n");
        assertThat(r.out()).isEmpty();
        assertThat(factoryCalls.get()).as("no machine is built for a bad command line").isZero();
    }

    @Test
    void badOptionsFailWithOneLineBeforeAnyMachineExists() {
        assertOneLineError(run("-foo"), "-foo: invalid option");
        assertOneLineError(run("-m", "foo"), "-m foo: invalid size 'foo'");
        assertOneLineError(run("-m", "4"), "-m 4: too little memory: 4 MiB (at least 16 MiB)");
        assertOneLineError(run("-smp", "0"),
                "-smp 0: Invalid CPU topology: CPU topology parameters must be greater than zero");
        assertOneLineError(run("-smp", "999"),
                "-smp 999: Invalid SMP CPUs 999. The max CPUs supported by machine 'pc' is 255");
        String k = dir.resolve("vmlinuz").toString();
        assertOneLineError(run("-kernel", k),
                "-kernel " + k + ": could not open kernel file '" + k + "': No such file or directory");
        assertOneLineError(run("-device", "virtio-blk-pci"), "-device virtio-blk-pci: drive property not set");
        assertOneLineError(run("-serial", "bogus"), "-serial bogus: 'bogus' is not a valid char driver");
        assertOneLineError(run("-monitor"), "-monitor: requires an argument");
    }

    @Test
    void helpAndVersionGoToStdout() {
        var v = run("--version");
        assertThat(v.status()).isZero();
        assertThat(v.out()).isEqualTo("jhv version 0.1.0\n");
        assertThat(v.err()).isEmpty();
        var h = run("-h");
        assertThat(h.status()).isZero();
        assertThat(h.out()).startsWith("usage: jhv [options] [disk-image]").contains("-nographic");
        assertThat(factoryCalls.get()).isZero();
    }

    @Test
    void machineFailureIsOneLine() {
        var out = new ByteArrayOutputStream();
        var err = new ByteArrayOutputStream();
        var status = new AtomicInteger(-1);
        Main.run(new String[] {"-smp", "200"}, InputStream.nullInputStream(), out, new PrintStream(err, true), false,
                (config, com1) -> {
                    throw new IllegalStateException("-smp 200: KVM allows at most 128 vCPUs\non this host");
                }, status::set);
        assertThat(status.get()).isEqualTo(1);
        assertThat(err.toString(StandardCharsets.UTF_8)).isEqualTo("jhv: -smp 200: KVM allows at most 128 vCPUs\n");
    }

    @Test
    void chardevFailuresNameTheOption() {
        Path nobody = dir.resolve("nobody.sock");
        var r = run("-serial", "unix:" + nobody);
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("jhv: -serial unix:" + nobody + ": Failed to connect to '" + nobody
                + "': No such file or directory\n");
        assertThat(factoryCalls.get()).as("the serial port opens before the machine is built").isZero();
        var m = run("-monitor", "unix:" + dir.resolve("no/such/dir/m.sock") + ",server,nowait");
        assertThat(m.err()).isEqualTo("jhv: -monitor unix:" + dir.resolve("no/such/dir/m.sock")
                + ",server=on: Failed to bind socket to " + dir.resolve("no/such/dir/m.sock")
                + ": No such file or directory\n");
        // monitors open while the machine is built; the machine built meanwhile is closed again
        assertThat(machine.get() == null || machine.get().closed).isTrue();
    }

    /** Runs with a machine factory that always fails. */
    static Run runWithoutKvm(String... args) {
        var err = new ByteArrayOutputStream();
        var status = new AtomicInteger(-1);
        Main.run(args, InputStream.nullInputStream(), new ByteArrayOutputStream(), new PrintStream(err, true), false,
                (config, com1) -> {
                    throw new IllegalStateException("no KVM here");
                }, status::set);
        return new Run(status.get(), "", err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void whenMonitorAndMachineBothFailTheMonitorIsNamedAsQemuWould() {
        Path bad = dir.resolve("no/such/dir/m.sock");
        var r = runWithoutKvm("-monitor", "unix:" + bad + ",server,nowait");
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.err()).startsWith("jhv: -monitor unix:" + bad);
    }

    @Test
    void aMachineFailureClosesTheMonitorSocketOpenedMeanwhile() {
        Path sock = dir.resolve("m.sock");
        var r = runWithoutKvm("-monitor", "unix:" + sock + ",server,nowait");
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("jhv: no KVM here\n");
        assertThat(sock).as("the monitor's socket is closed and removed").doesNotExist();
    }

    @Test
    void brokenInstallIsOneLineToo() {
        var err = new ByteArrayOutputStream();
        var status = new AtomicInteger(-1);
        Main.run(new String[] {"-serial", "null"}, InputStream.nullInputStream(), new ByteArrayOutputStream(),
                new PrintStream(err, true), false, (config, com1) -> {
                    throw new ExceptionInInitializerError(new IllegalStateException("cannot find libc"));
                }, status::set);
        assertThat(status.get()).isEqualTo(1);
        assertThat(err.toString(StandardCharsets.UTF_8)).isEqualTo("jhv: cannot find libc\n");
    }

    @Test
    void exitStatusIsTheMachines() throws Exception {
        var result = CompletableFuture.supplyAsync(() -> run("-serial", "null", "-display", "none"));
        assertThat(created.await(10, TimeUnit.SECONDS)).isTrue();
        var m = machine.get();
        assertThat(m.com1).as("COM1 gets a back end for -serial null").isNotNull();
        m.exit(7);
        var r = result.get(10, TimeUnit.SECONDS);
        assertThat(r.status()).isEqualTo(7);
        assertThat(r.err()).isEmpty();
        assertThat(m.closed).isTrue();
    }

    @Test
    void prepareRunsOnItsOwnThreadAndEndsBeforeCreate() {
        var prepared = new java.util.concurrent.atomic.AtomicBoolean();
        var preparedOn = new AtomicReference<String>();
        var createdAfterPrepare = new java.util.concurrent.atomic.AtomicBoolean();
        var factory = new MachineFactory() {
            @Override
            public void prepare() {
                preparedOn.set(Thread.currentThread().getName());
                prepared.set(true);
            }

            @Override
            public MachineHandle create(dev.jhv.devices.board.BoardConfig config, dev.jhv.core.chardev.CharBackend com1) {
                createdAfterPrepare.set(prepared.get());
                var m = new FakeMachine(config, com1);
                m.exit(0);
                return m;
            }
        };
        var status = new AtomicInteger(-1);
        Main.run(new String[] {"-serial", "null"}, InputStream.nullInputStream(), new ByteArrayOutputStream(),
                new PrintStream(new ByteArrayOutputStream()), false, factory, status::set);
        assertThat(status.get()).isZero();
        assertThat(createdAfterPrepare.get()).isTrue();
        assertThat(preparedOn.get()).isEqualTo("machine-prepare");
    }

    @Test
    void serialNoneMeansNoCom1() throws Exception {
        var result = CompletableFuture.supplyAsync(() -> run("-serial", "none"));
        assertThat(created.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(machine.get().com1).isNull();
        machine.get().exit(0);
        assertThat(result.get(10, TimeUnit.SECONDS).status()).isZero();
    }

    @Test
    void serialToFile() throws Exception {
        Path log = dir.resolve("com1.log");
        var result = CompletableFuture.supplyAsync(() -> run("-serial", "file:" + log));
        assertThat(created.await(10, TimeUnit.SECONDS)).isTrue();
        byte[] line = "JHV-GUEST-READY cpus=1 mem=128\r\n".getBytes(StandardCharsets.US_ASCII);
        machine.get().com1.write(line, 0, line.length);
        machine.get().exit(0);
        assertThat(result.get(10, TimeUnit.SECONDS).status()).isZero();
        assertThat(Files.readString(log)).isEqualTo("JHV-GUEST-READY cpus=1 mem=128\r\n");
    }

    @Test
    void nographicConsoleAndMonitorOnStdio() throws Exception {
        var keyboard = new PipedOutputStream();
        var stdin = new PipedInputStream(keyboard);
        var screen = new Output();
        var err = new ByteArrayOutputStream();
        var status = new AtomicInteger(-1);
        var done = new CountDownLatch(1);
        Thread.ofPlatform().daemon().start(() -> {
            Main.run(new String[] {"-nographic", "-S"}, stdin, screen, new PrintStream(err, true), false, fake,
                    status::set);
            done.countDown();
        });
        assertThat(created.await(10, TimeUnit.SECONDS)).isTrue();
        var m = machine.get();
        byte[] hello = "guest output\r\n".getBytes(StandardCharsets.US_ASCII);
        m.com1.write(hello, 0, hello.length);
        screen.await("guest output\r\n");
        keyboard.write("\u0001c".getBytes(StandardCharsets.US_ASCII));
        keyboard.flush();
        int at = screen.await("(qemu) ");
        keyboard.write("info status\r".getBytes(StandardCharsets.US_ASCII));
        keyboard.flush();
        at = screen.await("VM status: paused (prelaunch)\r\n(qemu) ", at);
        keyboard.write("cont\r".getBytes(StandardCharsets.US_ASCII));
        keyboard.flush();
        screen.await("(qemu) ", at);
        assertThat(m.runState()).isEqualTo(RunState.RUNNING);
        keyboard.write("\u0001x".getBytes(StandardCharsets.US_ASCII));
        keyboard.flush();
        assertThat(done.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(status.get()).isZero();
        assertThat(screen.text()).contains("jhv: Terminated");
        assertThat(err.toString(StandardCharsets.UTF_8)).isEmpty();
        keyboard.close();
    }

    @Test
    void monitorOnUnixSocketQuits() throws Exception {
        Path sock = dir.resolve("qmp.sock");
        var result = CompletableFuture.supplyAsync(
                () -> run("-monitor", "unix:" + sock + ",server,nowait", "-serial", "null", "-name", "t1"));
        assertThat(created.await(10, TimeUnit.SECONDS)).isTrue();
        // the monitor's socket opens while the machine is built; start() comes after both
        assertThat(machine.get().started.await(10, TimeUnit.SECONDS)).isTrue();
        try (var client = new SocketClient(UnixDomainSocketAddress.of(sock))) {
            int at = client.received.await("(qemu) ");
            client.send("info name\n");
            at = client.received.await("t1\r\n(qemu) ", at);
            client.send("quit\n");
            var r = result.get(10, TimeUnit.SECONDS);
            assertThat(r.status()).isZero();
        }
        assertThat(sock).as("removed at exit").doesNotExist();
    }

    @Test
    void loadingBeginsBeforeTheMonitorsAreAwaitedUnlessOneWaitsForAClient() throws Exception {
        Path sock = dir.resolve("nowait.sock");
        var result = CompletableFuture.supplyAsync(
                () -> run("-monitor", "unix:" + sock + ",server,nowait", "-serial", "null"));
        assertThat(created.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(machine.get().started.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(machine.get().calls).containsExactly("startLoading", "start");
        machine.get().exit(0);
        assertThat(result.get(10, TimeUnit.SECONDS).status()).isZero();
    }

    @Test
    void aMonitorThatWaitsForItsClientHoldsBackTheLoadToo() throws Exception {
        Path sock = dir.resolve("wait.sock");
        var result = CompletableFuture.supplyAsync(() -> run("-monitor", "unix:" + sock + ",server", "-serial", "null"));
        assertThat(created.await(10, TimeUnit.SECONDS)).isTrue();
        try (var client = connectWhenListening(sock)) {
            assertThat(machine.get().started.await(10, TimeUnit.SECONDS)).isTrue();
            // start() alone: it begins the load itself, after the client came
            assertThat(machine.get().calls).containsExactly("start");
            machine.get().exit(0);
            assertThat(result.get(10, TimeUnit.SECONDS).status()).isZero();
        }
    }

    /** The socket opens on its own thread, after the machine may already exist: retry until it listens. */
    static SocketClient connectWhenListening(Path sock) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            try {
                return new SocketClient(UnixDomainSocketAddress.of(sock));
            } catch (IOException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.onSpinWait();
            }
        }
    }
}
