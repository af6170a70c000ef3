package dev.jhv.devices.ide;

/** The bus master as a drive sees it during a DMA data phase: bytes to or from the PRD table's buffers. */
interface DmaEngine {
    /** How a DMA burst ended. */
    enum Result {
        /** All bytes moved. */
        OK,
        /** The PRD table ended (EOT) before the bytes did. */
        SHORT,
        /** A PRD entry or buffer lies outside RAM, or the table never ends: the bus master's error. */
        FAULT
    }

    /** Whether the guest set the start bit (the transfer may run). */
    boolean started();

    /** Starts walking the PRD table from its first entry. */
    void begin();

    /** Moves {@code len} bytes: guest memory ← buf when {@code toMemory}, else buf ← guest memory. */
    Result transfer(byte[] buf, int off, int len, boolean toMemory);

    /** The data phase is over: active clears; a FAULT also sets the error bit. */
    void end(Result result);
}
