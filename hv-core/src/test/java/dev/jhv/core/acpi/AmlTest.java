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
}
