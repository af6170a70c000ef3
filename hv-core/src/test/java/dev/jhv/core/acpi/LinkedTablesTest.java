package dev.jhv.core.acpi;

import dev.jhv.core.cpuid.Topology;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LinkedTablesTest {
    final LinkedTables t = AcpiTables.build(new Topology(1, 4, 1), 4);

    static long field(byte[] b, int off, int size) {
        var bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        return size == 4 ? Integer.toUnsignedLong(bb.getInt(off)) : bb.getLong(off);
    }

    static String sig(byte[] b, long off) {
        return new String(b, (int) off, 4, StandardCharsets.US_ASCII);
    }

    static int sum(byte[] b, int start, int len) {
        int s = 0;
        for (int i = start; i < start + len; i++) {
            s += b[i];
        }
        return s & 0xFF;
    }

    @Test
    void facsOpensTheBlobAndEveryTableIsInTheDirectory() {
        assertThat(t.directory()).extracting(LinkedTables.Table::signature)
                .containsExactly("FACS", "DSDT", "FACP", "APIC", "XSDT", "RSDT");
        assertThat(t.table("FACS").offset()).isZero();
        byte[] b = t.tables();
        for (var table : t.directory()) {
            assertThat(sig(b, table.offset())).isEqualTo(table.signature());
            assertThat(table.offset() % 16).isZero();
        }
        var last = t.directory().getLast();
        assertThat(b.length).isEqualTo(last.offset() + last.length());
        assertThat(t.rsdp()).hasSize(36);
    }

    @Test
    void unplacedPointersHoldTheirTargetsOffsetsAndChecksumsHold() {
        byte[] b = t.tables();
        byte[] r = t.rsdp();
        for (var p : t.pointers()) {
            byte[] in = p.in() == LinkedTables.Blob.TABLES ? b : r;
            assertThat(field(in, p.offset(), p.size())).isEqualTo(p.targetOffset());
            assertThat(p.target()).isEqualTo(LinkedTables.Blob.TABLES);
            assertThat(t.directory()).anySatisfy(d -> assertThat(d.offset()).isEqualTo(p.targetOffset()));
        }
        for (var c : t.checksums()) {
            byte[] in = c.in() == LinkedTables.Blob.TABLES ? b : r;
            assertThat(sum(in, c.start(), c.length())).isZero();
        }
    }

    @Test
    void placingAddsTheBlobAddressesAndKeepsChecksums() {
        long tables = 0x7FF_F000L;
        long rsdp = 0xF5A10L;
        var placed = t.place(tables, rsdp);
        byte[] b = placed.tables();
        byte[] r = placed.rsdp();
        for (var p : t.pointers()) {
            byte[] in = p.in() == LinkedTables.Blob.TABLES ? b : r;
            long v = field(in, p.offset(), p.size());
            assertThat(v).isEqualTo(tables + p.targetOffset());
        }
        for (var c : t.checksums()) {
            byte[] in = c.in() == LinkedTables.Blob.TABLES ? b : r;
            assertThat(sum(in, c.start(), c.length())).as(c.toString()).isZero();
        }
        assertThat(field(r, 24, 8)).isEqualTo(tables + t.table("XSDT").offset());
        assertThat(t.tables()).as("placing leaves the build as it was").isNotEqualTo(b);
        assertThatThrownBy(() -> t.place(tables + 16, rsdp)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> t.place(tables, rsdp + 4)).isInstanceOf(IllegalArgumentException.class);
    }
}
