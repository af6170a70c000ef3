package dev.jhv.devices.testing;

import dev.jhv.devices.platform.SystemControl;

import java.util.ArrayList;
import java.util.List;

/** Records the requests devices make to the machine, as strings: "reset", "poweroff", "exit 3". */
public final class RecordingControl implements SystemControl {
    private final List<String> requests = new ArrayList<>();

    @Override
    public synchronized void requestReset() {
        requests.add("reset");
    }

    @Override
    public synchronized void requestPowerOff() {
        requests.add("poweroff");
    }

    @Override
    public synchronized void requestExit(int status) {
        requests.add("exit " + status);
    }

    public synchronized List<String> requests() {
        return List.copyOf(requests);
    }
}
