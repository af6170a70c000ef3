package dev.jhv.core.vcpu;

import dev.jhv.core.bus.BusHandler;
import dev.jhv.core.bus.IoBus;
import dev.jhv.core.bus.MmioBus;
import dev.jhv.core.kvm.Kvm;
import dev.jhv.core.kvm.KvmVcpu;
import dev.jhv.core.kvm.KvmVm;
import dev.jhv.core.sys.Libc;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** A real-mode guest that writes to a port forever; pause must stop it dead, every time. */
@Tag("kvm")
class VcpuPauseTest {
    private static final byte[] CODE = {
        (byte) 0xBA, (byte) 0xF8, 0x03,   // mov dx, 0x3f8
        (byte) 0xB0, 0x41,                // mov al, 'A'
        (byte) 0xEE,                      // loop: out dx, al
        (byte) 0xFE, (byte) 0xC0,         // inc al
        (byte) 0xEB, (byte) 0xFB,         // jmp loop
    };

    @Test
    void pauseParksTheVcpuAndNoKickIsLostOverThousandsOfCycles() throws Exception {
        assumeTrue(Kvm.available(), "/dev/kvm is not available");
        try (Kvm kvm = Kvm.open(); KvmVm vm = kvm.createVm()) {
            vm.setTssAddr(KvmVm.TSS_ADDR);
            vm.setIdentityMapAddr(KvmVm.IDENTITY_MAP_ADDR);
            vm.createIrqchip();
            MemorySegment ram = Libc.mmap(1 << 20, Libc.PROT_READ | Libc.PROT_WRITE,
                    Libc.MAP_SHARED | Libc.MAP_ANONYMOUS | Libc.MAP_NORESERVE, -1, 0);
            vm.setUserMemoryRegion(0, 0, 0, ram);
            MemorySegment.copy(CODE, 0, ram, ValueLayout.JAVA_BYTE, 0x1000, CODE.length);

            AtomicLong outs = new AtomicLong();
            IoBus io = new IoBus();
            io.register(0x3f8, 8, "counter", new BusHandler() {
                @Override
                public long read(long offset, int size) {
                    return 0;
                }

                @Override
                public void write(long offset, int size, long value) {
                    outs.incrementAndGet();
                }
            });
            KvmVcpu kv = vm.createVcpu(0);
            RealModeGuest.enterAt(kv, 0x1000);
            Vcpu vcpu = new Vcpu(0, kv, io, new MmioBus(), RealModeGuest.failOnInternalError());
            vcpu.start();
            assertThat(vcpu.isParked()).isTrue();
            assertThat(outs.get()).isZero();
            int cycles = 3000;
            long progressed = 0;
            for (int i = 0; i < cycles; i++) {
                long before = outs.get();
                vcpu.resume();
                // let the guest get going (bounded), so that every pause has to stop a vCPU that is running
                long until = System.nanoTime() + 1_000_000_000L;
                while (outs.get() == before && System.nanoTime() < until) {
                    Thread.onSpinWait();
                }
                vcpu.pause();
                long atPause = outs.get();
                // Parked: nothing more may happen, however long we look.
                for (int spin = 0; spin < 50; spin++) {
                    Thread.onSpinWait();
                }
                assertThat(outs.get()).isEqualTo(atPause);
                if (atPause > before) {
                    progressed++;
                }
            }
            vcpu.resume();
            long start = outs.get();
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (outs.get() < start + 100 && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            assertThat(outs.get()).as("guest runs after the last resume").isGreaterThanOrEqualTo(start + 100);
            vcpu.stop();
            assertThat(vcpu.isParked()).isTrue();
            assertThat(progressed).as("cycles in which the guest ran").isEqualTo(cycles);
            kv.close();
        }
    }
}
