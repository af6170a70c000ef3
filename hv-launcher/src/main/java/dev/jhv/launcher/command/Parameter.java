package dev.jhv.launcher.command;

/**
 * One argument of an operation, as QMP names it ("command-line", "cpu-index").
 *
 * @param restOfLine on HMP, takes the rest of the line instead of one word
 */
public record Parameter(String name, ArgType type, boolean optional, boolean restOfLine) {
    public static Parameter string(String name) {
        return new Parameter(name, ArgType.STRING, false, false);
    }

    public static Parameter integer(String name) {
        return new Parameter(name, ArgType.INTEGER, false, false);
    }

    public static Parameter bool(String name) {
        return new Parameter(name, ArgType.BOOLEAN, false, false);
    }

    public static Parameter objectList(String name) {
        return new Parameter(name, ArgType.OBJECT_LIST, false, false);
    }

    public static Parameter stringList(String name) {
        return new Parameter(name, ArgType.STRING_LIST, false, false);
    }

    public Parameter asOptional() {
        return new Parameter(name, type, true, restOfLine);
    }

    public Parameter asRestOfLine() {
        return new Parameter(name, type, optional, true);
    }
}
