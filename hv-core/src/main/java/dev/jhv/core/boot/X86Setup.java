package dev.jhv.core.boot;

import dev.jhv.core.kvm.Segment;
import dev.jhv.core.memory.GuestMemory;

/** The GDT, segments and identity page tables both entry paths build. */
final class X86Setup {
    private X86Setup() { }

    /** Descriptor flag words (access byte in bits 0-7, G/DB/L/AVL in bits 12-15), as in the kernel's GDT_ENTRY. */
    static final int CODE64 = 0xA09B;  // G, L, present, DPL 0, code execute/read accessed
    static final int CODE32 = 0xC09B;  // G, D/B 32-bit, present, code execute/read accessed
    static final int DATA = 0xC093;    // G, D/B, present, data read/write accessed
    static final int TSS_BUSY = 0x008B; // present, system, busy 32/64-bit TSS
    static final int TSS_LIMIT = 0x67;

    static final long PAGE_PRESENT = 1;
    static final long PAGE_RW = 2;
    static final long PAGE_PS = 0x80;

    /** An 8-byte segment descriptor for base/limit/flags. */
    static long descriptor(int flags, long base, long limit) {
        return ((base & 0xFF00_0000L) << 32)
                | ((base & 0x00FF_FFFFL) << 16)
                | (limit & 0xFFFFL)
                | ((limit & 0xF_0000L) << 32)
                | ((long) (flags & 0xF0FF) << 40);
    }

    /** The segment register contents that loading {@code selector} with a descriptor of these flags produces. */
    static Segment segment(int selector, int flags, long base, long limit) {
        boolean g = (flags & 0x8000) != 0;
        long fullLimit = g ? (limit << 12) | 0xFFF : limit;
        return new Segment(base, (int) fullLimit, selector, flags & 0xF, (flags & 0x80) != 0, (flags >> 5) & 3,
                (flags & 0x4000) != 0, (flags & 0x10) != 0, (flags & 0x2000) != 0, g, (flags & 0x1000) != 0,
                false);
    }

    /** The LDT as after reset: present, type LDT, empty. */
    static Segment resetLdt() {
        return new Segment(0, 0xFFFF, 0, 2, true, 0, false, false, false, false, false, false);
    }

    /**
     * Writes the GDT at {@link BootLayout#GDT_ADDR}: null, null, code at 0x10, data at 0x18, busy TSS at 0x20
     * (16 bytes in long mode). Returns the GDT limit.
     */
    static int writeGdt(GuestMemory mem, int codeFlags, boolean longMode) {
        long g = BootLayout.GDT_ADDR;
        mem.writeLong(g, 0);
        mem.writeLong(g + 0x08, 0);
        mem.writeLong(g + BootLayout.BOOT_CS, descriptor(codeFlags, 0, 0xFFFFF));
        mem.writeLong(g + BootLayout.BOOT_DS, descriptor(DATA, 0, 0xFFFFF));
        mem.writeLong(g + BootLayout.BOOT_TSS, descriptor(TSS_BUSY, 0, TSS_LIMIT));
        if (longMode) {
            mem.writeLong(g + BootLayout.BOOT_TSS + 8, 0); // upper half of the 16-byte system descriptor
            return BootLayout.BOOT_TSS + 16 - 1;
        }
        return BootLayout.BOOT_TSS + 8 - 1;
    }

    /** An empty IDT: the kernel loads its own before it enables interrupts. */
    static void writeIdt(GuestMemory mem) {
        mem.writeLong(BootLayout.IDT_ADDR, 0);
    }

    /** Identity-maps the low 4 GiB with 2 MiB pages: PML4[0] → PDPT, PDPT[0..3] → four page directories. */
    static void writeIdentityPageTables(GuestMemory mem) {
        mem.fill(BootLayout.PML4_ADDR, 0x1000, (byte) 0);
        mem.fill(BootLayout.PDPT_ADDR, 0x1000, (byte) 0);
        mem.writeLong(BootLayout.PML4_ADDR, BootLayout.PDPT_ADDR | PAGE_PRESENT | PAGE_RW);
        for (int i = 0; i < 4; i++) {
            long pd = BootLayout.PD_ADDR + i * 0x1000L;
            mem.writeLong(BootLayout.PDPT_ADDR + i * 8L, pd | PAGE_PRESENT | PAGE_RW);
            for (int j = 0; j < 512; j++) {
                long phys = ((long) i << 30) | ((long) j << 21);
                mem.writeLong(pd + j * 8L, phys | PAGE_PRESENT | PAGE_RW | PAGE_PS);
            }
        }
    }

    /** Entry state for the 64-bit Linux boot protocol. */
    static EntryState longMode(GuestMemory mem, long rip, long rsi) {
        int gdtLimit = writeGdt(mem, CODE64, true);
        writeIdt(mem);
        writeIdentityPageTables(mem);
        Segment cs = segment(BootLayout.BOOT_CS, CODE64, 0, 0xFFFFF);
        Segment ds = segment(BootLayout.BOOT_DS, DATA, 0, 0xFFFFF);
        Segment tr = segment(BootLayout.BOOT_TSS, TSS_BUSY, 0, TSS_LIMIT);
        return new EntryState(EntryState.Mode.LONG64, rip, rsi, 0, BootLayout.BOOT_STACK_TOP,
                EntryState.RFLAGS_DEFAULT,
                EntryState.CR0_PE | EntryState.CR0_ET | EntryState.CR0_PG, BootLayout.PML4_ADDR,
                EntryState.CR4_PAE, EntryState.EFER_LME | EntryState.EFER_LMA,
                BootLayout.GDT_ADDR, gdtLimit, BootLayout.IDT_ADDR, 0,
                cs, ds, ds, ds, ds, ds, tr, resetLdt());
    }

    /** Entry state for PVH: 32-bit protected mode, paging off, EBX = start_info. */
    static EntryState protectedMode(GuestMemory mem, long eip, long ebx) {
        int gdtLimit = writeGdt(mem, CODE32, false);
        writeIdt(mem);
        Segment cs = segment(BootLayout.BOOT_CS, CODE32, 0, 0xFFFFF);
        Segment ds = segment(BootLayout.BOOT_DS, DATA, 0, 0xFFFFF);
        Segment tr = segment(BootLayout.BOOT_TSS, TSS_BUSY, 0, TSS_LIMIT);
        return new EntryState(EntryState.Mode.PROTECTED32, eip, 0, ebx, BootLayout.BOOT_STACK_TOP,
                EntryState.RFLAGS_DEFAULT, EntryState.CR0_PE | EntryState.CR0_ET, 0, 0, 0,
                BootLayout.GDT_ADDR, gdtLimit, BootLayout.IDT_ADDR, 0,
                cs, ds, ds, ds, ds, ds, tr, resetLdt());
    }
}
