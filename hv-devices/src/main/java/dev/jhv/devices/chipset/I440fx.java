package dev.jhv.devices.chipset;

import dev.jhv.core.vmstate.RecordDescription;
import dev.jhv.devices.pci.PciAddress;
import dev.jhv.devices.pci.PciConfigSpace;
import dev.jhv.devices.pci.PciDeviceState;
import dev.jhv.devices.pci.PciIdentity;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The i440FX PCI and memory controller (82441FX) at 00.0: 8086:1237 rev 02, host bridge. PAM0–PAM6
 * (0x59–0x5F) decide where the BIOS area's reads and writes go, told to a {@link ShadowRamControl}: PAM0's high
 * nibble holds 0xF0000–0xFFFFF, PAM1–PAM6 two 16 KiB regions each of 0xC0000–0xEFFFF (low nibble the lower).
 * SMRAM (0x72) is stored with its datasheet bits; SMM itself has no effect here.
 */
public final class I440fx extends ChipsetFunction<I440fx.State> {
    public static final PciAddress ADDRESS = new PciAddress(0, 0, 0);
    public static final int PAM0 = 0x59;
    public static final int PAM_COUNT = 7;
    public static final int SMRAM = 0x72;
    static final int DRAMC = 0x57;
    static final int SMRAM_D_OPEN = 0x40;
    static final int SMRAM_D_CLS = 0x20;
    static final int SMRAM_D_LCK = 0x10;
    static final int SMRAM_G_SMRAME = 0x08;
    /** C_BASE_SEG: SMRAM at 0xA0000, read-only. */
    static final int SMRAM_DEFAULT = 0x02;

    /** The 13 regions, in PAM register and nibble order (PAM0 high, PAM1 low, PAM1 high, ...). */
    public static final List<PamRegion> PAM_REGIONS;

    static {
        List<PamRegion> r = new ArrayList<>();
        r.add(new PamRegion(0xf0000, 0x10000));
        for (int i = 0; i < 12; i++) {
            r.add(new PamRegion(0xc0000 + i * 0x4000L, 0x4000));
        }
        PAM_REGIONS = List.copyOf(r);
    }

    /** The configuration space, as QEMU's "I440FX" carries it. */
    public static final RecordDescription<State> VMSTATE = RecordDescription.builder(State.class, "i440FX", 1)
            .minimumVersion(1)
            .struct("parent_obj", PciDeviceState.VMSTATE, "parentObj")
            .build();

    public record State(PciDeviceState parentObj) { }

    private final ShadowRamControl shadow;
    private final PamMode[] told = new PamMode[PAM_REGIONS.size()];

    public I440fx(ShadowRamControl shadow) {
        super("i440FX", PciIdentity.qemu(0x8086, 0x1237, 0x02, 0x0600, 0), 0, 0,
                VMSTATE, State::new, State::parentObj);
        this.shadow = Objects.requireNonNull(shadow, "shadow");
        config.setStored(PciConfigSpace.DEVICE_SPECIFIC, PciConfigSpace.SIZE - PciConfigSpace.DEVICE_SPECIFIC);
        config.set8(DRAMC, 0x10);
        config.setWriteMask(PAM0, 1, 0x70);          // low nibble reserved; CE (bit 2 of a nibble) stored only
        for (int r = PAM0 + 1; r < PAM0 + PAM_COUNT; r++) {
            config.setWriteMask(r, 1, 0x77);
        }
        config.set8(SMRAM, SMRAM_DEFAULT);
        smramMasks();
    }

    /** The mode of region {@code i} of {@link #PAM_REGIONS} as the registers say now. */
    public synchronized PamMode mode(int i) {
        return modeOf(i);
    }

    private PamMode modeOf(int i) {
        if (i == 0) {
            return PamMode.of(config.get8(PAM0) >>> 4);
        }
        int reg = PAM0 + 1 + (i - 1) / 2;
        return PamMode.of((i - 1) % 2 == 0 ? config.get8(reg) : config.get8(reg) >>> 4);
    }

    @Override
    protected void configWritten(int reg, int size) {
        if (reg < PAM0 + PAM_COUNT && reg + size > PAM0) {
            tell(false);
        }
        if (reg <= SMRAM && reg + size > SMRAM) {
            smramMasks();
        }
    }

    @Override
    protected void configRestored() {
        smramMasks();
        tell(true);
    }

    private void tell(boolean all) {
        for (int i = 0; i < told.length; i++) {
            PamMode m = modeOf(i);
            if (all || m != told[i]) {
                told[i] = m;
                shadow.setMode(PAM_REGIONS.get(i), m);
            }
        }
    }

    /** Setting D_LCK closes D_OPEN and makes D_OPEN, D_LCK and G_SMRAME read-only until reset. */
    private void smramMasks() {
        int v = config.get8(SMRAM);
        if ((v & SMRAM_D_LCK) != 0) {
            config.set8(SMRAM, v & ~SMRAM_D_OPEN);
            config.setWriteMask(SMRAM, 1, SMRAM_D_CLS);
        } else {
            config.setWriteMask(SMRAM, 1, SMRAM_D_OPEN | SMRAM_D_CLS | SMRAM_D_LCK | SMRAM_G_SMRAME);
        }
    }

    /** No firmware to shadow the BIOS area: all of it is RAM, readable and writable. */
    @Override
    protected void configureWithoutFirmware() {
        config.set8(PAM0, 0x30);
        for (int r = PAM0 + 1; r < PAM0 + PAM_COUNT; r++) {
            config.set8(r, 0x33);
        }
        tell(false);
    }
}
