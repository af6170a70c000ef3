package dev.jhv.devices.pci;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class MsixCapabilityTest {
    private final List<String> events = new ArrayList<>();
    private final MsixCapability.Routes routes = new MsixCapability.Routes() {
        @Override
        public void update(int vector, int addressLo, int addressHi, int data) {
            events.add(String.format("route %d 0x%x 0x%x 0x%x", vector, addressLo, addressHi, data));
        }

        @Override
        public void fire(int vector) {
            events.add("fire " + vector);
        }
    };
    private final PciConfigSpace config = new PciConfigSpace(PciIdentity.qemu(0x1af4, 0x1005, 0, 0x00ff, 0), 0, 1);
    private final MsixCapability msix = new MsixCapability(config, 3, 1, 0, 0x800, routes);
    private final int cap = msix.offset();

    private void control(int value) {
        config.write(cap + 2, 2, value);
        msix.configWritten(cap + 2, 2);
    }

    private void program(int v, int addr, int data) {
        msix.write(v * 16L, 4, addr);
        msix.write(v * 16L + 4, 4, 0);
        msix.write(v * 16L + 8, 4, data);
        msix.write(v * 16L + 12, 4, 0);
    }

    @Test
    void capabilityLayout() {
        assertThat(config.get8(cap)).isEqualTo(0x11);
        assertThat(config.get16(cap + 2)).as("table size N-1, disabled").isEqualTo(2);
        assertThat(config.get32(cap + 4)).isEqualTo(1);
        assertThat(config.get32(cap + 8)).isEqualTo(0x801);
        config.write(cap + 2, 2, 0xffff);
        assertThat(config.get16(cap + 2)).as("only enable and function mask are writable").isEqualTo(0xc002);
        assertThat(msix.read(12, 4)).as("vectors start masked").isEqualTo(1);
    }

    @Test
    void unmaskedVectorFiresWithItsMessage() {
        control(MsixCapability.CONTROL_ENABLE);
        program(1, 0xfee00000, 0x41);
        msix.notify(1);
        msix.notify(1);
        assertThat(events).containsExactly("route 1 0xfee00000 0x0 0x41", "fire 1", "fire 1");
    }

    @Test
    void disabledDropsTheEvent() {
        program(0, 0xfee00000, 0x41);
        msix.notify(0);
        assertThat(events).isEmpty();
        assertThat(msix.pending(0)).isFalse();
    }

    @Test
    void maskedVectorPendsAndFiresOnUnmask() {
        control(MsixCapability.CONTROL_ENABLE);
        program(2, 0xfee00000, 0x42);
        msix.write(2 * 16 + 12, 4, 1);
        msix.notify(2);
        assertThat(events).isEmpty();
        assertThat(msix.pending(2)).isTrue();
        assertThat(msix.read(0x800, 8)).isEqualTo(4);
        msix.write(2 * 16 + 12, 4, 0);
        assertThat(events).containsExactly("route 2 0xfee00000 0x0 0x42", "fire 2");
        assertThat(msix.pending(2)).isFalse();
    }

    @Test
    void functionMaskHoldsEveryVector() {
        control(MsixCapability.CONTROL_ENABLE | MsixCapability.CONTROL_FUNCTION_MASK);
        program(0, 0xfee00000, 0x40);
        msix.notify(0);
        assertThat(events).isEmpty();
        control(MsixCapability.CONTROL_ENABLE);
        assertThat(events).containsExactly("route 0 0xfee00000 0x0 0x40", "fire 0");
    }

    @Test
    void messageChangeIsRoutedAgain() {
        control(MsixCapability.CONTROL_ENABLE);
        program(0, 0xfee00000, 0x40);
        msix.notify(0);
        msix.write(8, 4, 0x50);
        msix.notify(0);
        assertThat(events).containsExactly("route 0 0xfee00000 0x0 0x40", "fire 0",
                "route 0 0xfee00000 0x0 0x50", "fire 0");
    }

    @Test
    void badVectorsAreDroppedAndPbaIsReadOnly() {
        control(MsixCapability.CONTROL_ENABLE);
        msix.notify(3);
        msix.notify(MsixCapability.NO_VECTOR);
        msix.write(0x800, 8, -1L);
        assertThat(msix.read(0x800, 8)).isZero();
        assertThat(events).isEmpty();
    }

    @Test
    void stateRoundTripsAndIsChecked() {
        control(MsixCapability.CONTROL_ENABLE);
        program(1, 0xfee01000, 0x33);
        msix.write(16 + 12, 4, 1);
        msix.notify(1);
        var s = msix.state();
        msix.resetTable();
        assertThat(msix.pending(1)).isFalse();
        msix.restore(s);
        assertThat(msix.pending(1)).isTrue();
        assertThat(msix.read(16, 4)).isEqualTo(0xfee01000L);
        assertThatThrownBy(() -> msix.restore(new MsixCapability.State(new byte[16], new byte[8])))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("MSI-X");
    }
}
