package dev.jhv.launcher;

import dev.jhv.core.trace.StartupTrace;
import dev.jhv.launcher.chardev.Chardev;
import dev.jhv.launcher.chardev.Chardevs;
import dev.jhv.launcher.chardev.MuxChardev;
import dev.jhv.launcher.cli.ChardevSpec;
import dev.jhv.launcher.cli.CommandLineParser;
import dev.jhv.launcher.cli.LaunchOptions;
import dev.jhv.launcher.jit.CompilerThreads;
import dev.jhv.launcher.monitor.CommandTable;
import dev.jhv.launcher.monitor.Monitor;
import dev.jhv.launcher.qmp.QmpMonitor;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

/**
 * What "jhv args" does: parse, open the chardevs, build the machine, start the monitors and the machine, wait,
 * and give back the exit status. Every failure becomes one "jhv: ..." line on stderr and status 1.
 */
public final class Launcher {
    private static final System.Logger LOG = System.getLogger(Launcher.class.getName());

    /** How long the end waits for a QMP monitor's reply under way. */
    private static final long QMP_DRAIN_MS = 2_000;

    private final MachineFactory factory;
    private final InputStream in;
    private final OutputStream out;
    private final PrintStream err;
    private final boolean rawTerminal;
    private final Path root;
    private final CommandTable commands;
    private volatile MachineHandle machine;

    /**
     * @param in, out     what "stdio" chardevs use (the process's fd 0 and 1, or pipes in tests)
     * @param err         where errors and notices go
     * @param rawTerminal put a terminal on stdin into raw mode for stdio chardevs
     * @param root        the jhv checkout (--demo's guest lives under it)
     */
    public Launcher(MachineFactory factory, InputStream in, OutputStream out, PrintStream err, boolean rawTerminal,
                    Path root) {
        this(factory, in, out, err, rawTerminal, root, CommandTable.standard());
    }

    /** As above, with the monitor's command table given (later features register their commands in it). */
    public Launcher(MachineFactory factory, InputStream in, OutputStream out, PrintStream err, boolean rawTerminal,
                    Path root, CommandTable commands) {
        this.factory = factory;
        this.in = in;
        this.out = out;
        this.err = err;
        this.rawTerminal = rawTerminal;
        this.root = root;
        this.commands = commands;
    }

    /** Runs the command line; returns the process exit status. */
    public int run(String[] args) {
        StartupTrace.mark("main");
        Thread prepare = Thread.ofPlatform().name("machine-prepare").daemon().start(() -> {
            try {
                factory.prepare();
                StartupTrace.mark("prepared");
                CompilerThreads.lowerC2Priority(); // C2 yields contended cores to the machine's threads
                StartupTrace.mark("c2 lowered");
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.DEBUG, "machine preparation failed; create() will report it", e);
            }
        });
        try {
            return switch (CommandLineParser.parse(List.of(args), root)) {
                case CommandLineParser.Result.Help h -> print(h.text());
                case CommandLineParser.Result.Version v -> print(v.text() + "\n");
                case CommandLineParser.Result.Run r -> {
                    StartupTrace.mark("command line parsed");
                    prepare.join();
                    yield launch(r.options());
                }
            };
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        } catch (LauncherException e) {
            // written for people, and may say more on a second line (QEMU's "Is another process using the image")
            err.println("jhv: " + e.getMessage());
            err.flush();
            return 1;
        } catch (RuntimeException | LinkageError e) {
            // a bug or a broken install still gets one line; the trace is in the debug log
            LOG.log(System.Logger.Level.DEBUG, "jhv failed", e);
            Throwable shown = e instanceof ExceptionInInitializerError && e.getCause() != null ? e.getCause() : e;
            return fail(shown.getMessage() != null ? shown.getMessage() : shown.toString());
        }
    }

    private int print(String text) {
        try {
            out.write(text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            out.flush();
        } catch (java.io.IOException e) {
            return 1;
        }
        return 0;
    }

    private int fail(String message) {
        err.println("jhv: " + message.lines().findFirst().orElse(""));
        err.flush();
        return 1;
    }

    /** Opens a chardev; a failure names the option as QEMU does ("-serial unix:/x: Failed to connect ..."). */
    private static Chardev open(Chardevs chardevs, String option, ChardevSpec spec, Runnable quit) {
        try {
            return chardevs.open(spec, quit);
        } catch (LauncherException e) {
            throw new LauncherException(option + " " + spec.describe() + ": " + e.getMessage(), e);
        }
    }

    /** Opens each chardev in turn; if one fails, closes those already open. */
    private static List<Chardev> openAll(Chardevs chardevs, String option, List<ChardevSpec> specs, Runnable quit) {
        var devs = new ArrayList<Chardev>();
        try {
            for (var spec : specs) {
                Chardev dev = open(chardevs, option, spec, quit);
                if (dev != null) {
                    devs.add(dev);
                }
            }
            return devs;
        } catch (RuntimeException e) {
            devs.forEach(Chardev::close);
            throw e;
        }
    }

    /** The result of a task run on another thread, with its unchecked exception rethrown here. */
    private static <T> T await(FutureTask<T> task) {
        try {
            return task.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LauncherException("interrupted");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            if (e.getCause() instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(e.getCause());
        }
    }

    /** Runs the machine the options describe until it ends. */
    int launch(LaunchOptions options) {
        Runnable quit = () -> {
            var m = machine;
            if (m != null) {
                m.control().quit();
            }
        };
        var chardevs = new Chardevs(in, out, err, rawTerminal);
        var opened = new ArrayList<Chardev>();
        var monitors = new ArrayList<Monitor>();
        var qmpMonitors = new ArrayList<QmpMonitor>();
        try {
            Chardev serialDevice = open(chardevs, "-serial", options.serial(), quit);
            Chardev com1 = serialDevice;
            Chardev muxMonitor = null;
            if (serialDevice != null) {
                opened.add(serialDevice);
            }
            if (serialDevice instanceof MuxChardev mux) {
                com1 = mux.addPort();
                muxMonitor = mux.addPort();
            }
            // the monitors' sockets open while the machine is built: Netty's start-up takes tens of milliseconds
            var monitorsOpening = new FutureTask<>(() -> openAll(chardevs, "-monitor", options.monitors(), quit));
            var qmpOpening = new FutureTask<>(() -> openAll(chardevs, "-qmp", options.qmpMonitors(), quit));
            Thread.ofPlatform().name("monitor-open").daemon().start(() -> {
                monitorsOpening.run();
                qmpOpening.run();
            });
            MachineHandle m;
            try {
                m = factory.create(options.board(), com1);
            } catch (RuntimeException e) {
                // QEMU opens chardevs before it builds the machine, so their errors come first
                opened.addAll(await(monitorsOpening));
                opened.addAll(await(qmpOpening));
                throw e;
            }
            // an incoming stream loads while the monitors open, unless one waits for a client: then, as in QEMU,
            // nothing happens before that client (a failed load would otherwise end jhv while it waits)
            if (!options.monitorWaitsForClient()) {
                m.startLoading();
            }
            List<Chardev> monitorDevices;
            List<Chardev> qmpDevices;
            try {
                monitorDevices = await(monitorsOpening);
                opened.addAll(monitorDevices);
                qmpDevices = await(qmpOpening);
                opened.addAll(qmpDevices);
            } catch (RuntimeException e) {
                m.close();
                throw e;
            }
            StartupTrace.mark("machine built");
            machine = m;
            ProcessSignals.onTerminate(quit);
            m.registerCommands(commands);
            try {
                if (muxMonitor != null) {
                    monitors.add(new Monitor(muxMonitor, m.control(), commands));
                }
                for (var dev : monitorDevices) {
                    monitors.add(new Monitor(dev, m.control(), commands));
                }
                for (var dev : qmpDevices) {
                    qmpMonitors.add(new QmpMonitor(dev, m.control(), commands.operations()));
                }
                m.start();
                StartupTrace.mark("machine started");
                // input only once the machine has started, as QEMU's main loop: a monitor command typed (or piped)
                // early must not act on a machine that is still being built or whose vCPUs are not yet parked
                for (var dev : opened) {
                    dev.start();
                }
                return m.awaitExit();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return 1;
            } finally {
                m.close();
                ProcessSignals.onTerminate(null);
            }
        } finally {
            // a reply under way ("quit"'s) reaches its client before the devices close
            for (var q : qmpMonitors) {
                q.drain(QMP_DRAIN_MS);
            }
            for (int i = opened.size() - 1; i >= 0; i--) {
                opened.get(i).close();
            }
        }
    }
}
