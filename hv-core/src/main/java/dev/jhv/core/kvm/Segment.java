package dev.jhv.core.kvm;

/** An x86 segment register as KVM's kvm_segment holds it (hidden part included). */
public record Segment(long base, int limit, int selector, int type, boolean present, int dpl, boolean db,
                      boolean s, boolean l, boolean g, boolean avl, boolean unusable) {

    /** A flat 4 GiB segment: 64-bit code if {@code longMode}, else 32-bit; data if type is 3. */
    public static Segment flat(int selector, int type, boolean longMode) {
        boolean code = (type & 8) != 0;
        return new Segment(0, 0xffffffff, selector, type, true, 0, !(code && longMode), true,
                code && longMode, true, false, false);
    }
}
