package dev.jhv.core.device;

/** The device that takes the monitor's system_powerdown (the ACPI power button on a PC). */
public interface PowerButton extends Device {
    void press();
}
