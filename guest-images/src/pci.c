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

/* The first function on bus 0 that match() accepts, with bit 31 set (so that 00:00.0 is not
 * 0), or 0 if none does. */
u32 pci_scan(int (*match)(u32 bdf, void *arg), void *arg)
{
    for (u32 dev = 0; dev < 32; dev++)
        for (u32 fn = 0; fn < 8; fn++) {
            u32 bdf = dev << 11 | fn << 8, id = pci_read(bdf, 0);
            if ((id & 0xFFFF) == 0xFFFF) {
                if (fn == 0)
                    break;
                continue;
            }
            if (match(bdf, arg))
                return bdf | 0x80000000u;
            if (fn == 0 && !(pci_read(bdf, 0x0C) & 0x800000))
                break;                      /* single-function device */
        }
    return 0;
}
