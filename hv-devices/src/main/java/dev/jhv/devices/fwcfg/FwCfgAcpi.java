package dev.jhv.devices.fwcfg;

import dev.jhv.core.acpi.LinkedTables;

/**
 * Hands jhv's ACPI tables to firmware as QEMU does: the files {@value #TABLES} and {@value #RSDP}, and a
 * {@link TableLoader} script that allocates the tables in high memory (64-byte aligned, for the FACS at their
 * start) and the RSDP in the F segment (16-byte aligned, where OSes scan for it), links every pointer and
 * recomputes every checksum. SeaBIOS then installs exactly these tables.
 */
public final class FwCfgAcpi {
    public static final String TABLES = "etc/acpi/tables";
    public static final String RSDP = "etc/acpi/rsdp";

    private FwCfgAcpi() { }

    /** Adds the three files for {@code tables} to {@code fwCfg}. */
    public static FwCfgBuilder addTo(FwCfgBuilder fwCfg, LinkedTables tables) {
        return fwCfg.addFile(TABLES, tables.tables())
                .addFile(RSDP, tables.rsdp())
                .addFile(TableLoader.FILE, loader(tables).toBytes());
    }

    /** The linker/loader script for {@code tables}. */
    static TableLoader loader(LinkedTables tables) {
        var l = new TableLoader()
                .allocate(TABLES, LinkedTables.TABLES_ALIGNMENT, TableLoader.Zone.HIGH)
                .allocate(RSDP, LinkedTables.RSDP_ALIGNMENT, TableLoader.Zone.FSEG);
        // Pointers before checksums: a checksum must cover its table's final pointer values.
        for (var p : tables.pointers()) {
            l.addPointer(file(p.in()), file(p.target()), p.offset(), p.size());
        }
        for (var c : tables.checksums()) {
            l.addChecksum(file(c.in()), c.resultOffset(), c.start(), c.length());
        }
        return l;
    }

    private static String file(LinkedTables.Blob blob) {
        return switch (blob) {
            case TABLES -> TABLES;
            case RSDP -> RSDP;
        };
    }
}
