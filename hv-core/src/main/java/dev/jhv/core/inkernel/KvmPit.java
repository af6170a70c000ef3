package dev.jhv.core.inkernel;

import dev.jhv.core.device.Stateful;
import dev.jhv.core.kvm.KvmStructs;
import dev.jhv.core.kvm.KvmVm;
import dev.jhv.core.vmstate.RecordDescription;

/** KVM's in-kernel 8254 PIT ("kvm-pit"), its state kept as KVM's kvm_pit_state2. */
public final class KvmPit implements Stateful<KvmPit.State> {
    public record State(byte[] pitState2) { }

    public static final RecordDescription<State> VMSTATE = RecordDescription.builder(State.class, "kvm-pit", 1)
            .buffer("pit_state2", (int) KvmStructs.PIT_STATE2.byteSize())
            .build();

    private final KvmVm vm;
    private State powerOn;

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
    public void restore(State s) {
        try {
            vm.setPit2(s.pitState2());
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("KVM refused the state: " + e.getMessage(), e);
        }
    }

    /** Records the state a reset returns to. */
    public void recordPowerOn() {
        powerOn = state();
    }

    @Override
    public void reset() {
        if (powerOn != null) {
            restore(powerOn);
        }
    }
}
