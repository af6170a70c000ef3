package dev.jhv.devices.pci;

import dev.jhv.core.bus.BusHandler;
import dev.jhv.core.bus.IoBus;
import dev.jhv.core.bus.MmioBus;
import dev.jhv.devices.testing.RecordingIrq;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class PciBusTest {
    final IoBus io = new IoBus();
    final MmioBus mmio = new MmioBus();
    final Map<Integer, RecordingIrq> irqs = new HashMap<>();
    final PciIrqRouter router = new PciIrqRouter(i -> irqs.computeIfAbsent(i, k -> new RecordingIrq()));
    final PciBus bus = new PciBus(io, mmio, router);
    final AtomicLong reset = new AtomicLong(-1);
    final PciConfigPorts ports = new PciConfigPorts(bus, new BusHandler() {
        @Override
        public long read(long offset, int size) {
            return 0x02;
        }

        @Override
        public void write(long offset, int size, long value) {
            reset.set(value);
        }
    });

    static final BusHandler NOP = new BusHandler() {
        @Override
        public long read(long offset, int size) {
            return 0x5a;
        }

        @Override
        public void write(long offset, int size, long value) {
        }
    };

    static final class Dev extends PciFunction {
        Dev(int pin) {
            super("dev", PciIdentity.qemu(0x1234, 0x5678, 1, 0x0200, 0), 0, pin);
            ioBar(0, 32, NOP);
            memoryBar(1, 0x1000, false, NOP);
            memory64Bar(2, 0x4000, true, NOP);
            expansionRom(new byte[3000]);
        }
    }

    int cfg(int devfn, int reg, int size) {
        ports.write(0, 4, 0x8000_0000L | devfn << 8 | (reg & 0xfc));
        return (int) ports.read(4 + (reg & 3), size);
    }

    void cfgw(int devfn, int reg, int size, int v) {
        ports.write(0, 4, 0x8000_0000L | devfn << 8 | (reg & 0xfc));
        ports.write(4 + (reg & 3), size, v);
    }

    @Test
    void masksKeepIdsWriteCommandAndClearStatus() {
        var d = new Dev(1);
        bus.add(new PciAddress(0, 3, 0), d);
        int devfn = 3 << 3;
        cfgw(devfn, 0, 4, 0);
        assertThat(cfg(devfn, 0, 4)).isEqualTo(0x56781234);
        cfgw(devfn, 4, 2, 0xffff);
        assertThat(cfg(devfn, 4, 2)).isEqualTo(0x0507);
        d.config.set16(PciConfigSpace.STATUS, 0x8000 | 0x0200);
        cfgw(devfn, 6, 2, 0x8000);
        assertThat(cfg(devfn, 6, 2)).isEqualTo(0x0200);
        assertThat(cfg(devfn, 1, 1)).isEqualTo(0x12);
        assertThat(cfg(devfn, 2, 2)).isEqualTo(0x5678);
    }

    @Test
    void barSizing() {
        bus.add(new PciAddress(0, 3, 0), new Dev(1));
        int devfn = 3 << 3;
        for (int reg = 0x10; reg <= 0x30; reg += 4) {
            cfgw(devfn, reg, 4, 0xffffffff);
        }
        assertThat(cfg(devfn, 0x10, 4)).isEqualTo(0xffffffe1);
        assertThat(cfg(devfn, 0x14, 4)).isEqualTo(0xfffff000);
        assertThat(cfg(devfn, 0x18, 4)).isEqualTo(0xffffc00c);
        assertThat(cfg(devfn, 0x1c, 4)).isEqualTo(0xffffffff);
        assertThat(cfg(devfn, 0x20, 4)).isEqualTo(0);
        assertThat(cfg(devfn, 0x30, 4)).isEqualTo(0xfffff001);
    }

    @Test
    void barsMapMoveAndUnmap() {
        bus.add(new PciAddress(0, 3, 0), new Dev(1));
        int devfn = 3 << 3;
        cfgw(devfn, 0x10, 4, 0xc000);
        cfgw(devfn, 0x14, 4, 0xfebf0000);
        assertThat(io.find(0xc000)).isNull();
        cfgw(devfn, 4, 2, 3);
        assertThat(io.read(0xc000, 1)).isEqualTo(0x5a);
        assertThat(mmio.read(0xfebf0000L, 1)).isEqualTo(0x5a);
        cfgw(devfn, 0x10, 4, 0xc100);
        assertThat(io.find(0xc000)).isNull();
        assertThat(io.read(0xc11f, 1)).isEqualTo(0x5a);
        cfgw(devfn, 4, 2, 0);
        assertThat(io.ranges()).isEmpty();
        assertThat(mmio.ranges()).isEmpty();
    }

    @Test
    void overlapLeavesBarUnmappedWithoutThrowing() {
        io.register(0xc000, 4, "other", NOP);
        bus.add(new PciAddress(0, 3, 0), new Dev(1));
        cfgw(3 << 3, 0x10, 4, 0xc000);
        cfgw(3 << 3, 4, 2, 1);
        assertThat(io.find(0xc000).name()).isEqualTo("other");
    }

    @Test
    void configMechanismAndResetRegister() {
        bus.add(new PciAddress(0, 3, 0), new Dev(1));
        ports.write(0, 4, 0xffff_ffffL);
        assertThat(ports.read(0, 4)).isEqualTo(0x80ff_fffcL);
        ports.write(0, 4, 0x8000_1800L);
        assertThat(ports.read(4, 4)).isEqualTo(0x56781234L);
        assertThat(ports.read(6, 2)).isEqualTo(0x5678L);
        assertThat(ports.read(5, 1)).isEqualTo(0x12L);
        assertThat(ports.read(5, 4)).isEqualTo(0xff567812L);
        ports.write(0, 4, 0x8000_1900L);
        assertThat(ports.read(4, 4)).isEqualTo(0xffffffffL);
        ports.write(0, 4, 0x0000_1800L);
        assertThat(ports.read(4, 4)).isEqualTo(0xffffffffL);
        ports.write(1, 1, 0x06);
        assertThat(reset.get()).isEqualTo(6);
        assertThat(ports.read(1, 1)).isEqualTo(2);
        assertThat(ports.read(0, 2)).isEqualTo(0xffffL);
    }

    @Test
    void sharedPirqHoldsUntilBothDropAndMovesOnReroute() {
        var a = new Dev(1);
        var b = new Dev(1);
        bus.add(new PciAddress(0, 3, 0), a);      // PIRQC
        bus.add(new PciAddress(0, 7, 0), b);      // (7 - 1) & 3 = PIRQC
        router.route(2, 11);
        a.setIntx(true);
        b.setIntx(true);
        a.setIntx(false);
        assertThat(irqs.get(11).level()).isTrue();
        router.route(2, 10);
        assertThat(irqs.get(11).level()).isFalse();
        assertThat(irqs.get(10).level()).isTrue();
        b.setIntx(false);
        assertThat(irqs.get(10).level()).isFalse();
    }

    @Test
    void intxDisableMasksTheLine() {
        var a = new Dev(1);
        bus.add(new PciAddress(0, 5, 0), a);      // PIRQA
        router.route(0, 10);
        a.setIntx(true);
        assertThat(irqs.get(10).level()).isTrue();
        cfgw(5 << 3, 4, 2, PciConfigSpace.COMMAND_INTX_DISABLE);
        assertThat(irqs.get(10).level()).isFalse();
        assertThat(cfg(5 << 3, 6, 2) & PciConfigSpace.STATUS_INTERRUPT).isNotZero();
    }

    @Test
    void swizzleAsQemuPc() {
        assertThat(PciIrqRouter.pirq(1, 0)).isEqualTo(0);
        assertThat(PciIrqRouter.pirq(2, 0)).isEqualTo(1);
        assertThat(PciIrqRouter.pirq(3, 0)).isEqualTo(2);
        assertThat(PciIrqRouter.pirq(4, 0)).isEqualTo(3);
        assertThat(PciIrqRouter.pirq(3, 1)).isEqualTo(3);
    }

    @Test
    void infoPciShowsBarsAsQemu() {
        bus.add(new PciAddress(0, 3, 0), new Dev(1), "nic0");
        cfgw(3 << 3, 0x14, 4, 0xfebf0000);
        cfgw(3 << 3, 0x18, 4, 0xfe000000);
        cfgw(3 << 3, 4, 2, 2);
        cfgw(3 << 3, 0x3c, 1, 11);
        assertThat(PciDeviceInfo.render(bus.info())).isEqualTo("""
                  Bus  0, device   3, function 0:
                    Ethernet controller: PCI device 1234:5678
                      PCI subsystem 1af4:1100
                      IRQ 11, pin A
                      BAR0: I/O at 0xffffffffffffffff [0x001e].
                      BAR1: 32 bit memory at 0xfebf0000 [0xfebf0fff].
                      BAR2: 64 bit prefetchable memory at 0xfe000000 [0xfe003fff].
                      BAR6: 32 bit memory at 0xffffffffffffffff [0x00000ffe].
                      id "nic0"
                """);
    }
}
