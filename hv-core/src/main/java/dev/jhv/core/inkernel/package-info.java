/** The devices KVM emulates in the kernel (PICs and IOAPIC, PIT, clock), as machine devices with state records. */
package dev.jhv.core.inkernel;
