/* PCI configuration mechanism #1 (ports 0xCF8/0xCFC), at CPL 3 with IOPL 3. */
#include "kernel.h"

u32 pci_read(u32 bdf, u32 reg)
{
    outl(0xCF8, 0x80000000u | bdf | (reg & 0xFC));
    return inl(0xCFC);
}

void pci_write(u32 bdf, u32 reg, u32 v)
{
    outl(0xCF8, 0x80000000u | bdf | (reg & 0xFC));
    outl(0xCFC, v);
}

void pci_write16(u32 bdf, u32 reg, u16 v)
{
    outl(0xCF8, 0x80000000u | bdf | (reg & 0xFC));
    outw(0xCFC + (reg & 2), v);
}

u8 pci_read8(u32 bdf, u32 reg)
{
    return (u8)(pci_read(bdf, reg) >> (8 * (reg & 3)));
}

u16 pci_read16(u32 bdf, u32 reg)
{
    return (u16)(pci_read(bdf, reg) >> (8 * (reg & 2)));
}
