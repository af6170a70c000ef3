package dev.jhv.core.acpi;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class AmlTest {
    static byte[] b(int... v) {
        byte[] out = new byte[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = (byte) v[i];
        }
        return out;
    }

    @Test
    void pkgLengthEncodingsAtTheirBoundaries() {
        assertThat(Aml.pkgLength(0)).isEqualTo(b(0x01));
        assertThat(Aml.pkgLength(62)).isEqualTo(b(0x3F));
        // 63 body bytes + 2 length bytes = 65 = 0x41: lead byte 0x40 | 1, then 0x04.
        assertThat(Aml.pkgLength(63)).isEqualTo(b(0x41, 0x04));
        assertThat(Aml.pkgLength(0xFFF - 2)).isEqualTo(b(0x4F, 0xFF));
        // 0xFFE + 3 = 0x1001: three bytes.
        assertThat(Aml.pkgLength(0xFFE)).isEqualTo(b(0x81, 0x00, 0x01));
        assertThat(Aml.pkgLength(0xFFFFC)).hasSize(3);
        assertThat(Aml.pkgLength(0xFFFFD)).hasSize(4);
        assertThat(Aml.pkgLength(0xFFFFD)[0] & 0xC0).isEqualTo(0xC0);
    }

    @Test
    void integersUseTheShortestEncoding() {
        assertThat(Aml.integer(0)).isEqualTo(b(0x00));
        assertThat(Aml.integer(1)).isEqualTo(b(0x01));
        assertThat(Aml.integer(2)).isEqualTo(b(0x0A, 0x02));
        assertThat(Aml.integer(0x3F8)).isEqualTo(b(0x0B, 0xF8, 0x03));
        assertThat(Aml.integer(0xFEC00000L)).isEqualTo(b(0x0C, 0x00, 0x00, 0xC0, 0xFE));
        assertThat(Aml.integer(0x1_0000_0000L)).isEqualTo(b(0x0E, 0, 0, 0, 0, 1, 0, 0, 0));
    }

    @Test
    void namesAndPaths() {
        assertThat(Aml.nameString("_S5")).isEqualTo(b('_', 'S', '5', '_'));
        assertThat(Aml.nameString("\\_SB")).isEqualTo(b(0x5C, '_', 'S', 'B', '_'));
        assertThat(Aml.nameString("\\_SB.COM1")).isEqualTo(b(0x5C, 0x2E, '_', 'S', 'B', '_', 'C', 'O', 'M', '1'));
        assertThat(Aml.nameString("_SB.PCI0.ISA")).startsWith(0x2F, 3);
        assertThat(Aml.nameString("^FOO")).isEqualTo(b(0x5E, 'F', 'O', 'O', '_'));
        assertThatThrownBy(() -> Aml.nameSeg("1ABC")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Aml.nameSeg("ABCDE")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void eisaIdIsCompressedBigEndian() {
        assertThat(Aml.eisaId("PNP0501")).isEqualTo(b(0x0C, 0x41, 0xD0, 0x05, 0x01));
        assertThat(Aml.eisaId("PNP0A03")).isEqualTo(b(0x0C, 0x41, 0xD0, 0x0A, 0x03));
    }

    @Test
    void s5PackageMatchesTheReferenceEncoding() {
        byte[] s5 = Aml.name("\\_S5", Aml.pkg(Aml.integer(0), Aml.integer(0), Aml.integer(0), Aml.integer(0)));
        assertThat(s5).isEqualTo(b(0x08, 0x5C, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0, 0, 0, 0));
    }

    @Test
    void deviceAndResourceTemplate() {
        byte[] crs = Aml.resourceTemplate(Aml.io(0x3F8, 0x3F8, 0, 8), Aml.irqNoFlags(4));
        // Buffer: op, pkglen, size (ByteConst 13), IO descriptor (8), IRQ (3), end tag (2).
        assertThat(crs).isEqualTo(b(0x11, 0x10, 0x0A, 13,
                0x47, 0x01, 0xF8, 0x03, 0xF8, 0x03, 0x00, 0x08, 0x22, 0x10, 0x00, 0x79, 0x00));
        byte[] dev = Aml.device("COM1", Aml.name("_UID", Aml.integer(1)));
        assertThat(dev).isEqualTo(b(0x5B, 0x82, 0x0B, 'C', 'O', 'M', '1', 0x08, '_', 'U', 'I', 'D', 0x01));
    }

    @Test
    void fieldLengthsAreTheBareBitCount() {
        assertThat(Aml.fieldLength(8)).isEqualTo(b(0x08));
        assertThat(Aml.fieldLength(0x3F)).isEqualTo(b(0x3F));
        // 96 = 0x60: two bytes, low nibble 0 in the lead byte, then 0x60 >> 4.
        assertThat(Aml.fieldLength(96)).isEqualTo(b(0x40, 0x06));
        assertThat(Aml.fieldLength(0x1234)).isEqualTo(b(0x84, 0x23, 0x01));
    }

    @Test
    void methodFlagsCarryArgCountAndSerialized() {
        // MethodOp, PkgLength, name, flags (bits 0-2 args, bit 3 serialized), TermList.
        assertThat(Aml.method("_STA", 0, false, Aml.ret(Aml.integer(0x0B))))
                .isEqualTo(b(0x14, 0x09, '_', 'S', 'T', 'A', 0x00, 0xA4, 0x0A, 0x0B));
        assertThat(Aml.method("_SRS", 1, true)).isEqualTo(b(0x14, 0x06, '_', 'S', 'R', 'S', 0x09));
        assertThat(Aml.method("M7", 7, false)).isEqualTo(b(0x14, 0x06, 'M', '7', '_', '_', 0x07));
        assertThatThrownBy(() -> Aml.method("M8", 8, false)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void operationRegionAndField() {
        assertThat(Aml.operationRegion("PIRQ", Aml.RegionSpace.PCI_CONFIG, 0x60, 4))
                .isEqualTo(b(0x5B, 0x80, 'P', 'I', 'R', 'Q', 0x02, 0x0A, 0x60, 0x0A, 0x04));
        assertThat(Aml.operationRegion("PMIO", Aml.RegionSpace.SYSTEM_IO, 0x600, 0x40))
                .isEqualTo(b(0x5B, 0x80, 'P', 'M', 'I', 'O', 0x01, 0x0B, 0x00, 0x06, 0x0A, 0x40));
        byte[] f = Aml.field("PIRQ", Aml.AccessType.BYTE, Aml.UpdateRule.PRESERVE,
                new Aml.FieldUnit.Named("PRQA", 8), new Aml.FieldUnit.Reserved(8), new Aml.FieldUnit.Named("PRQC", 8));
        // FieldOp, PkgLength 0x12 (itself and the 17 bytes after it), region, flags ByteAcc|NoLock|Preserve, units.
        assertThat(f).isEqualTo(b(0x5B, 0x81, 0x12, 'P', 'I', 'R', 'Q', 0x01,
                'P', 'R', 'Q', 'A', 0x08, 0x00, 0x08, 'P', 'R', 'Q', 'C', 0x08));
        byte[] g = Aml.field("R", Aml.AccessType.DWORD, Aml.UpdateRule.WRITE_AS_ZEROS,
                new Aml.FieldUnit.Named("X", 32));
        assertThat(g[7]).as("DWordAcc | WriteAsZeros << 5").isEqualTo((byte) 0x43);
    }

    @Test
    void statementsAndExpressions() {
        byte[] prqa = Aml.nameString("PRQA");
        assertThat(Aml.local(0)).isEqualTo(b(0x60));
        assertThat(Aml.local(7)).isEqualTo(b(0x67));
        assertThat(Aml.arg(0)).isEqualTo(b(0x68));
        assertThat(Aml.arg(6)).isEqualTo(b(0x6E));
        assertThatThrownBy(() -> Aml.arg(7)).isInstanceOf(IllegalArgumentException.class);
        assertThat(Aml.store(Aml.arg(0), Aml.local(1))).isEqualTo(b(0x70, 0x68, 0x61));
        // And(PRQA, 0x80): NullName target.
        assertThat(Aml.and(prqa, Aml.integer(0x80))).isEqualTo(b(0x7B, 'P', 'R', 'Q', 'A', 0x0A, 0x80, 0x00));
        assertThat(Aml.or(prqa, Aml.integer(0x80), prqa))
                .isEqualTo(b(0x7D, 'P', 'R', 'Q', 'A', 0x0A, 0x80, 'P', 'R', 'Q', 'A'));
        assertThat(Aml.lEqual(Aml.local(0), Aml.integer(2))).isEqualTo(b(0x93, 0x60, 0x0A, 0x02));
        assertThat(Aml.lLess(Aml.local(0), Aml.integer(0x80))).isEqualTo(b(0x95, 0x60, 0x0A, 0x80));
        assertThat(Aml.ret(Aml.integer(1))).isEqualTo(b(0xA4, 0x01));
        // If (LLess (Local0, 0x80)) { Return (One) } Else { Return (Zero) }
        byte[] ifElse = Aml.concat(Aml.ifThen(Aml.lLess(Aml.local(0), Aml.integer(0x80)), Aml.ret(Aml.integer(1))),
                Aml.elseThen(Aml.ret(Aml.integer(0))));
        assertThat(ifElse).isEqualTo(b(0xA0, 0x07, 0x95, 0x60, 0x0A, 0x80, 0xA4, 0x01, 0xA1, 0x03, 0xA4, 0x00));
        assertThat(Aml.createDWordField(Aml.arg(0), 5, "IRQN"))
                .isEqualTo(b(0x8A, 0x68, 0x0A, 0x05, 'I', 'R', 'Q', 'N'));
    }

    @Test
    void extendedInterruptDescriptor() {
        byte[] d = Aml.interrupt(Aml.Trigger.LEVEL, Aml.Polarity.ACTIVE_HIGH, Aml.Sharing.SHARED, 5, 10, 11);
        // Tag 0x89, length 14 (flags, count, 3 DWords), flags consumer | shared, count 3.
        assertThat(d).isEqualTo(b(0x89, 0x0E, 0x00, 0x09, 0x03, 5, 0, 0, 0, 10, 0, 0, 0, 11, 0, 0, 0));
        byte[] e = Aml.interrupt(Aml.Trigger.EDGE, Aml.Polarity.ACTIVE_LOW, Aml.Sharing.EXCLUSIVE, 9);
        assertThat(e).isEqualTo(b(0x89, 0x06, 0x00, 0x07, 0x01, 9, 0, 0, 0));
    }

    @Test
    void addressSpaceDescriptors() {
        // Tag, length, type, general flags (MinFixed | MaxFixed), type flags, granularity, min, max, tra, len.
        assertThat(Aml.wordBusNumber(0, 0xFF)).isEqualTo(b(0x88, 0x0D, 0x00, 0x02, 0x0C, 0x00,
                0, 0, 0, 0, 0xFF, 0, 0, 0, 0x00, 0x01));
        assertThat(Aml.dwordIo(0x0D00, 0xFFFF)).isEqualTo(b(0x87, 0x17, 0x00, 0x01, 0x0C, 0x03,
                0, 0, 0, 0, 0x00, 0x0D, 0, 0, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0x00, 0xF3, 0, 0));
        assertThat(Aml.dwordMemory(Aml.Cacheability.NON_CACHEABLE, 0xE000_0000L, 0xFEBF_FFFFL))
                .isEqualTo(b(0x87, 0x17, 0x00, 0x00, 0x0C, 0x01,
                        0, 0, 0, 0, 0, 0, 0, 0xE0, 0xFF, 0xFF, 0xBF, 0xFE, 0, 0, 0, 0, 0, 0, 0xC0, 0x1E));
        assertThat(Aml.dwordMemory(Aml.Cacheability.CACHEABLE, 0xA_0000, 0xB_FFFF)[5]).as("cacheable, RW")
                .isEqualTo((byte) 0x03);
        byte[] q = Aml.qwordMemory(Aml.Cacheability.CACHEABLE, 0x1_0000_0000L, 0x1_7FFF_FFFFL);
        assertThat(q).isEqualTo(b(0x8A, 0x2B, 0x00, 0x00, 0x0C, 0x03,
                0, 0, 0, 0, 0, 0, 0, 0,
                0, 0, 0, 0, 1, 0, 0, 0,
                0xFF, 0xFF, 0xFF, 0x7F, 1, 0, 0, 0,
                0, 0, 0, 0, 0, 0, 0, 0,
                0, 0, 0, 0x80, 0, 0, 0, 0));
        assertThatThrownBy(() -> Aml.dwordIo(0x10, 0x1_0000_0000L)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Aml.wordBusNumber(0x10, 0x0F)).isInstanceOf(IllegalArgumentException.class);
    }
}
