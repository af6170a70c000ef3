package dev.jhv.core.acpi;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * One build of the ACPI tables, not yet at any address: every table but the RSDP laid end to end in one blob, the
 * RSDP in a second, and the fields that must be fixed up once the two are placed. This is the shape of QEMU's
 * firmware hand-over (the files etc/acpi/tables and etc/acpi/rsdp and the linker/loader's commands) and direct
 * kernel boot places it the same way, with {@link #place}.
 *
 * <p>A pointer field holds, before placement, the offset in its target blob of what it points to; placing adds the
 * target blob's address. Checksum fields are valid for the unplaced bytes; a checksum is re-established after the
 * pointers by adding the negated byte sum of its range (which holds the checksum byte itself), in list order.
 *
 * @param tables    every table but the RSDP, the FACS first (so aligning the blob to 64 aligns the FACS)
 * @param rsdp      the 36-byte RSDP (revision 2)
 * @param pointers  the pointer fields, in both blobs
 * @param checksums the checksum fields, in the order they must be recomputed
 * @param directory where each table of {@code tables} starts, in blob order
 */
public record LinkedTables(byte[] tables, byte[] rsdp, List<Pointer> pointers, List<Checksum> checksums,
                           List<Table> directory) {
    /** Alignment the tables blob needs: the FACS, at its start, must be 64-byte aligned. */
    public static final int TABLES_ALIGNMENT = 64;
    /** Alignment of the RSDP: a 16-byte boundary, where the legacy scan looks. */
    public static final int RSDP_ALIGNMENT = 16;

    /** Which of the two blobs. */
    public enum Blob { TABLES, RSDP }

    /**
     * A little-endian field of {@code size} bytes (4 or 8) at {@code offset} of blob {@code in} that points at
     * {@code targetOffset} of blob {@code target}; the field holds {@code targetOffset} until placed.
     */
    public record Pointer(Blob in, int offset, int size, Blob target, int targetOffset) {
        public Pointer {
            Objects.requireNonNull(in);
            Objects.requireNonNull(target);
            if (size != 4 && size != 8) {
                throw new IllegalArgumentException("pointer size " + size);
            }
        }
    }

    /** The byte at {@code resultOffset} of {@code in} makes {@code [start, start+length)} sum to zero. */
    public record Checksum(Blob in, int resultOffset, int start, int length) {
        public Checksum {
            Objects.requireNonNull(in);
        }
    }

    /** A table of the tables blob: its signature, where it starts and its length. */
    public record Table(String signature, int offset, int length) { }

    /** The two blobs after {@link #place}, the caller's own: the bytes to write at the addresses given. */
    public record Placed(byte[] tables, byte[] rsdp) { }

    public LinkedTables {
        tables = tables.clone();
        rsdp = rsdp.clone();
        pointers = List.copyOf(pointers);
        checksums = List.copyOf(checksums);
        directory = List.copyOf(directory);
    }

    @Override
    public byte[] tables() {
        return tables.clone();
    }

    @Override
    public byte[] rsdp() {
        return rsdp.clone();
    }

    /** The table with this signature (FACP, DSDT, FACS, APIC, XSDT, RSDT). */
    public Table table(String signature) {
        return directory.stream().filter(t -> t.signature().equals(signature)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no " + signature + " table"));
    }

    /** The blobs with the tables blob at {@code tablesAddress} and the RSDP at {@code rsdpAddress}. */
    public Placed place(long tablesAddress, long rsdpAddress) {
        if (tablesAddress % TABLES_ALIGNMENT != 0 || rsdpAddress % RSDP_ALIGNMENT != 0) {
            throw new IllegalArgumentException(String.format("misaligned ACPI placement 0x%x / 0x%x",
                    tablesAddress, rsdpAddress));
        }
        byte[] t = tables.clone();
        byte[] r = rsdp.clone();
        for (Pointer p : pointers) {
            addLittleEndian(p.in() == Blob.TABLES ? t : r, p.offset(), p.size(),
                    p.target() == Blob.TABLES ? tablesAddress : rsdpAddress);
        }
        for (Checksum c : checksums) {
            byte[] b = c.in() == Blob.TABLES ? t : r;
            b[c.resultOffset()] += TableWriter.checksum(b, c.start(), c.length());
        }
        return new Placed(t, r);
    }

    /** Adds {@code value} to the {@code size}-byte little-endian number at {@code off}, modulo its width. */
    static void addLittleEndian(byte[] b, int off, int size, long value) {
        long v = 0;
        for (int i = 0; i < size; i++) {
            v |= (b[off + i] & 0xFFL) << (8 * i);
        }
        v += value;
        for (int i = 0; i < size; i++) {
            b[off + i] = (byte) (v >>> (8 * i));
        }
    }

    /** Lays tables out one after another and records the pointers between them. */
    static final class Builder {
        private byte[] blob = new byte[0];
        private final List<Pointer> pointers = new ArrayList<>();
        private final List<Checksum> checksums = new ArrayList<>();
        private final List<Table> directory = new ArrayList<>();

        /** Appends a finished table at the next {@code alignment} boundary; returns its offset. */
        int add(byte[] table, int alignment, boolean headerChecksum) {
            int off = (blob.length + alignment - 1) & -alignment;
            blob = Arrays.copyOf(blob, off + table.length);
            System.arraycopy(table, 0, blob, off, table.length);
            String sig = new String(table, 0, 4, java.nio.charset.StandardCharsets.US_ASCII);
            directory.add(new Table(sig, off, table.length));
            if (headerChecksum) {
                checksums.add(new Checksum(Blob.TABLES, off + TableWriter.CHECKSUM_OFFSET, off, table.length));
            }
            return off;
        }

        /** Records that the field at {@code fieldOffset} of the table at {@code tableOffset} points into blob. */
        void pointer(int tableOffset, int fieldOffset, int size, Blob target, int targetOffset) {
            pointers.add(new Pointer(Blob.TABLES, tableOffset + fieldOffset, size, target, targetOffset));
        }

        LinkedTables finish(byte[] rsdp, List<Pointer> rsdpPointers, List<Checksum> rsdpChecksums) {
            var p = new ArrayList<>(pointers);
            p.addAll(rsdpPointers);
            var c = new ArrayList<>(checksums);
            c.addAll(rsdpChecksums);
            return new LinkedTables(blob, rsdp, p, c, directory);
        }
    }
}
