package dev.jhv.launcher.command;

import com.fasterxml.jackson.annotation.JsonInclude;

/** query-name / info name: the -name given; QMP leaves "name" out when there is none. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record NameInfo(String name) {
    public String hmpText() {
        return name == null ? "" : name + "\n";
    }
}
