package dev.jhv.devices.chipset;

/** The board's side of the i440FX PAM registers: maps RAM and ROM of a region as its mode says. */
@FunctionalInterface
public interface ShadowRamControl {
    void setMode(PamRegion region, PamMode mode);
}
