package dev.jhv.devices.board;

import dev.jhv.core.device.Device;
import dev.jhv.core.device.Stateful;
import dev.jhv.core.device.StatefulRoundTrip;
import dev.jhv.core.kvm.Kvm;
import dev.jhv.core.machine.MachineConfig;
import dev.jhv.core.machine.StateSection;
import dev.jhv.core.vmstate.VMStateInput;
import dev.jhv.core.vmstate.VMStateValues;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The round-trip check over every stateful device of the PC board as the launcher builds it: a device added to
 * the board is in this test without anyone writing a line for it. Two boards are built alike; each device's state
 * is saved on the first, loaded into its twin on the second and saved again, and the bytes must match.
 */
@Tag("kvm")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PcBoardStateTest {
    private static final Path TESTOS = Path.of(System.getProperty("jhv.root", "..")).toAbsolutePath()
            .resolve("guest-images/out/testos.elf");

    private PcBoard a;
    private PcBoard b;

    /** The board to build twice: a direct kernel boot here; {@link FirmwarePcBoardStateTest} boots firmware. */
    BoardConfig boardConfig() {
        return BoardConfig.of(config());
    }

    /** Who builds the -device PCI functions of {@link #boardConfig()} (hv-virtio's test gives its provider). */
    PciDeviceProvider provider() {
        return PciDeviceProvider.NONE;
    }

    /** The drives of {@link #boardConfig()}, opened (null for a drive with no medium). */
    List<dev.jhv.core.block.Drive> drives() {
        return List.of();
    }

    static MachineConfig config() {
        return new MachineConfig("board", 128L << 20, MachineConfig.Smp.of(2), "qemu64", TESTOS, null, "mode=idle",
                true, false, false);
    }

    @BeforeAll
    void build() {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
        assumeTrue(Files.exists(TESTOS), "test guest missing: run guest-images/build");
        a = PcBoard.create(boardConfig(), null, drives(), dev.jhv.core.machine.Machine.KvmBase.open(), provider());
        b = PcBoard.create(boardConfig(), null, drives(), dev.jhv.core.machine.Machine.KvmBase.open(), provider());
        // as for a save: nothing runs on its own (the ACPI PM timer stands, the RTC arms no wake-up)
        a.machine().devices().forEach(Device::pause);
        b.machine().devices().forEach(Device::pause);
    }

    /** The first of the two boards (for subclasses' own checks). */
    PcBoard boardUnderTest() {
        if (a == null) {
            build();
        }
        return a;
    }

    @AfterAll
    void close() {
        if (a != null) {
            a.close();
        }
        if (b != null) {
            b.close();
        }
    }

    List<Integer> statefulDevices() {
        if (a == null) {
            build();
        }
        List<Device> devices = a.machine().devices();
        return IntStream.range(0, devices.size()).filter(i -> devices.get(i) instanceof Stateful<?>).boxed().toList();
    }

    /**
     * What keeps running while the machine is paused, so that a second save cannot equal the first byte for byte:
     * the TSC (an MSR), the PIT's count load times (host ktime), the KVM clock, the RTC's time registers (it follows
     * the host's clock, as QEMU's does by default). These are left out of the comparison; everything else must
     * match exactly.
     */
    private static final Map<String, UnaryOperator<VMStateValues>> RUNNING_CLOCKS = Map.of(
            "cpu", v -> with(v, "msr_value", withoutTsc((long[]) v.get("msr_index"), (long[]) v.get("msr_value"))),
            "kvm-pit", v -> with(v, "pit_state2", zeroed((byte[]) v.get("pit_state2"), 16, 24, 40, 48, 64, 72)),
            "kvmclock", v -> with(v, "clock", 0L),
            "mc146818rtc", v -> with(with(v, "sub_second_ns", 0L), "cmos_data",
                    zeroed((byte[]) v.get("cmos_data"), 0, 10, 0x0c, 0x0d, 0x32, 0x33)));

    @ParameterizedTest(name = "device {0}")
    @MethodSource("statefulDevices")
    void everyStatefulDeviceRoundTripsIntoItsTwin(int index) {
        Stateful<?> source = (Stateful<?>) a.machine().devices().get(index);
        Device twin = b.machine().devices().get(index);
        assertThat(twin.id()).isEqualTo(source.id());
        String name = source.vmstate().name();
        if (!RUNNING_CLOCKS.containsKey(name)) {
            assertThat(StatefulRoundTrip.check(source, () -> cast(twin))).as(source.id()).isPositive();
            return;
        }
        byte[] first = source.saveState();
        Stateful<?> target = cast(twin);
        target.loadState(first, source.vmstate().version());
        byte[] second = target.saveState();
        UnaryOperator<VMStateValues> steady = RUNNING_CLOCKS.get(name);
        assertThat(flatten(steady.apply(decode(source, second))))
                .as("%s after a load into its twin", source.id())
                .isEqualTo(flatten(steady.apply(decode(source, first))));
    }

    @SuppressWarnings("unchecked")
    private static <S extends Record> Stateful<S> cast(Device d) {
        return (Stateful<S>) d;
    }

    private static VMStateValues decode(Stateful<?> d, byte[] data) {
        return d.vmstate().description().decode(new VMStateInput(data), d.vmstate().version());
    }

    private static VMStateValues with(VMStateValues v, String field, Object value) {
        assertThat(v.fields()).as("field %s of %s", field, v.name()).containsKey(field);
        return v.with(field, value);
    }

    private static long[] withoutTsc(long[] index, long[] value) {
        long[] out = value.clone();
        for (int i = 0; i < index.length; i++) {
            if (index[i] == 0x10) { // IA32_TIME_STAMP_COUNTER
                out[i] = 0;
            }
        }
        return out;
    }

    /** A copy with the byte ranges [from, to) given in pairs set to zero. */
    private static byte[] zeroed(byte[] b, int... ranges) {
        byte[] out = b.clone();
        for (int i = 0; i < ranges.length; i += 2) {
            Arrays.fill(out, ranges[i], ranges[i + 1], (byte) 0);
        }
        return out;
    }

    /** Field path to a comparable value (arrays as lists), subsections included. */
    private static Map<String, Object> flatten(VMStateValues v) {
        Map<String, Object> out = new TreeMap<>();
        v.fields().forEach((k, x) -> out.put(k, switch (x) {
            case byte[] bytes -> HexFormat.of().formatHex(bytes);
            case long[] longs -> Arrays.toString(longs);
            case VMStateValues nested -> flatten(nested);
            default -> x;
        }));
        v.subsections().forEach((k, x) -> out.put("/" + k, flatten(x)));
        return out;
    }

    @Test
    void theBoardHasEveryDeviceASectionOfItsOwn() {
        List<StateSection<?>> sections = a.machine().stateSections();
        var names = new HashSet<String>();
        for (StateSection<?> s : sections) {
            assertThat(names.add(s.idstr() + "/" + s.instanceId())).as("section %s/%d", s.idstr(), s.instanceId())
                    .isTrue();
        }
        assertThat(names).contains("cpu/0", "cpu/1", "kvm-irqchip/0", "kvm-pit/0", "kvmclock/0", "serial/0",
                "pckbd/0", "mc146818rtc/0", "acpi-pm/0", "piix_rcr/0", "port92/0");
        assertThat(statefulDevices()).hasSize(sections.size());
    }
}
