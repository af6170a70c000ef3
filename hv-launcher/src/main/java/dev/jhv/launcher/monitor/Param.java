package dev.jhv.launcher.monitor;

/**
 * One argument of a monitor command.
 *
 * @param name     as help and errors show it
 * @param rest     true: takes the rest of the line; false: one word (or a "quoted string")
 * @param optional may be left out
 */
public record Param(String name, boolean rest, boolean optional) {
    public static Param word(String name) {
        return new Param(name, false, false);
    }

    public static Param optionalWord(String name) {
        return new Param(name, false, true);
    }

    public static Param restOfLine(String name) {
        return new Param(name, true, false);
    }

    /** "name" or "[name]" as help shows it. */
    String display() {
        return optional ? "[" + name + "]" : name;
    }
}
