package dev.jhv.launcher.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.jhv.core.machine.MachineConfig;
import dev.jhv.devices.board.DeviceSpec;
import dev.jhv.devices.board.DriveSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CommandLineParserTest {
    @TempDir
    Path dir;
    Path kernel;
    Path disk;

    @BeforeEach
    void files() throws IOException {
        kernel = Files.write(dir.resolve("bzImage"), new byte[] {1, 2, 3});
        disk = Files.write(dir.resolve("disk.img"), new byte[512]);
    }

    private LaunchOptions parse(String... args) {
        var r = CommandLineParser.parse(List.of(args), dir);
        assertThat(r).isInstanceOf(CommandLineParser.Result.Run.class);
        return ((CommandLineParser.Result.Run) r).options();
    }

    private String error(String... args) {
        try {
            CommandLineParser.parse(List.of(args), dir);
        } catch (UsageException e) {
            assertThat(e.getMessage()).doesNotContain("\n");
            return e.getMessage();
        }
        throw new AssertionError("no error for " + List.of(args));
    }

    // ---- defaults and values

    @Test
    void onlyASocketServerWithoutNowaitWaitsForAClient() {
        assertThat(ChardevSpec.parse("unix:/tmp/m.sock,server").waitsForClient()).isTrue();
        assertThat(ChardevSpec.parse("tcp::4444,server").waitsForClient()).isTrue();
        assertThat(ChardevSpec.parse("mon:unix:/tmp/m.sock,server").waitsForClient()).isTrue();
        assertThat(ChardevSpec.parse("unix:/tmp/m.sock,server,nowait").waitsForClient()).isFalse();
        assertThat(ChardevSpec.parse("unix:/tmp/m.sock").waitsForClient()).isFalse();
        assertThat(ChardevSpec.parse("stdio").waitsForClient()).isFalse();
    }

    @Test
    void defaultsFollowQemu() {
        var o = parse();
        MachineConfig m = o.machine();
        assertThat(m.memoryBytes()).isEqualTo(128L << 20);
        assertThat(m.smp()).isEqualTo(new MachineConfig.Smp(1, 1, 1, 1, 1));
        assertThat(m.cpuModel()).isEqualTo("qemu64");
        assertThat(m.kernel()).isNull();
        assertThat(m.startPaused()).isFalse();
        assertThat(m.noReboot()).isFalse();
        assertThat(m.noShutdown()).isFalse();
        assertThat(o.board().debugExits()).isEmpty();
        assertThat(o.board().drives()).isEmpty();
        assertThat(o.serial()).isEqualTo(new ChardevSpec.Null());
        assertThat(o.monitors()).isEmpty();
        assertThat(o.nographic()).isFalse();
        assertThat(o.demo()).isFalse();
    }

    @Test
    void memorySpellings() {
        assertThat(parse("-m", "512").machine().memoryBytes()).isEqualTo(512L << 20);
        assertThat(parse("-m", "512M").machine().memoryBytes()).isEqualTo(512L << 20);
        assertThat(parse("-m", "2G").machine().memoryBytes()).isEqualTo(2L << 30);
        assertThat(parse("-m", "2g").machine().memoryBytes()).isEqualTo(2L << 30);
        assertThat(parse("-m", "size=2G").machine().memoryBytes()).isEqualTo(2L << 30);
        assertThat(parse("-m", "1.5G").machine().memoryBytes()).isEqualTo(3L << 29);
        assertThat(parse("-m", "65536k").machine().memoryBytes()).isEqualTo(64L << 20);
        assertThat(parse("--m", "256").machine().memoryBytes()).isEqualTo(256L << 20);
        assertThat(parse("-m", "64", "-m", "96").machine().memoryBytes()).as("last one wins").isEqualTo(96L << 20);
    }

    @Test
    void memoryErrors() {
        assertThat(error("-m", "foo")).isEqualTo("-m foo: invalid size 'foo'");
        assertThat(error("-m", "12X")).isEqualTo("-m 12X: invalid size '12X'");
        assertThat(error("-m", "-5")).isEqualTo("-m -5: invalid size '-5'");
        assertThat(error("-m", "")).isEqualTo("-m : invalid size ''");
        assertThat(error("-m", "8")).isEqualTo("-m 8: too little memory: 8 MiB (at least 16 MiB)");
        assertThat(error("-m", "0")).startsWith("-m 0: too little memory");
        assertThat(error("-m", "4T")).isEqualTo("-m 4T: ram size too large");
        assertThat(error("-m", "99999999999E")).startsWith("-m 99999999999E: ");
        assertThat(error("-m", "size=1G,maxmem=4G")).contains("memory hotplug");
        assertThat(error("-m", "size=1G,bogus=1")).isEqualTo("-m size=1G,bogus=1: Parameter 'bogus' is unexpected");
        assertThat(error("-m")).isEqualTo("-m: requires an argument");
    }

    @Test
    void smpForms() {
        assertThat(parse("-smp", "4").machine().smp()).isEqualTo(new MachineConfig.Smp(4, 4, 1, 4, 1));
        assertThat(parse("-smp", "cpus=4").machine().smp()).isEqualTo(new MachineConfig.Smp(4, 4, 1, 4, 1));
        assertThat(parse("-smp", "sockets=2,cores=2,threads=2").machine().smp())
                .isEqualTo(new MachineConfig.Smp(8, 8, 2, 2, 2));
        assertThat(parse("-smp", "4,sockets=2").machine().smp()).isEqualTo(new MachineConfig.Smp(4, 4, 2, 2, 1));
        assertThat(parse("-smp", "4,cores=2").machine().smp()).isEqualTo(new MachineConfig.Smp(4, 4, 2, 2, 1));
        assertThat(parse("-smp", "8,sockets=2,cores=2").machine().smp())
                .isEqualTo(new MachineConfig.Smp(8, 8, 2, 2, 2));
        assertThat(parse("-smp", "2,maxcpus=4").machine().smp()).isEqualTo(new MachineConfig.Smp(2, 4, 1, 4, 1));
        assertThat(parse("-smp", "1,dies=1").machine().smp()).isEqualTo(new MachineConfig.Smp(1, 1, 1, 1, 1));
    }

    @Test
    void smpErrors() {
        assertThat(error("-smp", "0")).isEqualTo(
                "-smp 0: Invalid CPU topology: CPU topology parameters must be greater than zero");
        assertThat(error("-smp", "foo")).isEqualTo("-smp foo: Parameter 'smp.cpus' expects integer");
        assertThat(error("-smp", "2,bogus=1")).isEqualTo("-smp 2,bogus=1: Parameter 'smp.bogus' is unexpected");
        assertThat(error("-smp", "300")).isEqualTo(
                "-smp 300: Invalid SMP CPUs 300. The max CPUs supported by machine 'pc' is 255");
        assertThat(error("-smp", "cpus=4,sockets=3")).isEqualTo("-smp cpus=4,sockets=3: Invalid CPU topology: "
                + "product of the hierarchy must match maxcpus: sockets (3) * cores (1) * threads (1) != maxcpus (4)");
        assertThat(error("-smp", "4,maxcpus=2")).isEqualTo("-smp 4,maxcpus=2: Invalid CPU topology: maxcpus must be "
                + "equal to or greater than smp: sockets (1) * cores (2) * threads (1) == maxcpus (2) < smp_cpus (4)");
        assertThat(error("-smp", "4,dies=2")).contains("dies");
        assertThat(error("-smp", "-1")).isEqualTo("-smp -1: Parameter 'smp.cpus' expects integer");
    }

    @Test
    void cpuKernelInitrdAppend() throws IOException {
        Path initrd = Files.write(dir.resolve("initrd"), new byte[] {9});
        var m = parse("-cpu", "host", "-kernel", kernel.toString(), "-initrd", initrd.toString(),
                "-append", "console=ttyS0 hb=5").machine();
        assertThat(m.cpuModel()).isEqualTo("host");
        assertThat(m.kernel()).isEqualTo(kernel);
        assertThat(m.initrd()).isEqualTo(initrd);
        assertThat(m.append()).isEqualTo("console=ttyS0 hb=5");
        assertThat(parse("-cpu", "max").machine().cpuModel()).isEqualTo("max");
        assertThat(parse("-cpu", "qemu64").machine().cpuModel()).isEqualTo("qemu64");
        assertThat(parse("-kernel", kernel.toString(), "-append", "-x --y").machine().append()).isEqualTo("-x --y");
    }

    @Test
    void kernelAndInitrdErrors() throws IOException {
        String missing = dir.resolve("nope").toString();
        assertThat(error("-kernel", missing)).isEqualTo(
                "-kernel " + missing + ": could not open kernel file '" + missing + "': No such file or directory");
        assertThat(error("-kernel", dir.toString())).endsWith("': Is a directory");
        assertThat(error("-kernel", kernel.toString(), "-initrd", missing)).isEqualTo(
                "-initrd " + missing + ": could not load initial ram disk '" + missing + "': No such file or directory");
        assertThat(error("-initrd", kernel.toString())).isEqualTo("-initrd only allowed with -kernel option");
        assertThat(error("-append", "x")).isEqualTo("-append only allowed with -kernel option");
        assertThat(error("-kernel")).isEqualTo("-kernel: requires an argument");
        assertThat(error("-cpu")).isEqualTo("-cpu: requires an argument");
        assertThat(error("-append")).isEqualTo("-append: requires an argument");
    }

    @Test
    void unreadableKernel() throws IOException {
        Path locked = Files.write(dir.resolve("locked"), new byte[] {1});
        Files.setPosixFilePermissions(locked, PosixFilePermissions.fromString("---------"));
        if (Files.isReadable(locked)) {
            return;     // root reads anything: nothing to check here
        }
        assertThat(error("-kernel", locked.toString())).endsWith("': Permission denied");
    }

    @Test
    void flagsAndName() {
        var m = parse("-S", "-no-reboot", "-no-shutdown", "-name", "guest1", "-enable-kvm", "-accel", "kvm",
                "-machine", "pc", "-M", "pc,accel=kvm").machine();
        assertThat(m.startPaused()).isTrue();
        assertThat(m.noReboot()).isTrue();
        assertThat(m.noShutdown()).isTrue();
        assertThat(m.name()).isEqualTo("guest1");
        assertThat(parse("-name", "guest=vm2,debug-threads=on").machine().name()).isEqualTo("vm2");
        assertThat(parse("-M", "pc-i440fx-7.2").machine()).isNotNull();
    }

    @Test
    void machineAndAccelErrors() {
        assertThat(error("-M", "q35")).isEqualTo("-machine q35: machine type 'q35' is not supported yet");
        assertThat(error("-machine", "virt")).isEqualTo("-machine virt: unsupported machine type 'virt'");
        assertThat(error("-machine", "pc,usb=on")).isEqualTo("-machine pc,usb=on: Property 'pc-machine.usb' not found");
        assertThat(error("-machine", "pc,accel=tcg")).contains("accelerator 'tcg' is not supported");
        assertThat(error("-accel", "tcg")).isEqualTo(
                "-accel tcg: accelerator 'tcg' is not supported: jhv runs on KVM only");
        assertThat(error("-accel", "foo")).isEqualTo("-accel foo: invalid accelerator foo");
    }

    @Test
    void remainingValueErrors() {
        assertThat(error("-cpu", "")).isEqualTo("-cpu : unable to find CPU model ''");
        assertThat(error("-cpu", "nosuchcpu")).isEqualTo("-cpu nosuchcpu: unable to find CPU model 'nosuchcpu'");
        assertThat(error("-cpu", "Skylake-Client,+avx")).isEqualTo(
                "-cpu Skylake-Client,+avx: unable to find CPU model 'Skylake-Client'");
        assertThat(parse("-cpu", "kvm64,+ssse3").machine().cpuModel()).isEqualTo("kvm64,+ssse3");
        assertThat(error("-name", "guest=a,colour=red")).isEqualTo("-name guest=a,colour=red: Parameter 'colour' is unexpected");
        assertThat(error("-name")).isEqualTo("-name: requires an argument");
        assertThat(error("-m", "slots=2")).contains("memory hotplug");
        assertThat(error("-drive", "file=" + disk + ",media=tape")).endsWith(": 'tape' invalid media");
        assertThat(error("-display", "gtk,gl=on")).isEqualTo("-display gtk,gl=on: display 'gtk' is not available");
        assertThat(error("-machine")).isEqualTo("-machine: requires an argument");
        assertThat(error("-accel")).isEqualTo("-accel: requires an argument");
        assertThat(error("-smp")).isEqualTo("-smp: requires an argument");
        assertThat(error("-initrd")).isEqualTo("-initrd: requires an argument");
        assertThat(error("-drive")).isEqualTo("-drive: requires an argument");
        assertThat(error("-display")).isEqualTo("-display: requires an argument");
        assertThat(error("-m", "-smp", "2")).as("an option is no value").isEqualTo("-m: requires an argument");
    }

    @Test
    void debugExitDevice() {
        var m = parse("-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-device", "isa-debug-exit").board();
        assertThat(m.debugExits()).containsExactly(
                new DeviceSpec.IsaDebugExit(0xf4, 4), new DeviceSpec.IsaDebugExit(0x501, 2));
        assertThat(parse("-device", "isa-debug-exit,iobase=244,iosize=1").board().debugExits())
                .containsExactly(new DeviceSpec.IsaDebugExit(0xf4, 1));
    }

    @Test
    void deviceErrors() {
        assertThat(error("-device", "e1000")).isEqualTo("-device e1000: Device 'e1000' not found");
        assertThat(error("-device", "isa-debug-exit,iobase=zz"))
                .isEqualTo("-device isa-debug-exit,iobase=zz: Parameter 'iobase' expects integer");
        assertThat(error("-device", "isa-debug-exit,iosize=3")).endsWith("iosize must be 1, 2 or 4");
        assertThat(error("-device", "isa-debug-exit,iobase=0xffff,iosize=2")).contains("outside the I/O port space");
        assertThat(error("-device", "isa-debug-exit,colour=red"))
                .isEqualTo("-device isa-debug-exit,colour=red: Property 'isa-debug-exit.colour' not found");
        assertThat(error("-device")).isEqualTo("-device: requires an argument");
    }

    @Test
    void drives() {
        var m = parse("-drive", "file=" + disk + ",format=qcow2,if=virtio,id=d0,readonly=on", disk.toString())
                .board();
        assertThat(m.drives()).containsExactly(
                DriveSpec.ideDisk(disk, 0, disk.toString()),
                new DriveSpec(disk, "qcow2", DriveSpec.Interface.VIRTIO, 0, DriveSpec.Media.DISK, "d0", true,
                        DriveSpec.Cache.WRITEBACK, false,
                        "-drive file=" + disk + ",format=qcow2,if=virtio,id=d0,readonly=on"));
        assertThat(parse("-drive", "file=" + disk).board().drives())
                .containsExactly(DriveSpec.ideDisk(disk, 0, "-drive file=" + disk));
    }

    @Test
    void virtioDrivesAreNumberedAndNamedAsQemuAndImplyTheirDevice() {
        var b = parse("-drive", "file=" + disk + ",if=virtio,index=2", "-drive", "file=" + disk + ",if=virtio",
                "-drive", "file=" + disk + ",if=none", "-drive", "file=" + disk + ",if=virtio,cache=none").board();
        assertThat(b.drives()).extracting(DriveSpec::id, DriveSpec::index).containsExactly(
                org.assertj.core.groups.Tuple.tuple("virtio2", 2),
                org.assertj.core.groups.Tuple.tuple("virtio0", 0),
                org.assertj.core.groups.Tuple.tuple("none0", 0),
                org.assertj.core.groups.Tuple.tuple("virtio1", 1));
        assertThat(b.drives().getLast().cache()).isEqualTo(DriveSpec.Cache.NONE);
        assertThat(b.devices()).containsExactly(
                new DeviceSpec.VirtioBlkPci(null, "virtio2", java.util.Optional.empty(), null, 0),
                new DeviceSpec.VirtioBlkPci(null, "virtio0", java.util.Optional.empty(), null, 0),
                new DeviceSpec.VirtioBlkPci(null, "virtio1", java.util.Optional.empty(), null, 0));
        assertThat(error("-drive", "file=" + disk + ",if=virtio,index=1", "-drive", "file=" + disk + ",if=virtio,index=1"))
                .isEqualTo("-drive file=" + disk + ",if=virtio,index=1: drive with bus=0, unit=1 (index=1) exists");
    }

    @Test
    void deviceVirtioBlkPciLinksToItsDrive() {
        var b = parse("-drive", "file=" + disk + ",if=none,id=d0", "-device",
                "virtio-blk-pci,drive=d0,serial=abc,num-queues=2,id=blk0").board();
        assertThat(b.devices()).containsExactly(
                new DeviceSpec.VirtioBlkPci("blk0", "d0", java.util.Optional.empty(), "abc", 2));
        // the -device comes first, then the implied devices of if=virtio drives
        assertThat(parse("-drive", "file=" + disk + ",if=virtio", "-drive", "file=" + disk + ",if=none,id=d1",
                "-device", "virtio-blk-pci,drive=d1").board().devices())
                .extracting(d -> ((DeviceSpec.VirtioBlkPci) d).drive()).containsExactly("d1", "virtio0");
    }

    @Test
    void deviceVirtioBlkPciErrorsInQemusWords() {
        String none = "file=" + disk + ",if=none,id=d0";
        assertThat(error("-drive", none, "-device", "virtio-blk-pci,drive=zz")).isEqualTo(
                "-device virtio-blk-pci,drive=zz: Property 'virtio-blk-device.drive' can't find value 'zz'");
        assertThat(error("-drive", none, "-device", "virtio-blk-pci,drive=d0", "-device", "virtio-blk-pci,drive=d0"))
                .isEqualTo("-device virtio-blk-pci,drive=d0: Drive 'd0' is already in use by another device");
        assertThat(error("-drive", "file=" + disk + ",if=virtio", "-device", "virtio-blk-pci,drive=virtio0"))
                .isEqualTo("-drive file=" + disk + ",if=virtio: Drive 'virtio0' is already in use because it has "
                        + "been automatically connected to another device (did you need 'if=none' in the drive "
                        + "options?)");
        assertThat(error("-hda", disk.toString(), "-device", "virtio-blk-pci,drive=ide0-hd0"))
                .isEqualTo("-device virtio-blk-pci,drive=ide0-hd0: Drive 'ide0-hd0' is already in use because it "
                        + "has been automatically connected to another device (did you need 'if=none' in the drive "
                        + "options?)");
        assertThat(error("-drive", none, "-device", "virtio-blk-pci"))
                .isEqualTo("-device virtio-blk-pci: drive property not set");
    }

    @Test
    void driveErrors() {
        String missing = dir.resolve("none.img").toString();
        assertThat(error("-drive", "file=" + missing)).isEqualTo(
                "-drive file=" + missing + ": Could not open '" + missing + "': No such file or directory");
        assertThat(error(missing)).isEqualTo(missing + ": Could not open '" + missing + "': No such file or directory");
        assertThat(error("-drive", "file=" + disk + ",readonly=maybe"))
                .endsWith(": Parameter 'read-only' expects 'on' or 'off'");
        assertThat(error("-drive", "file=" + disk + ",format=vmdk")).endsWith(": Unknown driver 'vmdk'");
        assertThat(error("-drive", "file=" + disk + ",if=zip")).endsWith(": unsupported bus type 'zip'");
        assertThat(error("-drive", "file=" + disk + ",bogus=1")).endsWith(": Invalid parameter 'bogus'");
        assertThat(error("-drive", "format=raw")).endsWith(": a drive needs file= (only a CD-ROM may be empty)");
        assertThat(error(disk.toString(), disk.toString())).isEqualTo(
                disk + ": only one disk image may be given (use -drive for more)");
        // as QEMU: the second -drive with an id already taken is named
        assertThat(error("-drive", "file=" + disk + ",if=none,id=d0", "-drive", "file=" + disk + ",if=none,id=d0"))
                .isEqualTo("-drive file=" + disk + ",if=none,id=d0: Duplicate ID 'd0' for drive");
    }

    @Test
    void ideShorthandsTakeTheirPlacesAndDrivesFillTheFreeOnes() {
        var b = parse("-hdb", disk.toString(), "-cdrom", disk.toString(), "-drive", "file=" + disk,
                "-drive", "file=" + disk + ",media=cdrom").board();
        assertThat(b.drives()).extracting(DriveSpec::index, DriveSpec::media).containsExactly(
                org.assertj.core.groups.Tuple.tuple(1, DriveSpec.Media.DISK),
                org.assertj.core.groups.Tuple.tuple(2, DriveSpec.Media.CDROM),
                org.assertj.core.groups.Tuple.tuple(0, DriveSpec.Media.DISK),
                org.assertj.core.groups.Tuple.tuple(3, DriveSpec.Media.CDROM));
        assertThat(b.drives().get(1).readOnly()).as("a CD is read-only").isTrue();
        assertThat(parse("-drive", "if=ide,index=1,media=cdrom").board().drives().getFirst().file())
                .as("an empty CD-ROM drive").isNull();
        assertThat(parse("-drive", "file=" + disk + ",bus=1,unit=1").board().drives().getFirst().index())
                .isEqualTo(3);
        assertThat(error("-hda", disk.toString(), "-drive", "file=" + disk + ",index=0"))
                .isEqualTo("-drive file=" + disk + ",index=0: drive with bus=0, unit=0 (index=0) exists");
        assertThat(error("-drive", "file=" + disk + ",index=4")).endsWith("index 4 too big: the PC has IDE buses 0 "
                + "and 1, two units each (index 0-3)");
        assertThat(error("-hda", disk.toString(), "-hdb", disk.toString(), "-hdc", disk.toString(), "-hdd",
                disk.toString(), "-drive", "file=" + disk)).endsWith(": no free IDE position: the PC has IDE buses "
                + "0 and 1, two units each");
        assertThat(error("-drive", "file=" + disk + ",cache=sometimes")).endsWith(": invalid cache option");
        assertThat(parse("-drive", "file=" + disk + ",cache=none").board().drives().getFirst().cache())
                .isEqualTo(DriveSpec.Cache.NONE);
    }

    @Test
    void snapshotMakesEveryDriveWriteAnOverlay() {
        assertThat(parse("-snapshot", "-hda", disk.toString(), "-drive", "file=" + disk + ",if=none").board()
                .drives()).allMatch(DriveSpec::snapshot);
        assertThat(parse("-drive", "file=" + disk + ",snapshot=on").board().drives().getFirst().snapshot()).isTrue();
        assertThat(parse("-hda", disk.toString()).board().drives().getFirst().snapshot()).isFalse();
    }

    @Test
    void bootBiosAndFwCfg() throws Exception {
        var b = parse("-boot", "order=dc,menu=on,strict=on").board();
        assertThat(b.boot()).isEqualTo(new dev.jhv.devices.board.BoardConfig.BootOrder("dc", true, true));
        assertThat(parse("-boot", "d").board().boot().order()).as("QEMU's legacy form").isEqualTo("d");
        assertThat(parse().board().boot()).isEqualTo(dev.jhv.devices.board.BoardConfig.BootOrder.DEFAULT);
        assertThat(error("-boot", "order=c!")).endsWith(": Invalid boot device '!'");
        assertThat(error("-boot", "order=cc")).endsWith(": Boot device 'c' was given twice");
        assertThat(parse("-bios", disk.toString()).board().bios()).isEqualTo(disk);
        String missing = dir.resolve("nobios.bin").toString();
        assertThat(error("-bios", missing)).isEqualTo("-bios " + missing + ": could not load PC BIOS '" + missing
                + "': No such file or directory");
        var item = parse("-fw_cfg", "name=opt/testos/cmdline,string=mode=poweroff").board().fwCfg().getFirst();
        assertThat(item.name()).isEqualTo("opt/testos/cmdline");
        assertThat(new String(item.data(), java.nio.charset.StandardCharsets.UTF_8)).isEqualTo("mode=poweroff");
        assertThat(parse("-fw_cfg", "opt/f,file=" + disk).board().fwCfg().getFirst().data())
                .as("the file's bytes").hasSize((int) java.nio.file.Files.size(disk));
        assertThat(error("-fw_cfg", "name=opt/x")).isEqualTo("-fw_cfg name=opt/x: invalid argument(s)");
        assertThat(error("-fw_cfg", "name=opt/x,string=a,file=" + disk)).endsWith(
                ": file and string are mutually exclusive");
        assertThat(error("-fw_cfg", "name=opt/" + "x".repeat(60) + ",string=1")).endsWith(
                ": name too long (max. 55 char)");
        assertThat(parse().board().firmwareBoot()).as("no -kernel: the firmware boots").isTrue();
    }

    @Test
    void unknownOptions() {
        assertThat(error("-foo")).isEqualTo("-foo: invalid option");
        assertThat(error("--bogus")).isEqualTo("--bogus: invalid option");
        assertThat(error("-m", "64", "-smpx", "2")).isEqualTo("-smpx: invalid option");
        assertThat(error("-Sm")).as("no clustering of short options").isEqualTo("-Sm: invalid option");
    }

    @Test
    void helpAndVersion() {
        for (String h : new String[] {"-h", "--help", "-help"}) {
            var r = CommandLineParser.parse(List.of(h), dir);
            assertThat(r).isInstanceOf(CommandLineParser.Result.Help.class);
            String text = ((CommandLineParser.Result.Help) r).text();
            assertThat(text).startsWith("usage: jhv [options] [disk-image]");
            for (String opt : List.of("-m ", "-smp ", "-cpu ", "-kernel ", "-initrd ", "-append ", "-serial ",
                    "-monitor ", "-nographic", "-display ", "-name ", "-S ", "-no-reboot", "-no-shutdown",
                    "-device ", "-drive ", "-enable-kvm", "-accel ", "-machine ", "--version", "--demo")) {
                assertThat(text).as(opt).contains("\n" + opt);
            }
        }
        assertThat(CommandLineParser.parse(List.of("--version"), dir))
                .isEqualTo(new CommandLineParser.Result.Version("jhv version 0.1.0"));
        assertThat(CommandLineParser.parse(List.of("-m", "foo", "-h"), dir))
                .as("help wins over values checked later").isInstanceOf(CommandLineParser.Result.Help.class);
    }

    // ---- chardevs and -nographic

    @Test
    void nographicMultiplexesSerialAndMonitorOnStdio() {
        var o = parse("-nographic");
        assertThat(o.serial()).isEqualTo(new ChardevSpec.Mon(new ChardevSpec.Stdio()));
        assertThat(o.serialHasMonitor()).isTrue();
        assertThat(o.monitors()).isEmpty();
        assertThat(o.nographic()).isTrue();
    }

    @Test
    void nographicWithExplicitSerialPutsMonitorOnStdio() {
        var o = parse("-nographic", "-serial", "file:" + dir.resolve("log"));
        assertThat(o.serial()).isEqualTo(new ChardevSpec.File(dir.resolve("log")));
        assertThat(o.monitors()).containsExactly(new ChardevSpec.Stdio());
    }

    @Test
    void nographicWithExplicitMonitorPutsSerialOnStdio() {
        var o = parse("-nographic", "-monitor", "unix:" + dir.resolve("m") + ",server,nowait");
        assertThat(o.serial()).isEqualTo(new ChardevSpec.Stdio());
        assertThat(o.monitors()).containsExactly(new ChardevSpec.Unix(dir.resolve("m"), true, false));
    }

    @Test
    void nographicWithMonStdioSerialHasNoSecondMonitor() {
        var o = parse("-nographic", "-serial", "mon:stdio");
        assertThat(o.serial()).isEqualTo(new ChardevSpec.Mon(new ChardevSpec.Stdio()));
        assertThat(o.monitors()).isEmpty();
    }

    @Test
    void serialAndMonitorForms() {
        var o = parse("-serial", "tcp::4444,server,nowait", "-monitor", "tcp:127.0.0.1:5555,server=on,wait=off",
                "-monitor", "unix:/tmp/x.sock,server", "-display", "none");
        assertThat(o.serial()).isEqualTo(new ChardevSpec.Tcp("", 4444, true, false, false));
        assertThat(o.monitors()).containsExactly(
                new ChardevSpec.Tcp("127.0.0.1", 5555, true, false, false),
                new ChardevSpec.Unix(Path.of("/tmp/x.sock"), true, true));
        assertThat(o.displayNone()).isTrue();
        assertThat(parse("-serial", "stdio").serial()).isEqualTo(new ChardevSpec.Stdio());
        assertThat(parse("-serial", "none").serial()).isEqualTo(new ChardevSpec.None());
        assertThat(parse("-serial", "null").serial()).isEqualTo(new ChardevSpec.Null());
        assertThat(parse("-serial", "mon:stdio").serial()).isEqualTo(new ChardevSpec.Mon(new ChardevSpec.Stdio()));
        assertThat(parse("-serial", "unix:/tmp/s").serial()).isEqualTo(new ChardevSpec.Unix(Path.of("/tmp/s"), false, true));
        assertThat(parse("-monitor", "none", "-nographic").monitors()).isEmpty();
        assertThat(parse("-monitor", "stdio").monitors()).containsExactly(new ChardevSpec.Stdio());
    }

    @Test
    void chardevErrors() {
        assertThat(error("-serial", "bogus:x")).isEqualTo("-serial bogus:x: 'bogus:x' is not a valid char driver");
        assertThat(error("-serial", "pty")).isEqualTo("-serial pty: char driver 'pty' is not supported by jhv yet");
        assertThat(error("-monitor", "unix:")).isEqualTo("-monitor unix:: chardev: unix: no path given");
        assertThat(error("-serial", "tcp:localhost")).startsWith("-serial tcp:localhost: chardev: tcp: expected HOST:PORT");
        assertThat(error("-serial", "tcp:localhost:99999")).endsWith("invalid port '99999'");
        assertThat(error("-serial", "unix:/x,server=maybe")).endsWith("Parameter 'server' expects 'on' or 'off'");
        assertThat(error("-serial", "unix:/x,colour=red")).endsWith("Parameter 'colour' is unexpected");
        assertThat(error("-serial", "file:")).endsWith("file: no filename given");
        assertThat(error("-serial", "stdio", "-serial", "null"))
                .isEqualTo("-serial null: only one serial port (COM1) is supported so far");
        assertThat(error("-serial", "stdio", "-monitor", "stdio"))
                .isEqualTo("-serial stdio: cannot use stdio by multiple character devices");
        assertThat(error("-nographic", "-serial", "stdio"))
                .isEqualTo("-serial stdio: cannot use stdio by multiple character devices");
        assertThat(error("-nographic", "-monitor", "stdio"))
                .isEqualTo("-serial stdio: cannot use stdio by multiple character devices");
        assertThat(error("-monitor", "stdio", "-monitor", "stdio"))
                .isEqualTo("-monitor stdio: cannot use stdio by multiple character devices");
        assertThat(error("-display", "gtk")).isEqualTo("-display gtk: display 'gtk' is not available");
        assertThat(error("-display", "blah")).isEqualTo("-display blah: Parameter 'type' does not accept value 'blah'");
        assertThat(error("-serial")).isEqualTo("-serial: requires an argument");
    }

    // ---- --demo

    @Test
    void demoBootsTheTestGuestUnlessOverridden() throws IOException {
        Path guest = dir.resolve("guest-images/out/testos.bin");
        Files.createDirectories(guest.getParent());
        Files.write(guest, new byte[] {1});
        var o = parse("--demo");
        assertThat(o.demo()).isTrue();
        assertThat(o.machine().kernel()).isEqualTo(guest);
        assertThat(o.machine().smp().cpus()).isEqualTo(2);
        assertThat(o.machine().memoryBytes()).isEqualTo(256L << 20);
        assertThat(o.machine().append()).isEqualTo("hb=1000");
        assertThat(o.nographic()).isTrue();
        assertThat(o.serial()).isEqualTo(new ChardevSpec.Mon(new ChardevSpec.Stdio()));

        var over = parse("--demo", "-smp", "1", "-m", "64", "-append", "mode=idle", "-serial", "null",
                "-monitor", "none");
        assertThat(over.machine().smp().cpus()).isEqualTo(1);
        assertThat(over.machine().memoryBytes()).isEqualTo(64L << 20);
        assertThat(over.machine().append()).isEqualTo("mode=idle");
        assertThat(over.nographic()).isFalse();
        assertThat(over.serial()).isEqualTo(new ChardevSpec.Null());
        assertThat(parse("--demo", "-kernel", kernel.toString()).machine().append())
                .as("another kernel gets no demo command line").isNull();
    }

    @Test
    void demoWithoutTheGuestSaysHowToBuildIt() {
        assertThat(error("--demo")).startsWith("--demo: the demo guest is missing: ")
                .endsWith("(build it with guest-images/build)");
    }

    @Test
    void qmpMonitorsFromQmpAndFromChardevWithMon() {
        var o = parse("-qmp", "unix:/tmp/q.sock,server,nowait",
                "-chardev", "socket,id=c1,path=/tmp/c1.sock,server=on,wait=off", "-mon", "chardev=c1,mode=control",
                "-chardev", "socket,id=c2,host=127.0.0.1,port=4444,server=on,wait=off", "-mon", "chardev=c2");
        assertThat(o.qmpMonitors()).containsExactly(new ChardevSpec.Unix(Path.of("/tmp/q.sock"), true, false),
                new ChardevSpec.Unix(Path.of("/tmp/c1.sock"), true, false));
        assertThat(o.monitors()).containsExactly(new ChardevSpec.Tcp("127.0.0.1", 4444, true, false, false));
        assertThat(o.monitorWaitsForClient()).isFalse();
        assertThat(parse("-qmp", "unix:/tmp/q.sock,server").monitorWaitsForClient()).isTrue();
    }
}
