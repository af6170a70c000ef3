package dev.jhv.core.sys;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/**
 * File names a person typed (options, monitor commands) made into paths, with a message for the person when the
 * name cannot be one. Java reads the command line in the locale's encoding: a byte that is not valid there arrives
 * as U+FFFD and would silently name another file, and a name the encoding cannot hold throws
 * {@link InvalidPathException} with the raw characters. Both are refused here, naming the file as typed.
 */
public final class HostPaths {
    private HostPaths() { }

    /**
     * @throws IllegalArgumentException with a message fit for the terminal when {@code name} cannot be opened as typed
     */
    public static Path of(String name) {
        if (name.indexOf('\uFFFD') >= 0) {
            throw new IllegalArgumentException("'" + printable(name) + "': the file name is not valid in this "
                    + "system's character encoding (" + System.getProperty("sun.jnu.encoding") + ")");
        }
        try {
            return Path.of(name);
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException("'" + printable(name) + "': the file name cannot be used here ("
                    + (e.getReason() == null ? "invalid" : e.getReason().toLowerCase(java.util.Locale.ROOT))
                    + " in " + System.getProperty("sun.jnu.encoding") + ")", e);
        }
    }

    /** The name with what a terminal cannot show as escapes (\\xNN for controls, ? for undecodable bytes). */
    public static String printable(String name) {
        var sb = new StringBuilder();
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c == '\uFFFD') {
                sb.append('?');
            } else if (c < 0x20 || c == 0x7f) {
                sb.append(String.format("\\x%02x", (int) c));
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }
}
