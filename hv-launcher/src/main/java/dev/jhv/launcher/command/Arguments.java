package dev.jhv.launcher.command;

import java.util.List;
import java.util.Map;

/**
 * The checked arguments of one operation call: each value already has its parameter's type
 * (String, Long, Boolean, List of String); an optional argument left out is absent.
 */
public record Arguments(Map<String, Object> values) {
    public static final Arguments NONE = new Arguments(Map.of());

    public Arguments {
        values = Map.copyOf(values);
    }

    public boolean has(String name) {
        return values.containsKey(name);
    }

    /** The string, or null when left out. */
    public String string(String name) {
        return (String) values.get(name);
    }

    /** The integer, or {@code dflt} when left out. */
    public long integer(String name, long dflt) {
        return values.get(name) instanceof Long l ? l : dflt;
    }

    public boolean bool(String name, boolean dflt) {
        return values.get(name) instanceof Boolean b ? b : dflt;
    }

    @SuppressWarnings("unchecked")
    public List<String> stringList(String name) {
        return values.get(name) instanceof List<?> l ? (List<String>) l : List.of();
    }

    /** A list of objects, each a map of its members' names to String, Long or Boolean values. */
    @SuppressWarnings("unchecked")
    public List<Map<String, Object>> objectList(String name) {
        return values.get(name) instanceof List<?> l ? (List<Map<String, Object>>) l : List.of();
    }

    /** A value as QMP gave it (String, Long or Boolean), or null. */
    public Object raw(String name) {
        return values.get(name);
    }
}
