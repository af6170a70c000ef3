package dev.jhv.launcher.monitor;

import dev.jhv.core.machine.MachineControl;

/** What a command sees: the machine, the command table, and the output of the monitor it runs on. */
public interface MonitorContext {
    MachineControl machine();

    CommandTable commands();

    /** Writes text to this monitor's connection ("\n" becomes "\r\n"). */
    void print(String text);

    default void println(String line) {
        print(line + "\n");
    }
}
