package dev.jhv.core.vmstate;

import java.util.HashMap;
import java.util.Map;

/**
 * How to save: by default each subsection goes out when its {@code needed} test holds; tests (and compatibility
 * modes) may force a subsection, by name, on or off.
 */
public record SaveOptions(Map<String, Boolean> forcedSubsections) {
    public static final SaveOptions DEFAULT = new SaveOptions(Map.of());

    public SaveOptions {
        forcedSubsections = Map.copyOf(forcedSubsections);
    }

    /** These options with the named subsection always sent (on) or never sent (off). */
    public SaveOptions force(String subsection, boolean on) {
        var m = new HashMap<>(forcedSubsections);
        m.put(subsection, on);
        return new SaveOptions(m);
    }

    Boolean forced(String subsection) {
        return forcedSubsections.get(subsection);
    }
}
