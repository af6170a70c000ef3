package dev.jhv.devices.fwcfg;

import dev.jhv.core.device.StatefulRoundTrip;
import dev.jhv.core.memory.GuestMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class FwCfgStateTest {
    Arena arena;
    GuestMemory mem;

    @BeforeEach
    void setUp() {
        arena = Arena.ofConfined();
        mem = new GuestMemory(List.of(new GuestMemory.Region(0, arena.allocate(1 << 16, 4096))));
    }

    @AfterEach
    void tearDown() {
        arena.close();
    }

    FwCfg device() {
        return new FwCfgBuilder().addFile("opt/data", "0123456789".getBytes(StandardCharsets.US_ASCII)).build(mem);
    }

    @Test
    void roundTripsRandomStates() {
        StatefulRoundTrip.checkRandomised(this::device, 8);
    }

    @Test
    void theCursorAndAHalfWrittenDmaAddressSurvive() {
        var f = device();
        f.write(FwCfg.SELECTOR_OFFSET, 2, 0x20);
        f.read(FwCfg.DATA_OFFSET, 1);
        f.read(FwCfg.DATA_OFFSET, 1);
        f.write(FwCfg.DMA_OFFSET, 4, Integer.reverseBytes(0x1)); // high half only
        var fresh = device();
        fresh.loadState(f.saveState(), 2);
        assertThat(fresh.state()).isEqualTo(new FwCfg.State(0x20, 2, 0x1_0000_0000L));
        assertThat(fresh.read(FwCfg.DATA_OFFSET, 1)).isEqualTo('2');
        fresh.reset();
        assertThat(fresh.state()).isEqualTo(new FwCfg.State(0, 0, 0));
        assertThat(fresh.read(FwCfg.DATA_OFFSET, 1)).isEqualTo('Q');
    }

    @Test
    void sectionIsQemusFwCfg() {
        assertThat(FwCfg.VMSTATE.name()).isEqualTo("fw_cfg");
        assertThat(FwCfg.VMSTATE.version()).isEqualTo(2);
    }
}
