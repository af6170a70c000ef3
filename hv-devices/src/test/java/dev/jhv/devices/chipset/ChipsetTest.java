package dev.jhv.devices.chipset;

import dev.jhv.core.bus.BusHandler;
import dev.jhv.core.bus.IoBus;
import dev.jhv.core.bus.MmioBus;
import dev.jhv.core.device.StatefulRoundTrip;
import dev.jhv.devices.pci.PciAllocator;
import dev.jhv.devices.pci.PciBus;
import dev.jhv.devices.pci.PciDeviceInfo;
import dev.jhv.devices.pci.PciDeviceState;
import dev.jhv.devices.pci.PciIrqRouter;
import dev.jhv.devices.testing.RecordingIrq;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ChipsetTest {
    static final BusHandler PM = new BusHandler() {
        @Override
        public long read(long offset, int size) {
            return 0x42;
        }

        @Override
        public void write(long offset, int size, long value) {
        }
    };

    final IoBus io = new IoBus();
    final Map<Integer, RecordingIrq> irqs = new HashMap<>();
    final PciIrqRouter router = new PciIrqRouter(i -> irqs.computeIfAbsent(i, k -> new RecordingIrq()));
    final PciBus bus = new PciBus(io, new MmioBus(), router);
    final List<String> told = new ArrayList<>();
    final I440fx host = new I440fx((r, m) -> told.add(Long.toHexString(r.base()) + "=" + m));
    final Piix3Isa isa = new Piix3Isa(router);
    final Piix4Pm pm = new Piix4Pm(PM, 12);

    ChipsetTest() {
        bus.add(I440fx.ADDRESS, host);
        bus.add(Piix3Isa.ADDRESS, isa);
        bus.add(Piix4Pm.ADDRESS, pm);
    }

    @Test
    void pamNotifiesOnlyChangedRegions() {
        assertThat(told).hasSize(13);
        told.clear();
        host.configWrite(I440fx.PAM0, 1, 0x10);
        assertThat(told).containsExactly("f0000=READ_ONLY");
        told.clear();
        host.configWrite(I440fx.PAM0 + 1, 1, 0x21);       // PAM1: C0000 RO, C4000 WO
        assertThat(told).containsExactly("c0000=READ_ONLY", "c4000=WRITE_ONLY");
        told.clear();
        host.configWrite(I440fx.PAM0 + 1, 1, 0x31);
        assertThat(told).containsExactly("c4000=READ_WRITE");
        told.clear();
        host.configWrite(I440fx.PAM0 + 6, 1, 0x03);       // PAM6 low: E8000
        assertThat(told).containsExactly("e8000=READ_WRITE");
        for (int i = 0; i < 13; i++) {
            assertThat(host.mode(i)).isNotNull();
        }
        told.clear();
        host.reset();
        assertThat(told).hasSize(13).allMatch(s -> s.endsWith("DISABLED"));
    }

    @Test
    void pirqrcRoutesAndReservedIrqsDoNot() {
        isa.configWrite(Piix3Isa.PIRQRC, 1, 0x0b);
        assertThat(router.route(0)).isEqualTo(11);
        isa.configWrite(Piix3Isa.PIRQRC, 1, 0x0d);
        assertThat(router.route(0)).isEqualTo(-1);
        isa.configWrite(Piix3Isa.PIRQRC, 1, 0x8b);
        assertThat(router.route(0)).isEqualTo(-1);
        assertThat(isa.configRead(0x0e, 1)).isEqualTo(0x80);
    }

    @Test
    void pmBlockMapsMovesAndUnmaps() {
        assertThat(pm.configRead(Piix4Pm.PMBA, 4)).isEqualTo(1);
        pm.configWrite(Piix4Pm.PMBA, 4, 0x600);
        assertThat(io.find(0x600)).isNull();
        pm.configWrite(Piix4Pm.PMREGMISC, 1, 1);
        assertThat(io.read(0x60b, 1)).isEqualTo(0x42);
        pm.configWrite(Piix4Pm.PMBA, 4, 0xb000);
        assertThat(io.find(0x600)).isNull();
        assertThat(pm.pmBase()).isEqualTo(0xb000);
        assertThat(pm.configRead(Piix4Pm.PMBA, 4)).isEqualTo(0xb001);
        pm.configWrite(Piix4Pm.PMREGMISC, 1, 0);
        assertThat(io.ranges()).isEmpty();
    }

    @Test
    void stateRoundTripsAndReapplies() {
        host.configWrite(I440fx.PAM0, 1, 0x30);
        isa.configWrite(Piix3Isa.PIRQRC + 2, 1, 0x0a);
        pm.configWrite(Piix4Pm.PMBA, 4, 0x600);
        pm.configWrite(Piix4Pm.PMREGMISC, 1, 1);
        StatefulRoundTrip.check(host, () -> new I440fx((r, m) -> { }));
        StatefulRoundTrip.check(isa, () -> new Piix3Isa(router));
        StatefulRoundTrip.check(pm, () -> new Piix4Pm(PM, 12));

        var io2 = new IoBus();
        var router2 = new PciIrqRouter(i -> new RecordingIrq());
        var bus2 = new PciBus(io2, new MmioBus(), router2);
        var told2 = new ArrayList<String>();
        var host2 = new I440fx((r, m) -> told2.add(Long.toHexString(r.base()) + "=" + m));
        var isa2 = new Piix3Isa(router2);
        var pm2 = new Piix4Pm(PM, 12);
        bus2.add(I440fx.ADDRESS, host2);
        bus2.add(Piix3Isa.ADDRESS, isa2);
        bus2.add(Piix4Pm.ADDRESS, pm2);
        told2.clear();
        host2.loadState(host.saveState(), 1);
        isa2.loadState(isa.saveState(), 1);
        pm2.loadState(pm.saveState(), 1);
        assertThat(told2).hasSize(13).contains("f0000=READ_WRITE");
        assertThat(router2.route(2)).isEqualTo(10);
        assertThat(io2.read(0x600, 1)).isEqualTo(0x42);
    }

    @Test
    void refusesImpossibleState() {
        assertThatThrownBy(() -> pm.restore(new Piix4Pm.State(new PciDeviceState(new byte[10], new int[4]))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("config");
        var s = pm.state().parentObj();
        assertThatThrownBy(() -> pm.restore(new Piix4Pm.State(new PciDeviceState(s.config(), new int[3]))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("irq_state");
        byte[] other = s.config();
        other[0] = 0x11;
        assertThatThrownBy(() -> pm.restore(new Piix4Pm.State(new PciDeviceState(other, new int[4]))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("0x00");
    }

    @Test
    void infoPciAsQemuBeforeFirmware() {
        assertThat(PciDeviceInfo.render(bus.info())).isEqualTo("""
                  Bus  0, device   0, function 0:
                    Host bridge: PCI device 8086:1237
                      PCI subsystem 1af4:1100
                      id ""
                  Bus  0, device   1, function 0:
                    ISA bridge: PCI device 8086:7000
                      PCI subsystem 1af4:1100
                      id ""
                  Bus  0, device   1, function 3:
                    Bridge: PCI device 8086:7113
                      PCI subsystem 1af4:1100
                      IRQ 0, pin A
                      id ""
                """);
    }

    @Test
    void firmwareLessSetup() {
        new PciAllocator(bus).configureWithoutFirmware(
                new PciAllocator.Layout(0xc000, 0xc000_0000L, 0xfec0_0000L, 1L << 36));
        assertThat(router.route(0)).isEqualTo(10);
        assertThat(router.route(3)).isEqualTo(11);
        assertThat(pm.pmBase()).isEqualTo(0x600);
        assertThat(pm.configRead(0x3c, 1)).isEqualTo(9);
        assertThatThrownBy(() -> new PciAllocator(bus).place(new Piix3Isa(router), "PIIX3", "",
                java.util.Optional.of(new dev.jhv.devices.pci.PciAddress(0, 1, 0))))
                .hasMessage("PCI: slot 1 function 0 not available for PIIX3, in use by PIIX3");
    }
}
