package dev.jhv.launcher.command;

/** One entry of query-commands. */
public record CommandInfo(String name) { }
