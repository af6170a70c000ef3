package dev.jhv.launcher.cli;

import dev.jhv.core.machine.MachineConfig;
import dev.jhv.core.net.NetdevConfig;
import dev.jhv.devices.board.BoardConfig;
import dev.jhv.devices.board.DeviceSpec;
import dev.jhv.devices.board.DriveSpec;
import dev.jhv.devices.fwcfg.FwCfgUserItem;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;
import picocli.CommandLine.ParseResult;

/**
 * Reads jhv's command line, spelled as QEMU spells it ({@code -m 512 -smp 2 -nographic disk.img}).
 * Picocli does the tokenising (built through its programmatic API: no annotations, no reflection);
 * the values are checked here so that every error is one QEMU-style line.
 */
public final class CommandLineParser {
    /** What the command line asks for. */
    public sealed interface Result {
        record Run(LaunchOptions options) implements Result { }

        record Help(String text) implements Result { }

        record Version(String text) implements Result { }
    }

    static final long DEFAULT_MEMORY = 128L << 20;
    static final long MIN_MEMORY = 16L << 20;
    static final long MAX_MEMORY = 1L << 40;
    static final String DEFAULT_CPU = "qemu64";
    /** The models jhv defines (QEMU has more; these are the ones the issue asks for). */
    static final Set<String> CPU_MODELS = Set.of("host", "qemu64", "kvm64", "max");

    /** One option as jhv knows it: its QEMU name, its argument (null: a flag), one help line. */
    private record Opt(String name, String arg, String help, boolean repeatable) { }

    private static final List<Opt> OPTIONS = List.of(
            new Opt("-h", null, "display this help and exit (also --help)", false),
            new Opt("--version", null, "display version information and exit", false),
            new Opt("--demo", null, "boot the demo guest (guest-images/out/testos.bin) with -smp 2 -m 256 -nographic",
                    false),
            new Opt("-machine", "[type=]pc[,accel=kvm]", "selects the emulated machine (only 'pc'); -M is the same",
                    true),
            new Opt("-M", "pc", "same as -machine", true),
            new Opt("-cpu", "model", "select the CPU model: host, qemu64 (default), kvm64, max", false),
            new Opt("-accel", "kvm", "select the accelerator (only kvm, always on)", true),
            new Opt("-enable-kvm", null, "accepted for QEMU compatibility: KVM is always used", false),
            new Opt("-smp", "[cpus=]n[,maxcpus=..][,sockets=..][,cores=..][,threads=..]",
                    "set the number of CPUs and their topology", false),
            new Opt("-m", "[size=]megs[M|G]", "set the guest RAM size (default 128 MiB; a bare number is in MiB)",
                    false),
            new Opt("-name", "string", "set the name of the guest", false),
            new Opt("-kernel", "bzImage", "boot a Linux kernel (bzImage, or an ELF vmlinux with a PVH note)", false),
            new Opt("-initrd", "file", "use 'file' as the initial ram disk", false),
            new Opt("-append", "cmdline", "use 'cmdline' as the kernel command line", false),
            new Opt("-drive", "[file=..][,format=raw|qcow2][,if=ide|virtio|none][,index=n][,media=disk|cdrom][,id=..]"
                    + "[,readonly=on|off][,cache=writeback|none|writethrough|directsync|unsafe][,snapshot=on|off]",
                    "add a drive", true),
            new Opt("-hda", "file", "use 'file' as IDE hard disk 0 image", false),
            new Opt("-hdb", "file", "use 'file' as IDE hard disk 1 image", false),
            new Opt("-hdc", "file", "use 'file' as IDE hard disk 2 image", false),
            new Opt("-hdd", "file", "use 'file' as IDE hard disk 3 image", false),
            new Opt("-cdrom", "file", "use 'file' as IDE cdrom image (cdrom is ide1 master)", false),
            new Opt("-snapshot", null, "write to temporary files instead of disk image files", false),
            new Opt("-boot", "[order=drives][,menu=on|off][,strict=on|off]",
                    "'drives': c disk, d CD-ROM (default order cad); a bare 'drives' is order=drives", false),
            new Opt("-bios", "file", "set the filename for the BIOS (default: Debian's SeaBIOS)", false),
            new Opt("-fw_cfg", "[name=]name,file=path|string=text", "add a named fw_cfg entry", true),
            new Opt("-device", "isa-debug-exit[,iobase=0x501][,iosize=2]", "add a device", true),
            new Opt("-netdev", "tap|stream|user,id=id[,...]", "a network backend: tap,id=..,ifname=..,script=no,"
                    + "downscript=no[,vnet_hdr=on|off]; stream,id=..,addr.type=unix,addr.path=..[,server=on|off] "
                    + "(passt); user,id=..[,net=addr/mask][,host=..][,dns=..][,dhcpstart=..][,restrict=on|off]"
                    + "[,hostfwd=tcp|udp:[hostaddr]:hostport-[guestaddr]:guestport]...", true),
            new Opt("-nic", "tap|stream|user[,...],model=virtio-net-pci[,mac=..]",
                    "a network backend and its NIC in one (-nic none: no NIC)", true),
            new Opt("-serial", "dev", "redirect COM1 to 'dev': stdio, null, none, file:path, unix:path[,server]"
                    + "[,nowait], tcp:host:port[,server][,nowait], mon:stdio", true),
            new Opt("-monitor", "dev", "redirect the HMP monitor to 'dev' (same forms as -serial)", true),
            new Opt("-qmp", "dev", "a QMP (JSON) monitor on 'dev': unix:path,server,nowait, tcp:host:port,server,"
                    + "nowait, stdio", true),
            new Opt("-chardev", "backend,id=id[,...]", "a character device for -mon: socket,id=..,path=..|host=..,"
                    + "port=..[,server=on][,wait=off], stdio,id=.., null,id=.., file,id=..,path=..", true),
            new Opt("-mon", "chardev=id[,mode=readline|control]", "a monitor on a -chardev: readline is HMP, "
                    + "control is QMP", true),
            new Opt("-nographic", null, "no display: COM1 and the monitor share stdio (Ctrl-A h for help)", false),
            new Opt("-display", "none", "select the display (only 'none')", false),
            new Opt("-S", null, "do not start the CPUs at start-up (use 'cont' in the monitor)", false),
            new Opt("-no-reboot", null, "exit instead of rebooting", false),
            new Opt("-no-shutdown", null, "stop (paused) instead of exiting when the guest powers off", false),
            new Opt("-incoming", "uri", "wait for an incoming migration: tcp:host:port, unix:path, fd:n, exec:cmd, file:path or defer (then run, or wait "
                    + "for 'cont' with -S)", false),
            new Opt("-loadvm", "tag", "start from the internal snapshot 'tag' of the qcow2 drives", false),
            new Opt("-object", "tls-creds-x509,id=id,dir=dir,endpoint=server|client[,verify-peer=on|off]",
                    "TLS credentials for migration (tls-creds): ca-cert.pem and server-/client-cert.pem, -key.pem "
                    + "in dir", true));

    private CommandLineParser() { }

    /**
     * Parses {@code args}. {@code root} is the jhv checkout (the jhv.root property) where --demo finds its guest.
     *
     * @throws UsageException with the one line to print after "jhv: "
     */
    public static Result parse(List<String> args, Path root) {
        ParseResult pr = tokenize(args);
        if (pr.hasMatchedOption("-h")) {
            return new Result.Help(helpText());
        }
        if (pr.hasMatchedOption("--version")) {
            return new Result.Version("jhv version " + Version.VERSION);
        }
        return new Result.Run(new Builder(pr, root).build());
    }

    private static ParseResult tokenize(List<String> args) {
        var spec = CommandSpec.create();
        for (Opt o : OPTIONS) {
            var names = switch (o.name()) {
                case "-h" -> new String[] {"-h", "-help", "--help"};
                case "--version" -> new String[] {"--version", "-version"};
                case "--demo" -> new String[] {"--demo", "-demo"};
                default -> new String[] {o.name()};
            };
            var b = OptionSpec.builder(names);
            if (o.arg() == null) {
                b.arity("0").type(boolean.class);
            } else if (o.repeatable()) {
                b.arity("1").type(List.class).auxiliaryTypes(String.class);
            } else {
                b.arity("1").type(String.class);
            }
            spec.addOption(b.build());
        }
        spec.addPositional(PositionalParamSpec.builder().index("0").arity("0..1").type(String.class).build());
        var cl = new CommandLine(spec);
        cl.setOverwrittenOptionsAllowed(true);      // QEMU: the last -m wins
        cl.setPosixClusteredShortOptionsAllowed(false);
        cl.setExpandAtFiles(false);
        cl.setUnmatchedOptionsAllowedAsOptionParameters(true);
        cl.setToggleBooleanFlags(false);
        try {
            return cl.parseArgs(normalize(args).toArray(String[]::new));
        } catch (CommandLine.UnmatchedArgumentException e) {
            String first = e.getUnmatched().isEmpty() ? "?" : e.getUnmatched().get(0);
            throw new UsageException(first.startsWith("-")
                    ? first + ": invalid option"
                    : first + ": only one disk image may be given (use -drive for more)");
        } catch (CommandLine.MissingParameterException e) {
            String name = e.getMissing().isEmpty() || !(e.getMissing().get(0) instanceof OptionSpec os)
                    ? "option" : os.names()[0];
            throw new UsageException(name + ": requires an argument");
        } catch (CommandLine.ParameterException e) {
            throw new UsageException(e.getMessage());
        }
    }

    /** QEMU takes "--opt" for "-opt"; map the double-dash forms of single-dash options. */
    private static List<String> normalize(List<String> args) {
        var out = new ArrayList<String>(args.size());
        boolean expectValue = false;
        for (String a : args) {
            if (!expectValue && a.startsWith("--") && a.length() > 2) {
                String single = a.substring(1);
                if (OPTIONS.stream().anyMatch(o -> o.name().equals(single))) {
                    a = single;
                }
            }
            String name = a;
            expectValue = !expectValue && OPTIONS.stream().anyMatch(o -> o.name().equals(name) && o.arg() != null);
            out.add(a);
        }
        return out;
    }

    /** The -h text. */
    public static String helpText() {
        var sb = new StringBuilder();
        sb.append("usage: jhv [options] [disk-image]\n\n");
        sb.append("'disk-image' is a raw or qcow2 hard disk image for IDE hard disk 0\n\n");
        sb.append("Options:\n");
        for (Opt o : OPTIONS) {
            String left = o.name() + (o.arg() == null ? "" : " " + o.arg());
            if (left.length() < 24) {
                sb.append(String.format("%-24s %s%n", left, o.help()));
            } else {
                sb.append(left).append('\n').append(" ".repeat(25)).append(o.help()).append('\n');
            }
        }
        sb.append("\nDuring -nographic emulation, Ctrl-A h lists the console keys.\n");
        return sb.toString();
    }

    /** Turns matched options into a LaunchOptions, checking each value. */
    private static final class Builder {
        private final ParseResult pr;
        private final Path root;

        Builder(ParseResult pr, Path root) {
            this.pr = pr;
            this.root = root;
        }

        private String value(String option) {
            return pr.matchedOptionValue(option, null);
        }

        private List<String> values(String option) {
            List<String> v = pr.matchedOptionValue(option, null);
            return v == null ? List.of() : v;
        }

        private boolean flag(String option) {
            return pr.hasMatchedOption(option);
        }

        /** Runs a check whose IllegalArgumentException message becomes "option value: message". */
        private static <T> T checked(String option, String value, java.util.function.Supplier<T> check) {
            try {
                return check.get();
            } catch (IllegalArgumentException e) {
                throw UsageException.forOption(option, value, e.getMessage());
            }
        }

        LaunchOptions build() {
            boolean demo = flag("--demo");
            for (String m : concat(values("-machine"), values("-M"))) {
                checked("-machine", m, () -> machine(m));
            }
            for (String a : values("-accel")) {
                checked("-accel", a, () -> accel(KeyValueList.parse(a, "accel", Set.of()), "accel"));
            }
            long memory = memory(demo);
            var smp = value("-smp") != null
                    ? checked("-smp", value("-smp"), () -> SmpParser.parse(value("-smp")))
                    : MachineConfig.Smp.of(demo ? 2 : 1);
            String cpu = value("-cpu") != null ? value("-cpu") : DEFAULT_CPU;
            String model = cpu.contains(",") ? cpu.substring(0, cpu.indexOf(',')) : cpu;
            if (!CPU_MODELS.contains(model)) {
                // features after the comma are left to the machine, which knows what KVM offers
                throw UsageException.forOption("-cpu", cpu, "unable to find CPU model '" + model + "'");
            }
            String name = value("-name") == null ? null : checked("-name", value("-name"), () -> {
                var kv = KeyValueList.parse(value("-name"), "guest", Set.of());
                String guest = kv.take("guest");
                kv.take("process");
                kv.take("debug-threads");
                kv.rejectUnknown("");
                return guest;
            });

            Path kernel = null;
            if (value("-kernel") != null) {
                kernel = readable("-kernel", value("-kernel"), "could not open kernel file");
            } else if (demo) {
                kernel = root.resolve("guest-images/out/testos.bin");
                if (!Files.isReadable(kernel)) {
                    throw new UsageException("--demo: the demo guest is missing: " + kernel
                            + " (build it with guest-images/build)");
                }
            }
            Path initrd = null;
            if (value("-initrd") != null) {
                if (kernel == null) {
                    throw new UsageException("-initrd only allowed with -kernel option");
                }
                initrd = readable("-initrd", value("-initrd"), "could not load initial ram disk");
            }
            String append = value("-append");
            if (append != null && kernel == null) {
                throw new UsageException("-append only allowed with -kernel option");
            }
            if (append == null && demo && value("-kernel") == null) {
                append = "hb=1000";
            }

            var devices = new ArrayList<DeviceSpec>();
            for (String d : values("-device")) {
                devices.add(checked("-device", d, () -> DeviceOption.parse(d)));
            }
            var netdevs = netdevs(devices);
            var drives = new DriveTable(flag("-snapshot"));
            // QEMU's order: the shorthands first (-hda…, -cdrom, the image), then -drive in command-line order
            String image = pr.matchedPositionalValue(0, null);
            if (image != null) {
                drives.add(image, DriveSpec.ideDisk(openable(image, image, false), 0, image));
            }
            String[] hd = {"-hda", "-hdb", "-hdc", "-hdd"};
            for (int i = 0; i < hd.length; i++) {
                String f = value(hd[i]);
                if (f != null) {
                    drives.add(hd[i] + " " + f, DriveSpec.ideDisk(openable(hd[i], f, false), i, hd[i] + " " + f));
                }
            }
            if (value("-cdrom") != null) {
                String f = value("-cdrom");
                drives.add("-cdrom " + f, DriveSpec.ideCdrom(f.isEmpty() ? null : openable("-cdrom", f, true),
                        "-cdrom " + f));
            }
            for (String d : values("-drive")) {
                drives.add("-drive " + d, checked("-drive", d, () -> drive(d)));
            }
            BoardConfig.BootOrder boot = value("-boot") == null ? BoardConfig.BootOrder.DEFAULT
                    : checked("-boot", value("-boot"), () -> bootOrder(value("-boot")));
            Path bios = value("-bios") == null ? null : readable("-bios", value("-bios"), "could not load PC BIOS");
            var fwCfg = new ArrayList<FwCfgUserItem>();
            for (String f : values("-fw_cfg")) {
                fwCfg.add(checked("-fw_cfg", f, () -> fwCfgItem(f)));
            }

            tlsObjects();
            String incoming = value("-incoming");
            if (incoming != null && !incoming.equals("defer")) {
                try {
                    dev.jhv.migration.channel.MigrationUri.parse(incoming);
                } catch (IllegalArgumentException e) {
                    throw new UsageException("-incoming " + incoming + ": " + e.getMessage());
                }
            }
            String loadvm = value("-loadvm");
            if (incoming != null && loadvm != null) {
                throw new UsageException("-incoming and -loadvm cannot be used together");
            }
            var machine = new MachineConfig(name, memory, smp, cpu, kernel, initrd, append,
                    flag("-S"), flag("-no-reboot"), flag("-no-shutdown"), incoming, loadvm);
            var allDevices = drives.withDevices(values("-device"), devices);
            return chardevs(new BoardConfig(machine, drives.list(), allDevices, bios, boot, fwCfg, netdevs), demo);
        }

        /** -object tls-creds-x509: defined for the process, as QEMU's objects are, for tls-creds to name. */
        private void tlsObjects() {
            var ids = new java.util.HashSet<String>();
            for (String o : values("-object")) {
                var c = checked("-object", o, () -> dev.jhv.migration.tls.TlsCredentials.parse(o));
                if (!ids.add(c.id())) {
                    throw UsageException.forOption("-object", o, "attempt to add duplicate property '" + c.id()
                            + "' to object (type 'container')");
                }
                dev.jhv.migration.tls.TlsCredentials.define(c);
            }
        }

        /** -netdev and -nic: the backends in order; a -nic's NIC joins {@code devices}. Checks ids and peers. */
        private List<NetdevConfig> netdevs(List<DeviceSpec> devices) {
            var netdevs = new ArrayList<NetdevConfig>();
            var deviceTexts = new ArrayList<>(values("-device"));
            for (String n : values("-netdev")) {
                NetdevConfig c = checked("-netdev", n, () -> NetdevOption.parse(n));
                if (netdevs.stream().anyMatch(o -> o.id().equals(c.id()))) {
                    throw UsageException.forOption("-netdev", n, "Duplicate ID '" + c.id() + "' for netdev");
                }
                netdevs.add(c);
            }
            int index = 0;
            for (String n : values("-nic")) {
                int i = index++;
                var nic = checked("-nic", n, () -> NetdevOption.parseNic(n, i));
                if (nic.isPresent()) {
                    if (netdevs.stream().anyMatch(o -> o.id().equals(nic.get().netdev().id()))) {
                        throw UsageException.forOption("-nic", n, "Duplicate ID '" + nic.get().netdev().id()
                                + "' for netdev");
                    }
                    netdevs.add(nic.get().netdev());
                    devices.add(nic.get().device());
                    deviceTexts.add(null);
                }
            }
            NetdevOption.checkPeers(netdevs, devices, deviceTexts);
            return netdevs;
        }

        private LaunchOptions chardevs(BoardConfig machine, boolean demo) {
            boolean displayNone = false;
            if (value("-display") != null) {
                String d = value("-display");
                String type = d.contains(",") ? d.substring(0, d.indexOf(',')) : d;
                switch (type) {
                    case "none" -> displayNone = true;
                    case "gtk", "sdl", "curses", "vnc", "egl-headless", "spice-app", "dbus", "cocoa", "default" ->
                            throw UsageException.forOption("-display", d, "display '" + type + "' is not available");
                    default -> throw UsageException.forOption("-display", d,
                            "Parameter 'type' does not accept value '" + type + "'");
                }
            }
            var serials = values("-serial");
            var serialSpecs = new ArrayList<ChardevSpec>();
            for (String s : serials) {
                serialSpecs.add(checked("-serial", s, () -> ChardevSpec.parse(s)));
            }
            if (serialSpecs.size() > 1) {
                throw UsageException.forOption("-serial", serials.get(1),
                        "only one serial port (COM1) is supported so far");
            }
            var monitorSpecs = new ArrayList<ChardevSpec>();
            var qmpSpecs = new ArrayList<ChardevSpec>();
            for (String q : values("-qmp")) {
                var spec = checked("-qmp", q, () -> ChardevSpec.parse(q));
                if (spec instanceof ChardevSpec.Mon) {
                    throw UsageException.forOption("-qmp", q, "a QMP monitor cannot share its device");
                }
                if (!(spec instanceof ChardevSpec.None)) {
                    qmpSpecs.add(spec);
                }
            }
            var chardevs = new java.util.LinkedHashMap<String, ChardevSpec>();
            for (String c : values("-chardev")) {
                checked("-chardev", c, () -> {
                    var id = ChardevSpec.parseChardevOption(c, chardevs::put);
                    return id;
                });
            }
            for (String m : values("-mon")) {
                checked("-mon", m, () -> {
                    var kv = KeyValueList.parse(m, "chardev", Set.of("pretty"));
                    String id = kv.take("chardev");
                    String mode = kv.take("mode");
                    kv.takeBoolean("pretty", "pretty");
                    kv.rejectUnknown("");
                    if (id == null) {
                        throw new IllegalArgumentException("Parameter 'chardev' is missing");
                    }
                    ChardevSpec spec = chardevs.get(id);
                    if (spec == null) {
                        throw new IllegalArgumentException("chardev \"" + id + "\" not found");
                    }
                    switch (mode == null ? "readline" : mode) {
                        case "readline" -> monitorSpecs.add(spec);
                        case "control" -> qmpSpecs.add(spec);
                        default -> throw new IllegalArgumentException("Parameter 'mode' does not accept value '"
                                + mode + "'");
                    }
                    return null;
                });
            }
            for (String m : values("-monitor")) {
                var spec = checked("-monitor", m, () -> ChardevSpec.parse(m));
                if (spec instanceof ChardevSpec.Mon(var inner)) {
                    spec = inner;
                }
                if (!(spec instanceof ChardevSpec.None)) {
                    monitorSpecs.add(spec);
                }
            }
            boolean defaultSerial = serialSpecs.isEmpty();
            // as in QEMU, "-serial mon:..." carries the monitor: no default one on stdio besides it
            boolean defaultMonitor = values("-monitor").isEmpty()
                    && serialSpecs.stream().noneMatch(ChardevSpec.Mon.class::isInstance);
            boolean nographic = flag("-nographic")
                    || (demo && defaultSerial && defaultMonitor && value("-display") == null);

            ChardevSpec serial;
            if (nographic && defaultSerial && defaultMonitor) {
                serial = new ChardevSpec.Mon(new ChardevSpec.Stdio());
            } else {
                if (defaultSerial) {
                    // Without -nographic QEMU sends COM1 to a virtual console; jhv has no display yet: nowhere.
                    serial = nographic ? new ChardevSpec.Stdio() : new ChardevSpec.Null();
                } else {
                    serial = serialSpecs.get(0);
                }
                if (nographic && defaultMonitor) {
                    monitorSpecs.add(new ChardevSpec.Stdio());
                }
            }
            // QEMU opens the monitors first, so the later user of stdio is the one that fails
            long monitorsOnStdio = monitorSpecs.stream().filter(ChardevSpec::usesStdio).count()
                    + qmpSpecs.stream().filter(ChardevSpec::usesStdio).count();
            if (monitorsOnStdio > 1) {
                throw UsageException.forOption("-monitor", "stdio", "cannot use stdio by multiple character devices");
            }
            if (monitorsOnStdio == 1 && serial.usesStdio()) {
                throw UsageException.forOption("-serial", defaultSerial ? "stdio" : serials.get(0),
                        "cannot use stdio by multiple character devices");
            }
            return new LaunchOptions(machine, serial, monitorSpecs, qmpSpecs, nographic, displayNone, demo);
        }

        private long memory(boolean demo) {
            String text = value("-m");
            if (text == null) {
                return demo ? 256L << 20 : DEFAULT_MEMORY;
            }
            return checked("-m", text, () -> {
                var kv = KeyValueList.parse(text, "size", Set.of());
                String size = kv.take("size");
                if (kv.firstUnknown() != null) {
                    String k = kv.firstUnknown();
                    throw new IllegalArgumentException(k.equals("slots") || k.equals("maxmem")
                            ? "memory hotplug (slots, maxmem) is not supported"
                            : "Parameter '" + k + "' is unexpected");
                }
                if (size == null) {
                    throw new IllegalArgumentException("missing 'size' option value");
                }
                long bytes = SizeParser.parse(size, 1L << 20);
                if (bytes < MIN_MEMORY) {
                    throw new IllegalArgumentException("too little memory: " + describe(bytes)
                            + " (at least " + (MIN_MEMORY >> 20) + " MiB)");
                }
                if (bytes > MAX_MEMORY) {
                    throw new IllegalArgumentException("ram size too large");
                }
                return (bytes + 8191) & ~8191L;     // QEMU aligns RAM to 8 KiB
            });
        }

        private static String describe(long bytes) {
            return bytes % (1 << 20) == 0 ? (bytes >> 20) + " MiB" : bytes + " bytes";
        }

        private static Void machine(String text) {
            var kv = KeyValueList.parse(text, "type", Set.of());
            String type = kv.take("type");
            if (type != null) {
                if (type.equals("q35") || type.startsWith("pc-q35")) {
                    throw new IllegalArgumentException("machine type '" + type + "' is not supported yet");
                }
                if (!type.equals("pc") && !type.startsWith("pc-i440fx")) {
                    throw new IllegalArgumentException("unsupported machine type '" + type + "'");
                }
            }
            if (kv.has("accel")) {
                accel(kv, "accel");
            }
            String unknown = kv.firstUnknown();
            if (unknown != null) {
                throw new IllegalArgumentException("Property 'pc-machine." + unknown + "' not found");
            }
            return null;
        }

        private static Void accel(KeyValueList kv, String key) {
            String name = kv.take(key);
            for (String a : name == null ? new String[0] : name.split(":")) {
                switch (a) {
                    case "kvm" -> { }
                    case "tcg", "xen", "hax", "whpx", "hvf", "nvmm", "qtest" -> throw new IllegalArgumentException(
                            "accelerator '" + a + "' is not supported: jhv runs on KVM only");
                    default -> throw new IllegalArgumentException("invalid accelerator " + a);
                }
            }
            return null;
        }

        private static DriveSpec drive(String text) {
            var kv = KeyValueList.parse(text, null, Set.of());
            String file = kv.take("file");
            String format = kv.take("format");
            String iface = kv.take("if");
            String id = kv.take("id");
            Boolean ro = kv.takeBoolean("readonly", "read-only");
            Boolean ro2 = kv.takeBoolean("read-only", "read-only");
            String media = kv.take("media");
            String cache = kv.take("cache");
            Boolean snapshot = kv.takeBoolean("snapshot", "snapshot");
            Long index = kv.takeUnsigned("index", "index");
            Long bus = kv.takeUnsigned("bus", "bus");
            Long unit = kv.takeUnsigned("unit", "unit");
            kv.take("aio");       // the host's I/O engine: jhv's backends choose their own
            kv.take("discard");
            kv.take("werror");
            kv.take("rerror");
            String unknown = kv.firstUnknown();
            if (unknown != null) {
                throw new IllegalArgumentException("Invalid parameter '" + unknown + "'");
            }
            if (format != null && !format.equals("raw") && !format.equals("qcow2")) {
                throw new IllegalArgumentException("Unknown driver '" + format + "'");
            }
            DriveSpec.Interface bus0 = iface == null ? DriveSpec.Interface.IDE : DriveSpec.Interface.byName(iface);
            DriveSpec.Media m = switch (media == null ? "disk" : media) {
                case "disk" -> DriveSpec.Media.DISK;
                case "cdrom" -> DriveSpec.Media.CDROM;
                default -> throw new IllegalArgumentException("'" + media + "' invalid media");
            };
            if ((file == null || file.isEmpty()) && m != DriveSpec.Media.CDROM) {
                throw new IllegalArgumentException("a drive needs file= (only a CD-ROM may be empty)");
            }
            int idx = -1;
            if (index != null) {
                if (bus != null || unit != null) {
                    throw new IllegalArgumentException("index cannot be used with bus and unit");
                }
                idx = (int) Math.min(index, Integer.MAX_VALUE);
            } else if (bus != null || unit != null) {
                idx = (int) Math.min(2 * (bus == null ? 0 : bus) + (unit == null ? 0 : unit), Integer.MAX_VALUE);
                if (unit != null && unit > 1 && bus0 == DriveSpec.Interface.IDE) {
                    throw new IllegalArgumentException("unit " + unit + " too big (max is 1)");
                }
            }
            if (bus0 == DriveSpec.Interface.IDE && idx > 3) {
                throw new IllegalArgumentException("index " + idx + " too big: the PC has IDE buses 0 and 1, two "
                        + "units each (index 0-3)");
            }
            boolean readOnly = Boolean.TRUE.equals(ro) || Boolean.TRUE.equals(ro2) || m == DriveSpec.Media.CDROM;
            Path path = file == null || file.isEmpty() ? null : openableOrThrow(file, readOnly);
            return new DriveSpec(path, format, bus0, idx, m, id, readOnly,
                    cache == null ? DriveSpec.Cache.WRITEBACK : DriveSpec.Cache.byName(cache),
                    Boolean.TRUE.equals(snapshot), "-drive " + text);
        }

        /** -boot order=cd,menu=on,strict=on, or QEMU's legacy bare "cd". */
        private static BoardConfig.BootOrder bootOrder(String text) {
            var kv = KeyValueList.parse(text, "order", Set.of());
            String order = kv.take("order");
            String once = kv.take("once");
            Boolean menu = kv.takeBoolean("menu", "menu");
            Boolean strict = kv.takeBoolean("strict", "strict");
            kv.take("splash");
            kv.take("splash-time");
            kv.take("reboot-timeout");
            String unknown = kv.firstUnknown();
            if (unknown != null) {
                throw new IllegalArgumentException("Invalid parameter '" + unknown + "'");
            }
            String o = once != null ? once : order == null ? BoardConfig.BootOrder.DEFAULT.order() : order;
            for (char c : o.toCharArray()) {
                if (c < 'a' || c > 'p') {
                    throw new IllegalArgumentException("Invalid boot device '" + c + "'");
                }
                if (o.indexOf(c) != o.lastIndexOf(c)) {
                    throw new IllegalArgumentException("Boot device '" + c + "' was given twice");
                }
            }
            return new BoardConfig.BootOrder(o, Boolean.TRUE.equals(menu), Boolean.TRUE.equals(strict));
        }

        /** -fw_cfg [name=]NAME,file=PATH or string=TEXT, checked (and the file read) as QEMU does. */
        private static FwCfgUserItem fwCfgItem(String text) {
            var kv = KeyValueList.parse(text, "name", Set.of());
            String name = kv.take("name");
            String file = kv.take("file");
            String string = kv.take("string");
            String unknown = kv.firstUnknown();
            if (unknown != null) {
                throw new IllegalArgumentException("Invalid parameter '" + unknown + "'");
            }
            FwCfgUserItem item;
            try {
                item = FwCfgUserItem.of(name, file, string);
            } catch (dev.jhv.devices.DeviceException e) {
                throw new IllegalArgumentException(e.getMessage().replaceFirst("^-fw_cfg: ", ""));
            }
            item.warning().ifPresent(w -> System.err.println("jhv: -fw_cfg " + text + ": " + w));
            return item;
        }

        /** A disk image (positional): "img: Could not open 'img': No such file or directory". */
        private static Path openable(String option, String file, boolean readOnly) {
            try {
                return openableOrThrow(file, readOnly);
            } catch (IllegalArgumentException e) {
                throw new UsageException(option + ": " + e.getMessage());
            }
        }

        private static Path openableOrThrow(String file, boolean readOnly) {
            Path p = dev.jhv.core.sys.HostPaths.of(file);
            String problem = openProblem(p, readOnly);
            if (problem != null) {
                throw new IllegalArgumentException("Could not open '" + file + "': " + problem);
            }
            return p;
        }

        /** A kernel or initrd: QEMU's "could not open kernel file '/x': No such file or directory". */
        private static Path readable(String option, String file, String what) {
            Path p;
            try {
                p = dev.jhv.core.sys.HostPaths.of(file);
            } catch (IllegalArgumentException e) {
                throw UsageException.forOption(option, file, e.getMessage());
            }
            String problem = openProblem(p, true);
            if (problem != null) {
                throw UsageException.forOption(option, file, what + " '" + file + "': " + problem);
            }
            return p;
        }

        /** Null when the file opens as asked, else strerror's words for why not. */
        private static String openProblem(Path p, boolean readOnly) {
            if (Files.isDirectory(p)) {
                return "Is a directory";
            }
            var mode = readOnly ? new StandardOpenOption[] {StandardOpenOption.READ}
                    : new StandardOpenOption[] {StandardOpenOption.READ, StandardOpenOption.WRITE};
            try (var ch = FileChannel.open(p, mode)) {
                return null;
            } catch (NoSuchFileException e) {
                return "No such file or directory";
            } catch (AccessDeniedException e) {
                return "Permission denied";
            } catch (IOException | UnsupportedOperationException e) {
                return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            }
        }

        private static List<String> concat(List<String> a, List<String> b) {
            var all = new ArrayList<String>(a);
            all.addAll(b);
            return all;
        }
    }
}
