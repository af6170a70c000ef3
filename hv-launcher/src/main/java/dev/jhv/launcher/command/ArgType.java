package dev.jhv.launcher.command;

/** The JSON type of an operation's argument, named as QMP's errors name it ("expected: string"). */
public enum ArgType {
    STRING("string"),
    INTEGER("integer"),
    BOOLEAN("boolean"),
    /** A list of strings (QMP's arrays of enum values, such as qmp_capabilities' "enable"). */
    STRING_LIST("array"),
    /** A list of objects with scalar members (migrate-set-capabilities' "capabilities"). */
    OBJECT_LIST("array");

    private final String jsonName;

    ArgType(String jsonName) {
        this.jsonName = jsonName;
    }

    public String jsonName() {
        return jsonName;
    }
}
