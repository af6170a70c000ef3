package dev.jhv.core.inkernel;

import dev.jhv.core.kvm.KvmStructs;
import dev.jhv.core.kvm.KvmVm;
import dev.jhv.core.vmstate.RecordDescription;

/** KVM's in-kernel 8254 PIT ("kvm-pit"), its state kept as KVM's kvm_pit_state2. */
public final class KvmPit extends KvmStateDevice<KvmPit.State> {
    public record State(byte[] pitState2) { }

    public static final RecordDescription<State> VMSTATE = RecordDescription.builder(State.class, "kvm-pit", 1)
            .buffer("pit_state2", (int) KvmStructs.PIT_STATE2.byteSize())
            .defaults(new State(new byte[(int) KvmStructs.PIT_STATE2.byteSize()])) // all in the stream
            .build();

    private final KvmVm vm;

    public KvmPit(KvmVm vm) {
        this.vm = vm;
    }

    @Override
    public String id() {
        return "kvm-pit";
    }

    @Override
    public RecordDescription<State> vmstate() {
        return VMSTATE;
    }

    @Override
    public State state() {
        return new State(vm.getPit2());
    }

    @Override
    protected void write(State s) {
        vm.setPit2(s.pitState2());
    }
}
