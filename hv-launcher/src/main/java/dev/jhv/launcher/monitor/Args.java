package dev.jhv.launcher.monitor;

import java.util.Map;

/** The arguments of one command invocation, by parameter name. */
public record Args(Map<String, String> values) {
    public Args {
        values = Map.copyOf(values);
    }

    public boolean has(String name) {
        return values.containsKey(name);
    }

    /** The value, or null when an optional argument was left out. */
    public String get(String name) {
        return values.get(name);
    }

    /** An integer argument; a bad one is QEMU's "invalid number" error. */
    public long getLong(String name) {
        String v = get(name);
        try {
            return v.startsWith("0x") ? Long.parseLong(v.substring(2), 16) : Long.parseLong(v);
        } catch (NumberFormatException | NullPointerException e) {
            throw new MonitorException("invalid number for '" + name + "': '" + v + "'");
        }
    }
}
