package dev.jhv.devices.chipset;

/** A range of the BIOS area one PAM nibble controls. */
public record PamRegion(long base, long size) { }
