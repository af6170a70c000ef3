package dev.jhv.core.inkernel;

import dev.jhv.core.kvm.KvmStructs;
import dev.jhv.core.kvm.KvmVm;
import dev.jhv.core.vmstate.RecordDescription;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The KVM clock ("kvmclock"): the guest's clock value in ns, carried so that guest time goes on after a move. A reset
 * leaves it alone (no power-on state is recorded for it), as QEMU's does.
 */
public final class KvmClock extends KvmStateDevice<KvmClock.State> {
    public record State(long clock) { }

    public static final RecordDescription<State> VMSTATE = RecordDescription.builder(State.class, "kvmclock", 1)
            .u64("clock")
            .defaults(new State(0))
            .build();

    private final KvmVm vm;

    public KvmClock(KvmVm vm) {
        this.vm = vm;
    }

    @Override
    public String id() {
        return "kvmclock";
    }

    @Override
    public RecordDescription<State> vmstate() {
        return VMSTATE;
    }

    @Override
    public State state() {
        return new State(MemorySegment.ofArray(vm.getClock()).get(ValueLayout.JAVA_LONG_UNALIGNED, 0));
    }

    @Override
    protected void write(State s) {
        byte[] data = new byte[(int) KvmStructs.CLOCK_DATA.byteSize()];
        MemorySegment.ofArray(data).set(ValueLayout.JAVA_LONG_UNALIGNED, 0, s.clock());
        vm.setClock(data);
    }
}
