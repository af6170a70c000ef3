package dev.jhv.devices.platform;

/**
 * What platform devices may ask of the machine they sit in. Implemented by the machine.
 * Devices call these outside their own locks, from a vCPU thread in the middle of an I/O exit:
 * an implementation should record the request and act on it after the exit, not block here.
 */
public interface SystemControl {
    /** Reset the whole machine (i8042 reset line, reset control register 0xCF9). */
    void requestReset();

    /** Power the machine off (ACPI S5 through PM1a_CNT). */
    void requestPowerOff();

    /** End the process with this exit status (isa-debug-exit). */
    void requestExit(int status);

    /** Ignores every request; for tests and machines that need no control. */
    SystemControl NONE = new SystemControl() {
        @Override
        public void requestReset() { }

        @Override
        public void requestPowerOff() { }

        @Override
        public void requestExit(int status) { }
    };
}
