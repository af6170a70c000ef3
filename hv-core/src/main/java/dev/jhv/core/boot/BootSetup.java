package dev.jhv.core.boot;

/**
 * What a kernel loader did: which protocol, where the kernel, initrd and command line went, and the boot vCPU's
 * entry state. {@code initrdSize} is 0 without an initrd.
 */
public record BootSetup(Kind kind, EntryState entry, long kernelStart, long kernelEnd,
                        long initrdStart, long initrdSize, long cmdlineAddr) {
    public enum Kind { BZIMAGE, PVH }
}
