package dev.jhv.launcher.command;

/** QMP's error classes, spelled as QEMU's "class" member spells them. */
public enum ErrorClass {
    GenericError,
    CommandNotFound,
    DeviceNotActive,
    DeviceNotFound,
    KVMMissingCap
}
