package dev.jhv.devices.ide;

import dev.jhv.devices.DeviceException;

/** The guest holds the tray locked (PREVENT ALLOW MEDIUM REMOVAL) and the eject was not forced. */
public final class TrayLockedException extends DeviceException {
    public TrayLockedException(String drive) {
        // QEMU's words for the same refusal, which users of its monitor know
        super("Device '" + drive + "' is locked and force was not specified, wait for tray to open and try again");
    }
}
