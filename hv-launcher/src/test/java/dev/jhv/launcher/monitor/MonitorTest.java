package dev.jhv.launcher.monitor;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jhv.core.machine.MachineConfig;
import dev.jhv.core.machine.RunState;
import dev.jhv.launcher.command.StandardOperations;
import dev.jhv.launcher.testing.FakeMachine;
import dev.jhv.launcher.testing.TestChardev;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class MonitorTest {
    FakeMachine machine;
    TestChardev dev;

    static MachineConfig config(int cpus, String name, boolean paused) {
        return new MachineConfig(name, 128L << 20, MachineConfig.Smp.of(cpus), "qemu64", null, null, null,
                paused, false, false);
    }

    @BeforeEach
    void setUp() {
        machine = new FakeMachine(config(2, "vm1", true), null);
        dev = new TestChardev(true);
        new Monitor(dev, machine, CommandTable.standard(), Runnable::run);
        dev.start();
    }

    /** Types a command and returns what the monitor printed for it, without the echo and the next prompt. */
    private String run(String command) {
        int before = dev.output.text().length();
        dev.type(command + "\r");
        String out = dev.output.text().substring(before);
        String echo = command + "\r\n";
        assertThat(out).startsWith(echo).endsWith("(qemu) ");
        return out.substring(echo.length(), out.length() - "(qemu) ".length());
    }

    /** A command for the test's table. */
    private static MonitorCommand command(String name, List<Param> params, String help,
            java.util.function.BiConsumer<MonitorContext, Args> body) {
        return new MonitorCommand() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public List<Param> params() {
                return params;
            }

            @Override
            public String help() {
                return help;
            }

            @Override
            public void run(MonitorContext ctx, Args args) {
                body.accept(ctx, args);
            }
        };
    }

    @Test
    void greetsWithBannerAndPrompt() {
        assertThat(dev.output.text()).isEqualTo("jhv 0.1.0 monitor - type 'help' for more information\r\n(qemu) ");
    }

    @Test
    void inputWaitingAtStartIsAnsweredAfterTheBanner() {
        // piped stdin: the first command is there before the monitor could greet
        var piped = new TestChardev(true, "info status\n");
        new Monitor(piped, machine, CommandTable.standard(), Runnable::run);
        piped.start();
        assertThat(piped.output.text()).isEqualTo("jhv 0.1.0 monitor - type 'help' for more information\r\n"
                + "(qemu) info status\r\nVM status: paused (prelaunch)\r\n(qemu) ");
    }

    @Test
    void infoStatusFollowsTheRunState() {
        assertThat(run("info status")).isEqualTo("VM status: paused (prelaunch)\r\n");
        assertThat(run("cont")).isEmpty();
        assertThat(machine.runState()).isEqualTo(RunState.RUNNING);
        assertThat(run("info status")).isEqualTo("VM status: running\r\n");
        assertThat(run("stop")).isEmpty();
        assertThat(machine.runState()).isEqualTo(RunState.PAUSED);
        assertThat(run("info status")).isEqualTo("VM status: paused\r\n");
        assertThat(run("c")).isEmpty();
        assertThat(run("s")).isEmpty();
        assertThat(machine.runState()).isEqualTo(RunState.PAUSED);
        machine.exit(0);
        assertThat(run("info status")).isEqualTo("VM status: paused (shutdown)\r\n");
    }

    @Test
    void aLongCommandHoldsItsMonitorButNotTheThreadDeliveringInput() throws Exception {
        var release = new java.util.concurrent.CountDownLatch(1);
        var table = CommandTable.standard().register(command("slow", List.of(), "takes its time", (ctx, args) -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            ctx.println("done");
        }));
        var d = new TestChardev(true);
        new Monitor(d, machine, table); // its own thread, as jhv runs it
        d.start();
        // typing returns while "slow" runs: the input is queued for the monitor's thread, not run on this one
        org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(10), () -> {
            d.type("slow\r");
            d.type("info version\r");
        });
        assertThat(d.output.text()).as("the next command waits for the running one").doesNotContain("info version");
        release.countDown();
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!d.output.text().contains("0.1.0\r\n(qemu) ") && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertThat(d.output.text()).contains("slow\r\ndone\r\n(qemu) info version\r\n0.1.0\r\n(qemu) ");
    }

    @Test
    void machineRefusalIsPrintedAndMonitorStaysUsable() {
        machine.exit(0);
        assertThat(run("cont")).isEqualTo("Error: cannot continue a machine in state shutdown\r\n");
        assertThat(run("info version")).isEqualTo("0.1.0\r\n");
    }

    @Test
    void infoSubcommands() {
        assertThat(run("info cpus")).isEqualTo("* CPU #0: thread_id=1000\r\n  CPU #1: thread_id=1001\r\n");
        assertThat(run("info version")).isEqualTo("0.1.0\r\n");
        assertThat(run("info kvm")).isEqualTo("kvm support: enabled\r\n");
        assertThat(run("info name")).isEqualTo("vm1\r\n");
        assertThat(run("info")).contains("info status  -- show the current VM status (running|paused)\r\n")
                .contains("info cpus  -- ").contains("info version  -- ").contains("info kvm  -- ")
                .contains("info name  -- ");
    }

    @Test
    void infoNameWithoutNamePrintsNothing() {
        var m = new FakeMachine(config(1, null, false), null);
        var d = new TestChardev(true);
        new Monitor(d, m, CommandTable.standard(), Runnable::run);
        d.start();
        int before = d.output.text().length();
        d.type("info name\r");
        assertThat(d.output.text().substring(before)).isEqualTo("info name\r\n(qemu) ");
    }

    @Test
    void resetPowerdownQuit() {
        assertThat(run("system_reset")).isEmpty();
        assertThat(run("system_powerdown")).isEmpty();
        assertThat(machine.resets.get()).isEqualTo(1);
        assertThat(machine.powerdowns.get()).isEqualTo(1);
        assertThat(run("q")).isEmpty();
        assertThat(machine.runState()).isEqualTo(RunState.SHUTDOWN);
    }

    @Test
    void errorsInQemuWording() {
        assertThat(run("foo")).isEqualTo("unknown command: 'foo'\r\n");
        assertThat(run("info foo")).isEqualTo("unknown command: 'info foo'\r\n");
        assertThat(run("stop now")).isEqualTo(
                "stop|s: extraneous characters at the end of line\r\nTry \"help stop\" for more information\r\n");
        assertThat(run("info status x")).isEqualTo("info status: extraneous characters at the end of line\r\n"
                + "Try \"help info status\" for more information\r\n");
        assertThat(run("")).isEmpty();
        assertThat(run("   ")).isEmpty();
        assertThat(run("info status")).as("still usable").isEqualTo("VM status: paused (prelaunch)\r\n");
    }

    @Test
    void missingRequiredArgument() {
        var table = CommandTable.standard().register(command("migrate", List.of(Param.word("uri")), "migrate to URI",
                (ctx, args) -> ctx.println("to " + args.get("uri"))));
        var d = new TestChardev(true);
        new Monitor(d, machine, table, Runnable::run);
        d.start();
        d.type("migrate\r");
        assertThat(d.output.text()).contains(
                "migrate\r\nmigrate: uri expected\r\nTry \"help migrate\" for more information\r\n(qemu) ");
        d.type("migrate \"tcp:host:4444\"\r");
        assertThat(d.output.text()).contains("to tcp:host:4444\r\n");
        d.type("help migrate\r");
        assertThat(d.output.text()).contains("migrate uri -- migrate to URI\r\n");
    }

    @Test
    void help() {
        String all = run("help");
        assertThat(all).contains("cont|c  -- resume emulation\r\n")
                .contains("help|? [cmd] -- show the help\r\n")
                .contains("info [subcommand] -- show various information about the system state\r\n")
                .contains("quit|q  -- quit the emulator\r\n")
                .contains("stop|s  -- stop emulation\r\n")
                .contains("system_powerdown  -- send system power down event\r\n")
                .contains("system_reset  -- reset the system\r\n");
        assertThat(all.indexOf("cont|c")).isLessThan(all.indexOf("stop|s"));
        assertThat(run("help stop")).isEqualTo("stop|s  -- stop emulation\r\n");
        assertThat(run("help c")).isEqualTo("cont|c  -- resume emulation\r\n");
        assertThat(run("help info status")).isEqualTo("info status  -- show the current VM status (running|paused)\r\n");
        assertThat(run("help info")).contains("info kvm  -- show KVM information\r\n");
        assertThat(run("help nosuch")).isEqualTo("unknown command: 'nosuch'\r\n");
        assertThat(run("? quit")).isEqualTo("quit|q  -- quit the emulator\r\n");
    }

    @Test
    void lineEditing() {
        int before = dev.output.text().length();
        dev.type("infx\u007fo stat\u001b[Dus\r");    // backspace fixes a typo, the arrow key is ignored
        String out = dev.output.text().substring(before);
        assertThat(out).contains("infx\b \bo status\r\nVM status: paused (prelaunch)\r\n(qemu) ");
        dev.type("\u007f\u007finfo kvm\r\ninfo version\n");
        assertThat(dev.output.text()).contains("kvm support: enabled\r\n(qemu) info version\r\n0.1.0\r\n(qemu) ");
        assertThat(dev.output.text()).as("CR LF is one line end").doesNotContain("(qemu) \r\n(qemu) ");
    }

    @Test
    void commandsArriveInPieces() {
        dev.type("inf");
        dev.type("o ku");
        dev.type("m\r");
        // "kum" is no info subcommand: the bytes were joined into one line
        assertThat(dev.output.text()).contains("unknown command: 'info kum'");
    }

    @Test
    void laterFeaturesAddInfoSubcommandsAsOneClass() {
        var table = CommandTable.standard().registerInfo(new MonitorCommand() {
            @Override
            public String name() {
                return "migrate";
            }

            @Override
            public String help() {
                return "show migration status";
            }

            @Override
            public void run(MonitorContext ctx, Args args) {
                ctx.println("Migration status: none");
            }
        });
        var d = new TestChardev(true);
        new Monitor(d, machine, table, Runnable::run);
        d.start();
        d.type("info migrate\r");
        d.type("help info migrate\r");
        assertThat(d.output.text()).contains("info migrate\r\nMigration status: none\r\n(qemu) ")
                .contains("info migrate  -- show migration status\r\n");
    }

    @Test
    void duplicateRegistrationIsRefused() {
        var t = CommandTable.standard();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> t.register(StandardOperations.stop()))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
