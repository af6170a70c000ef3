package dev.jhv.core.memory;

import dev.jhv.core.bus.BusHandler;
import dev.jhv.core.bus.IoBus;
import dev.jhv.core.bus.MmioBus;
import dev.jhv.core.kvm.Kvm;
import dev.jhv.core.kvm.KvmVcpu;
import dev.jhv.core.kvm.KvmVm;
import dev.jhv.core.vcpu.RealModeGuest;
import dev.jhv.core.vcpu.Vcpu;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** KVM's dirty log merged with the VMM's own writes: exactly the pages written, then nothing until written again. */
@Tag("kvm")
class DirtyLogTest {
    /** Real mode: one byte into pages 5, 7 and 9, then "out 0xf4" to say so, then spin. */
    private static final byte[] CODE = {
        (byte) 0xB0, 0x5A,                          // mov al, 0x5a
        (byte) 0xA2, 0x00, 0x50,                    // mov [0x5000], al
        (byte) 0xA2, 0x10, 0x70,                    // mov [0x7010], al
        (byte) 0xA2, (byte) 0xFF, (byte) 0x9F,      // mov [0x9fff], al
        (byte) 0xE6, (byte) 0xF4,                   // out 0xf4, al
        (byte) 0xEB, (byte) 0xFE,                   // jmp $
    };

    @Test
    void guestWritesAndVmmWritesAreReportedOnceEach() throws Exception {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
        try (Kvm kvm = Kvm.open(); KvmVm vm = kvm.createVm()) {
            vm.setTssAddr(KvmVm.TSS_ADDR);
            vm.setIdentityMapAddr(KvmVm.IDENTITY_MAP_ADDR);
            vm.createIrqchip();
            MemorySegment ram = RamAllocator.map(1 << 20);
            vm.setUserMemoryRegion(0, 0, 0, ram);
            MemorySegment.copy(CODE, 0, ram, ValueLayout.JAVA_BYTE, 0x1000, CODE.length);
            var region = new GuestMemory.Region(0, ram);
            GuestMemory mem = new GuestMemory(List.of(region));
            try (DirtyLog log = new DirtyLog(vm, mem, List.of(new DirtyLog.Slot(0, region)))) {
                log.start();
                CountDownLatch wrote = new CountDownLatch(1);
                IoBus io = new IoBus();
                io.register(0xf4, 1, "done", new BusHandler() {
                    @Override
                    public long read(long offset, int size) {
                        return 0;
                    }

                    @Override
                    public void write(long offset, int size, long value) {
                        wrote.countDown();
                    }
                });
                KvmVcpu kv = vm.createVcpu(0);
                RealModeGuest.enterAt(kv, 0x1000);
                Vcpu vcpu = new Vcpu(0, kv, io, new MmioBus(), RealModeGuest.failOnInternalError());
                vcpu.start();
                vcpu.resume();
                assertThat(wrote.await(30, TimeUnit.SECONDS)).as("the guest ran its writes").isTrue();
                vcpu.pause();
                mem.writeInt(0x20000, 7);                 // the VMM's own write (a device's, say)
                ram.set(ValueLayout.JAVA_BYTE, 0x30000, (byte) 1);
                mem.markWritten(0x30000, 1);              // a DMA slice, reported
                long[][] first = log.sync();
                assertThat(pages(first[0])).containsExactly(0x5L, 0x7L, 0x9L, 0x20L, 0x30L);
                assertThat(DirtyLog.count(log.sync())).as("cleared by the sync").isZero();
                log.stop();
                mem.writeInt(0x20000, 8);
                assertThat(DirtyLog.count(log.sync())).as("nothing recorded once stopped").isZero();
                vcpu.stop();
                kv.close();
            }
        }
    }

    private static List<Long> pages(long[] bitmap) {
        var out = new java.util.ArrayList<Long>();
        for (int w = 0; w < bitmap.length; w++) {
            for (int b = 0; b < 64; b++) {
                if ((bitmap[w] & (1L << b)) != 0) {
                    out.add(w * 64L + b);
                }
            }
        }
        return out;
    }
}
