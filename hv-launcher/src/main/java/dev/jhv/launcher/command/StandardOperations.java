package dev.jhv.launcher.command;

import dev.jhv.launcher.cli.Version;
import java.util.ArrayList;
import java.util.List;

/** The operations every machine has: run control, status, version, name, KVM, vCPUs, the command list. */
public final class StandardOperations {
    /** QEMU 7.2's words when qmp_capabilities comes again after negotiation. */
    static final String ALREADY_NEGOTIATED = "Capabilities negotiation is already complete, command ignored";

    private StandardOperations() { }

    /** The standard operations; query-commands lists what {@code table} holds when it runs. */
    public static List<Operation<?>> all(OperationTable table) {
        return new OperationTable().register(capabilities())
                .register(Operation.of("query-commands", (m, a) -> commands(table)))
                .register(status())
                .register(stop())
                .register(cont())
                .register(Operation.of("system_reset", (m, a) -> {
                    m.systemReset();
                    return null;
                }).withHmp(Hmp.command("system_reset", "reset the system")))
                .register(Operation.of("system_powerdown", (m, a) -> {
                    m.systemPowerdown();
                    return null;
                }).withHmp(Hmp.command("system_powerdown", "send system power down event")))
                .register(Operation.of("quit", (m, a) -> {
                    m.quit();
                    return null;
                }).withHmp(Hmp.<Object>command("quit", "quit the emulator").withAliases("q")))
                .register(Operation.of("query-version", (m, a) -> version())
                        .withHmp(Hmp.info("version", "show the version of jhv", VersionInfo::hmpText)))
                .register(Operation.of("query-name", (m, a) -> new NameInfo(m.name()))
                        .withHmp(Hmp.info("name", "show the current VM name", NameInfo::hmpText)))
                .register(Operation.of("query-kvm", (m, a) -> new KvmInfo(true, true))
                        .withHmp(Hmp.info("kvm", "show KVM information", KvmInfo::hmpText)))
                .register(Operation.of("query-cpus-fast", (m, a) -> m.cpus().stream()
                                .map(c -> new CpuInfoFast(c.index(), "/machine/unattached/device[" + c.index() + "]",
                                        c.threadId(), "x86_64")).toList())
                        .withHmp(Hmp.info("cpus", "show infos for each CPU", CpuInfoFast::hmpText))).all();
    }

    /** jhv's version as query-version and the QMP greeting give it. */
    public static VersionInfo version() {
        return VersionInfo.parse(Version.VERSION, "");
    }

    /**
     * qmp_capabilities: the QMP session itself handles it before negotiation; once negotiated, running it again
     * gets QEMU's refusal.
     */
    public static Operation<Object> capabilities() {
        return Operation.of("qmp_capabilities", List.of(Parameter.stringList("enable").asOptional()), (m, a) -> {
            throw new CommandException(ErrorClass.CommandNotFound, ALREADY_NEGOTIATED);
        });
    }

    public static Operation<StatusInfo> status() {
        return Operation.of("query-status", (m, a) -> StatusInfo.of(m.runState()))
                .withHmp(Hmp.info("status", "show the current VM status (running|paused)", StatusInfo::hmpText));
    }

    public static Operation<Object> stop() {
        return Operation.of("stop", (m, a) -> {
            m.stop();
            return null;
        }).withHmp(Hmp.command("stop", "stop emulation").withAliases("s"));
    }

    public static Operation<Object> cont() {
        return Operation.of("cont", (m, a) -> {
            m.cont();
            return null;
        }).withHmp(Hmp.command("cont", "resume emulation").withAliases("c"));
    }

    private static List<CommandInfo> commands(OperationTable table) {
        var out = new ArrayList<CommandInfo>();
        for (var op : table.all()) {
            out.add(new CommandInfo(op.name()));
        }
        return out;
    }
}
