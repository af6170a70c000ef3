package dev.jhv.devices.board;

import dev.jhv.core.bus.IoBus;
import dev.jhv.core.chardev.CharBackend;
import dev.jhv.core.chardev.CharFrontend;
import dev.jhv.core.device.Stateful;
import dev.jhv.core.machine.StateSection;
import dev.jhv.devices.DeviceException;
import dev.jhv.devices.testing.RecordingControl;
import dev.jhv.devices.testing.RecordingIrq;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PcPlatformTest {
    static final long MIB = 1024 * 1024;

    final Map<Integer, RecordingIrq> irqs = new HashMap<>();
    final RecordingControl control = new RecordingControl();
    final ByteArrayOutputStream out = new ByteArrayOutputStream();
    CharFrontend attached;
    final CharBackend backend = new CharBackend() {
        @Override
        public void write(byte[] data, int offset, int length) {
            out.write(data, offset, length);
        }

        @Override
        public void attach(CharFrontend frontend) {
            attached = frontend;
        }
    };

    PcPlatform create(IoBus io, List<DeviceSpec.IsaDebugExit> exits) {
        var platform = PcPlatform.create(io, gsi -> irqs.computeIfAbsent(gsi, g -> new RecordingIrq()), backend, control,
                new PcPlatform.Config(512 * MIB, 0, 2, exits));
        created.add(platform);
        return platform;
    }

    final List<PcPlatform> created = new java.util.ArrayList<>();

    @org.junit.jupiter.api.AfterEach
    void closeAll() {
        created.forEach(PcPlatform::close);
    }

    @Test
    void devicesAnswerAtTheirPcPorts() {
        var io = new IoBus();
        var platform = create(io, List.of(new DeviceSpec.IsaDebugExit(0xf4, 4)));
        assertThat(attached).isSameAs(platform.com1());

        io.write(0x3f8, 1, 'A');
        assertThat(out.toString()).isEqualTo("A");
        assertThat(io.read(0x3fd, 1)).isEqualTo(0x60);

        io.write(0x64, 1, 0xaa);
        assertThat(io.read(0x64, 1) & 1).isEqualTo(1);
        assertThat(io.read(0x60, 1)).isEqualTo(0x55);

        io.write(0x70, 1, 0x5f);
        assertThat(io.read(0x71, 1)).isEqualTo(1);
        io.write(0x70, 1, 0x0d);
        assertThat(io.read(0x71, 1)).isEqualTo(0x80);

        // the chipset places these two (PIIX4 PM's PMBA, the PCI configuration ports): here by hand
        io.register(0x600, dev.jhv.devices.acpi.AcpiPm.LENGTH, "acpi-pm", platform.acpiPm());
        io.register(0xcf9, 1, "reset-control", platform.resetControl());
        assertThat(io.read(0x604, 2) & 1).as("SCI_EN").isEqualTo(1);
        io.write(0x602, 2, 1 << 8);
        platform.acpiPm().press();
        assertThat(irqs.get(9).level()).isTrue();
        io.write(0x600, 2, 1 << 8);
        assertThat(irqs.get(9).level()).isFalse();

        io.write(0x80, 1, 0x12);
        assertThat(io.read(0x61, 1)).as("port 0x61 is left to the PIT").isEqualTo(0xff);

        io.write(0xf4, 4, 3);
        io.write(0x604, 2, 1 << 13);
        io.write(0xcf9, 1, 0x06);
        io.write(0x64, 1, 0xfe);
        io.write(0x92, 1, 0x03);
        assertThat(control.requests()).containsExactly("exit 7", "poweroff", "reset", "reset", "reset");
    }

    @Test
    void irqLinesAreTheIsaOnes() {
        var io = new IoBus();
        create(io, List.of());
        assertThat(irqs.keySet()).containsExactlyInAnyOrder(1, 4, 8, 9, 12);
        io.write(0x3fc, 1, 0x08); // OUT2
        io.write(0x3f9, 1, 0x02); // THRE interrupt
        assertThat(irqs.get(4).level()).isTrue();
    }

    @Test
    void resetBringsDevicesBackToPowerOnState() {
        var io = new IoBus();
        var platform = create(io, List.of());
        io.write(0x3fc, 1, 0x08);
        io.write(0x3f9, 1, 0x02);
        io.write(0x3ff, 1, 0x77);
        platform.devices().forEach(dev.jhv.core.device.Device::reset); // as the machine resets them
        assertThat(irqs.get(4).level()).isFalse();
        assertThat(io.read(0x3f9, 1)).isZero();
        assertThat(io.read(0x3ff, 1)).isZero();
    }

    @Test
    void overlappingDebugExitIsAUserErrorAndLeavesTheBusAsItWas() {
        var io = new IoBus();
        io.register(0x1000, 4, "other", new dev.jhv.core.bus.BusHandler() {
            @Override
            public long read(long offset, int size) {
                return 0x42;
            }

            @Override
            public void write(long offset, int size, long value) { }
        });
        assertThatThrownBy(() -> create(io, List.of(new DeviceSpec.IsaDebugExit(0x3f8, 1))))
                .isInstanceOf(DeviceException.class).hasMessageContaining("overlaps");
        assertThat(io.ranges()).extracting(r -> r.name()).containsExactly("other");
    }

    @Test
    void rtcUpdateInterruptReachesIrq8() throws Exception {
        var raised = new java.util.concurrent.CountDownLatch(1);
        var io = new IoBus();
        try (var platform = PcPlatform.create(io,
                gsi -> gsi == 8 ? level -> { if (level) raised.countDown(); } : dev.jhv.core.irq.IrqLine.NONE,
                CharBackend.NULL, control, new PcPlatform.Config(512 * MIB, 0, 1, List.of()))) {
            io.write(0x70, 1, 0x0b);
            io.write(0x71, 1, 0x12); // 24h, BCD, update-ended interrupt on
            assertThat(raised.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            io.write(0x70, 1, 0x0c);
            assertThat(io.read(0x71, 1) & 0x90).isEqualTo(0x90);
            assertThat(platform.rtc()).isNotNull();
        }
    }

    @Test
    void stateSectionsNameEveryDeviceOnceAndMoveAWholePlatform() {
        var io = new IoBus();
        var platform = create(io, List.of());
        assertThat(sections(platform)).extracting(StateSection::idstr)
                .containsExactly("serial", "pckbd", "mc146818rtc", "acpi-pm", "piix_rcr", "port92");
        assertThat(platform.devices().stream().filter(d -> d instanceof Stateful<?>).toList())
                .containsExactly(platform.com1(), platform.i8042(), platform.rtc(), platform.acpiPm(),
                        platform.resetControl(), platform.port92());

        io.write(0x3f8 + 7, 1, 0x42);   // COM1 scratch
        io.write(0x70, 1, 0x40);
        io.write(0x71, 1, 0x99);        // a CMOS byte
        io.write(0x92, 1, 0x02);        // fast A20
        io.write(0x64, 1, 0xaa);        // i8042 self test: 0x55 queued

        var out = new dev.jhv.core.vmstate.VMStateOutput();
        sections(platform).forEach(d -> save(d, out));
        byte[] bytes = out.toByteArray();

        var io2 = new IoBus();
        var other = create(io2, List.of());
        var in = new dev.jhv.core.vmstate.VMStateInput(bytes);
        sections(other).forEach(d -> load(d, in));
        assertThat(in.offset()).isEqualTo(bytes.length);

        assertThat(io2.read(0x3f8 + 7, 1)).isEqualTo(0x42);
        io2.write(0x70, 1, 0x40);
        assertThat(io2.read(0x71, 1)).isEqualTo(0x99);
        assertThat(io2.read(0x92, 1)).isEqualTo(0x02);
        assertThat(io2.read(0x60, 1)).isEqualTo(0x55);
    }

    static List<StateSection<?>> sections(PcPlatform p) {
        return p.devices().stream().filter(d -> d instanceof Stateful<?>)
                .<StateSection<?>>map(d -> StateSection.of((Stateful<?>) d)).toList();
    }

    static <T> void save(StateSection<T> s, dev.jhv.core.vmstate.VMStateOutput out) {
        s.description().save(s.state(), out);
    }

    static <T> void load(StateSection<T> s, dev.jhv.core.vmstate.VMStateInput in) {
        s.description().load(s.state(), in, s.description().version());
    }
}
