package dev.jhv.devices.pci;

import dev.jhv.core.bus.BusHandler;

import java.util.Arrays;
import java.util.Objects;

/**
 * MSI-X (PCI 3.0, 6.8.2): the capability (ID 0x11) with its message control register, the vector table (16 bytes
 * a vector: message address low and high, data, vector control) and the pending bit array, both in one BAR.
 *
 * <p>A vector fires through {@link Routes}: on the machine each vector's message is an MSI route on a GSI of its
 * own with an irqfd, so a device thread raises it with one eventfd write and no exit. A vector masked (its own
 * mask bit, or the function mask) when its event comes sets its pending bit instead, and fires when unmasked.
 *
 * <p>Thread-safe: the vCPU threads write the table and the control register, device threads {@link #notify}.
 */
public final class MsixCapability implements BusHandler {
    public static final int CAPABILITY_ID = 0x11;
    static final int CAPABILITY_LENGTH = 12;
    static final int CONTROL_ENABLE = 1 << 15;
    static final int CONTROL_FUNCTION_MASK = 1 << 14;
    static final int ENTRY_SIZE = 16;
    static final int VECTOR_MASKED = 1;
    /** The most vectors a function has (table size field is 11 bits). */
    public static final int MAX_VECTORS = 2048;
    /** Where the vector value "no vector" points (virtio's VIRTIO_MSI_NO_VECTOR). */
    public static final int NO_VECTOR = 0xffff;

    /** Where the vectors go: the machine's MSI routes and irqfds, or a test's recorder. */
    public interface Routes extends AutoCloseable {
        /** Vector {@code vector}'s message is now this (called while it is unmasked and enabled, before a fire). */
        void update(int vector, int addressLo, int addressHi, int data);

        /** Delivers vector {@code vector}'s message as last given to {@link #update}. */
        void fire(int vector);

        @Override
        default void close() {
        }
    }

    /** What a migration carries beyond the control register (which is in configuration space). */
    public record State(byte[] table, byte[] pba) {
        public State {
            table = table.clone();
            pba = pba.clone();
        }

        @Override
        public byte[] table() {
            return table.clone();
        }

        @Override
        public byte[] pba() {
            return pba.clone();
        }
    }

    private final PciConfigSpace config;
    private final int offset;
    private final int vectors;
    private final long tableOffset;
    private final long pbaOffset;
    private final Routes routes;
    private final byte[] table;
    private final byte[] pba;
    /** Per vector: whether {@link Routes#update} has its current message (cleared when the entry changes). */
    private final boolean[] routed;

    /**
     * Adds the capability to {@code config}; the table and PBA are at {@code tableOffset} and {@code pbaOffset}
     * in BAR {@code bir}, where the function maps this handler.
     */
    public MsixCapability(PciConfigSpace config, int vectors, int bir, long tableOffset, long pbaOffset,
                          Routes routes) {
        if (vectors < 1 || vectors > MAX_VECTORS) {
            throw new IllegalArgumentException("MSI-X: " + vectors + " vectors is not 1.." + MAX_VECTORS);
        }
        if ((tableOffset & 7) != 0 || (pbaOffset & 7) != 0 || bir < 0 || bir > 5
                || rangesOverlap(tableOffset, (long) vectors * ENTRY_SIZE, pbaOffset, pbaLength(vectors))) {
            throw new IllegalArgumentException("MSI-X: table at 0x" + Long.toHexString(tableOffset) + ", PBA at 0x"
                    + Long.toHexString(pbaOffset) + " in BAR" + bir + " do not fit");
        }
        this.config = config;
        this.vectors = vectors;
        this.tableOffset = tableOffset;
        this.pbaOffset = pbaOffset;
        this.routes = Objects.requireNonNull(routes, "routes");
        this.table = new byte[vectors * ENTRY_SIZE];
        this.pba = new byte[pbaLength(vectors)];
        this.routed = new boolean[vectors];
        this.offset = config.addCapability(CAPABILITY_ID, CAPABILITY_LENGTH);
        config.set16(offset + 2, vectors - 1);
        config.setWriteMask(offset + 2, 2, CONTROL_ENABLE | CONTROL_FUNCTION_MASK);
        config.set32(offset + 4, (int) tableOffset | bir);
        config.set32(offset + 8, (int) pbaOffset | bir);
        resetTable();
    }

    private static int pbaLength(int vectors) {
        return (vectors + 63) / 64 * 8;
    }

    private static boolean rangesOverlap(long a, long alen, long b, long blen) {
        return a < b + blen && b < a + alen;
    }

    public int vectors() {
        return vectors;
    }

    /** The capability's offset in configuration space. */
    public int offset() {
        return offset;
    }

    /** The length of BAR space the table and PBA need from 0 (for sizing the BAR). */
    public long extent() {
        return Math.max(tableOffset + table.length, pbaOffset + pba.length);
    }

    public synchronized boolean enabled() {
        return (config.get16(offset + 2) & CONTROL_ENABLE) != 0;
    }

    private boolean functionMasked() {
        return (config.get16(offset + 2) & CONTROL_FUNCTION_MASK) != 0;
    }

    private boolean vectorMasked(int v) {
        return (entry(v, 12) & VECTOR_MASKED) != 0;
    }

    private int entry(int v, int field) {
        int at = v * ENTRY_SIZE + field;
        return (table[at] & 0xff) | (table[at + 1] & 0xff) << 8 | (table[at + 2] & 0xff) << 16
                | (table[at + 3] & 0xff) << 24;
    }

    public synchronized boolean pending(int v) {
        return (pba[v >>> 3] & (1 << (v & 7))) != 0;
    }

    /**
     * Raises vector {@code v} (a device thread's interrupt): fired when enabled and unmasked, else held in the
     * PBA. A vector past the table (a driver's bad choice) or NO_VECTOR is dropped.
     */
    public synchronized void notify(int v) {
        if (v < 0 || v >= vectors || !enabled()) {
            return;
        }
        if (functionMasked() || vectorMasked(v)) {
            pba[v >>> 3] |= (byte) (1 << (v & 7));
            return;
        }
        deliver(v);
    }

    private void deliver(int v) {
        if (!routed[v]) {
            routes.update(v, entry(v, 0), entry(v, 4), entry(v, 8));
            routed[v] = true;
        }
        routes.fire(v);
    }

    /** Called by the function after a configuration write (the control register may have changed). */
    public synchronized void configWritten(int reg, int size) {
        if (reg < offset + 4 && reg + size > offset + 2) {
            firePendingUnmasked();
        }
    }

    /** After the configuration space was replaced (reset or restore). */
    public synchronized void configRestored() {
        Arrays.fill(routed, false);
        firePendingUnmasked();
    }

    private void firePendingUnmasked() {
        if (!enabled() || functionMasked()) {
            return;
        }
        for (int v = 0; v < vectors; v++) {
            if (pending(v) && !vectorMasked(v)) {
                pba[v >>> 3] &= (byte) ~(1 << (v & 7));
                deliver(v);
            }
        }
    }

    // ---- the BAR: table and PBA ----

    @Override
    public synchronized long read(long off, int size) {
        long v = 0;
        for (int i = 0; i < size; i++) {
            v |= (long) byteAt(off + i) << (8 * i);
        }
        return v;
    }

    private int byteAt(long at) {
        if (at >= tableOffset && at < tableOffset + table.length) {
            return table[(int) (at - tableOffset)] & 0xff;
        }
        if (at >= pbaOffset && at < pbaOffset + pba.length) {
            return pba[(int) (at - pbaOffset)] & 0xff;
        }
        return 0;
    }

    @Override
    public synchronized void write(long off, int size, long value) {
        if (off < tableOffset || off + size > tableOffset + table.length) {
            return; // the PBA is read-only, the rest of the BAR holds nothing
        }
        int at = (int) (off - tableOffset);
        for (int i = 0; i < size; i++) {
            table[at + i] = (byte) (value >>> (8 * i));
        }
        int first = at / ENTRY_SIZE;
        int last = (at + size - 1) / ENTRY_SIZE;
        for (int v = first; v <= last; v++) {
            routed[v] = false; // the message may have changed: routed again before its next fire
            // only bit 0 of vector control is defined; the rest reads 0
            int ctl = v * ENTRY_SIZE + 12;
            table[ctl] &= VECTOR_MASKED;
            table[ctl + 1] = 0;
            table[ctl + 2] = 0;
            table[ctl + 3] = 0;
        }
        firePendingUnmasked();
    }

    // ---- reset and state ----

    /** Every vector masked, messages 0, nothing pending (the control register is reset with configuration space). */
    public synchronized void resetTable() {
        Arrays.fill(table, (byte) 0);
        Arrays.fill(pba, (byte) 0);
        Arrays.fill(routed, false);
        for (int v = 0; v < vectors; v++) {
            table[v * ENTRY_SIZE + 12] = VECTOR_MASKED;
        }
    }

    public synchronized State state() {
        return new State(table, pba);
    }

    /** Puts a migrated table and PBA in; the next fire of each vector routes its message again. */
    public synchronized void restore(State s) {
        check(s);
        System.arraycopy(s.table(), 0, table, 0, table.length);
        System.arraycopy(s.pba(), 0, pba, 0, pba.length);
        Arrays.fill(routed, false);
        firePendingUnmasked();
    }

    /** Throws IllegalArgumentException when {@code s} cannot be this capability's. */
    public void check(State s) {
        if (s.table().length != table.length || s.pba().length != pba.length) {
            throw new IllegalArgumentException(String.format("MSI-X: table of %d bytes and PBA of %d, expected %d and %d",
                    s.table().length, s.pba().length, table.length, pba.length));
        }
    }

    public int tableBytes() {
        return table.length;
    }

    public int pbaBytes() {
        return pba.length;
    }

    /** Releases the routes (GSIs, irqfds). */
    public void close() {
        try {
            routes.close();
        } catch (Exception e) {
            PciFunction.log().log(System.Logger.Level.WARNING, "MSI-X: releasing the routes failed: " + e);
        }
    }
}
