package dev.jhv.devices.testing;

import dev.jhv.core.irq.IrqLine;

/** An IRQ line that remembers its level and counts rising edges. */
public final class RecordingIrq implements IrqLine {
    private boolean level;
    private int risingEdges;

    @Override
    public synchronized void setLevel(boolean asserted) {
        if (asserted && !level) {
            risingEdges++;
        }
        level = asserted;
    }

    public synchronized boolean level() {
        return level;
    }

    public synchronized int risingEdges() {
        return risingEdges;
    }
}
