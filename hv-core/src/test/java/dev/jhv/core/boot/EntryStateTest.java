package dev.jhv.core.boot;

import dev.jhv.core.kvm.KvmStructs;
import dev.jhv.core.kvm.Regs;
import dev.jhv.core.kvm.Sregs;
import dev.jhv.core.memory.GuestMemory;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;

import static org.assertj.core.api.Assertions.assertThat;

class EntryStateTest {
    @Test
    void applyToFillsKvmRegsAndSregs() {
        try (Arena arena = Arena.ofConfined()) {
            var map = new MemoryMap(4 * MemoryMap.MIB);
            GuestMemory mem = TestImages.memory(arena, map);
            EntryState e = X86Setup.longMode(mem, 0x100200, BootLayout.ZERO_PAGE_ADDR);
            var regs = new Regs(new byte[(int) KvmStructs.REGS.byteSize()]);
            var sregs = new Sregs(new byte[(int) KvmStructs.SREGS.byteSize()]);
            regs.set(Regs.Reg.RAX, 77);
            e.applyTo(regs, sregs);
            assertThat(regs.get(Regs.Reg.RIP)).isEqualTo(0x100200);
            assertThat(regs.get(Regs.Reg.RSI)).isEqualTo(BootLayout.ZERO_PAGE_ADDR);
            assertThat(regs.get(Regs.Reg.RFLAGS)).isEqualTo(2);
            assertThat(regs.get(Regs.Reg.RAX)).as("untouched").isEqualTo(77);
            assertThat(sregs.segment(Sregs.Seg.CS)).isEqualTo(e.cs());
            assertThat(sregs.segment(Sregs.Seg.SS)).isEqualTo(e.ds());
            assertThat(sregs.segment(Sregs.Seg.TR)).isEqualTo(e.tr());
            assertThat(sregs.segment(Sregs.Seg.LDT)).isEqualTo(e.ldt());
            assertThat(sregs.gdtBase()).isEqualTo(BootLayout.GDT_ADDR);
            assertThat(sregs.cr3()).isEqualTo(BootLayout.PML4_ADDR);
            assertThat(sregs.efer()).isEqualTo(EntryState.EFER_LME | EntryState.EFER_LMA);
            assertThat(sregs.cr0() & EntryState.CR0_PG).isNotZero();
        }
    }

    @Test
    void segmentsMatchTheGdtDescriptors() {
        // Decoding each GDT descriptor back gives the segment register contents the entry state claims.
        for (int flags : new int[] {X86Setup.CODE64, X86Setup.CODE32, X86Setup.DATA}) {
            long d = X86Setup.descriptor(flags, 0, 0xFFFFF);
            var s = X86Setup.segment(0x10, flags, 0, 0xFFFFF);
            assertThat((int) (d >>> 40) & 0xF).isEqualTo(s.type());
            assertThat(((d >>> 44) & 1) == 1).isEqualTo(s.s());
            assertThat(((d >>> 47) & 1) == 1).isEqualTo(s.present());
            assertThat(((d >>> 53) & 1) == 1).isEqualTo(s.l());
            assertThat(((d >>> 54) & 1) == 1).isEqualTo(s.db());
            assertThat(((d >>> 55) & 1) == 1).isEqualTo(s.g());
            assertThat(s.limit()).isEqualTo(0xFFFFFFFF);
        }
        assertThat(X86Setup.descriptor(X86Setup.TSS_BUSY, 0, 0x67)).isEqualTo(0x00008B0000000067L);
    }
}
