package dev.jhv.core.inkernel;

import dev.jhv.core.device.Stateful;

/**
 * A device whose state lives in KVM (a vCPU, the in-kernel irqchip and PIT): read and written by ioctls, and reset
 * to the state recorded once the machine is set up for power-on.
 */
public abstract class KvmStateDevice<S extends Record> implements Stateful<S> {
    private S powerOn;

    /** Writes the state into KVM; a refusal (an errno) may surface as any runtime exception. */
    protected abstract void write(S state);

    @Override
    public final void restore(S state) {
        try {
            write(state);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("KVM refused the state of " + id() + ": " + e.getMessage(), e);
        }
    }

    /** Records the state a reset returns to. */
    public final void recordPowerOn() {
        powerOn = state();
    }

    @Override
    public void reset() {
        if (powerOn != null) {
            write(powerOn);
        }
    }
}
