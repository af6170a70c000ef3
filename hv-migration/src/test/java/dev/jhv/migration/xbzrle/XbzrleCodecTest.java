package dev.jhv.migration.xbzrle;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class XbzrleCodecTest {
    static final int PAGE = 4096;

    static byte[] random(Random r) {
        byte[] b = new byte[PAGE];
        r.nextBytes(b);
        return b;
    }

    static int encode(byte[] prev, byte[] cur, byte[] out) {
        return XbzrleCodec.encode(MemorySegment.ofArray(prev), 0, MemorySegment.ofArray(cur), 0, PAGE, out, PAGE);
    }

    static byte[] decode(byte[] prev, byte[] enc, int len) {
        byte[] page = prev.clone();
        XbzrleCodec.decode(enc, 0, len, MemorySegment.ofArray(page), 0, PAGE);
        return page;
    }

    @Test
    void anUnchangedPageEncodesToNothing() {
        byte[] p = random(new Random(1));
        assertThat(encode(p, p.clone(), new byte[PAGE])).isZero();
    }

    @Test
    void theEncodingIsQemusRunsWithUleb128Lengths() {
        byte[] prev = new byte[PAGE];
        byte[] cur = prev.clone();
        cur[0] = 1;             // a changed run at the start: empty first unchanged run
        cur[200] = 2;           // 199 unchanged (ULEB128 c7 01), 2 changed
        cur[201] = 3;
        byte[] out = new byte[PAGE];
        int n = encode(prev, cur, out);
        // 00 01 01 | c7 01 02 02 03; the unchanged tail is not encoded
        assertThat(HexFormat.of().formatHex(out, 0, n)).isEqualTo("000101c701020203");
        assertThat(decode(prev, out, n)).isEqualTo(cur);
    }

    @Test
    void randomSparseChangesRoundTrip() {
        Random r = new Random(42);
        for (int round = 0; round < 2000; round++) {
            byte[] prev = random(r);
            byte[] cur = prev.clone();
            int changes = 1 + r.nextInt(40);
            for (int c = 0; c < changes; c++) {
                int at = r.nextInt(PAGE);
                int len = 1 + r.nextInt(Math.min(64, PAGE - at));
                for (int k = 0; k < len; k++) {
                    cur[at + k] = (byte) r.nextInt(); // may equal the old byte: runs split there
                }
            }
            byte[] out = new byte[PAGE];
            int n = encode(prev, cur, out);
            if (n == 0) {
                assertThat(cur).isEqualTo(prev);
                continue;
            }
            assertThat(n).isPositive();
            assertThat(decode(prev, out, n)).isEqualTo(cur);
        }
    }

    @Test
    void aWhollyChangedPageOverflows() {
        Random r = new Random(7);
        byte[] prev = random(r);
        byte[] cur = prev.clone();
        for (int i = 0; i < PAGE; i++) {
            cur[i] = (byte) ~cur[i];
        }
        assertThat(encode(prev, cur, new byte[PAGE])).isEqualTo(XbzrleCodec.OVERFLOW);
    }

    @Test
    void theOverflowCutIsAtTheLimit() {
        // every other byte changed: each change costs 3 bytes (two lengths and the byte), 2048 of them do not fit
        byte[] prev = new byte[PAGE];
        byte[] cur = prev.clone();
        for (int i = 0; i < PAGE; i += 2) {
            cur[i] = 1;
        }
        byte[] out = new byte[PAGE];
        assertThat(encode(prev, cur, out)).isEqualTo(XbzrleCodec.OVERFLOW);
        // the first 1365 changes take 1 + 1 + 1 (first) + 3 * 1364 = 4095 bytes: with a limit of 4095 they fit
        byte[] part = prev.clone();
        System.arraycopy(cur, 0, part, 0, 2 * 1365);
        int n = XbzrleCodec.encode(MemorySegment.ofArray(prev), 0, MemorySegment.ofArray(part), 0, PAGE, out, 4095);
        assertThat(n).isEqualTo(4095);
        assertThat(XbzrleCodec.encode(MemorySegment.ofArray(prev), 0, MemorySegment.ofArray(part), 0, PAGE, out,
                4094)).isEqualTo(XbzrleCodec.OVERFLOW);
        assertThat(decode(prev, out, n)).isEqualTo(part);
    }

    @Test
    void aChangeInTheLastBytesEndsTheEncoding() {
        byte[] prev = new byte[PAGE];
        byte[] cur = prev.clone();
        cur[PAGE - 1] = 9;
        byte[] out = new byte[PAGE];
        int n = encode(prev, cur, out);
        assertThat(HexFormat.of().formatHex(out, 0, n)).isEqualTo("ff1f0109");
        assertThat(decode(prev, out, n)).isEqualTo(cur);
    }

    static String refusal(String hex) {
        byte[] enc = HexFormat.of().parseHex(hex);
        try {
            XbzrleCodec.decode(enc, 0, enc.length, MemorySegment.ofArray(new byte[PAGE]), 0, PAGE);
            return null;
        } catch (XbzrleCodec.DecodeException e) {
            return e.getMessage();
        }
    }

    @Test
    void hostileEncodingsAreNamedNotThrownAsIndexErrors() {
        assertThat(refusal("8120")).contains("unchanged run of 4097 bytes at page byte 0 passes the page end");
        assertThat(refusal("0081200000")).contains("changed run of 4097 bytes");
        assertThat(refusal("000501")).contains("changed run of 5 bytes at encoded byte 1 passes the encoding's end");
        assertThat(refusal("0000")).contains("empty changed run at encoded byte 1");
        assertThat(refusal("00010105")).contains("the encoding ends after an unchanged run");
        assertThat(refusal("000101000101")).contains("empty unchanged run at encoded byte 3");
        assertThat(refusal("80")).contains("cut off by the end");
        assertThat(refusal("808001")).contains("longer than two bytes");
        assertThat(refusal("ff1f0201")).contains("changed run of 2 bytes at page byte 4095 passes the page end");
        assertThat(refusal("0001ff")).isNull();
    }

    @Test
    void randomGarbageNeverEscapesAsAnotherException() {
        Random r = new Random(3);
        byte[] page = new byte[PAGE];
        for (int round = 0; round < 20000; round++) {
            byte[] enc = new byte[1 + r.nextInt(16)];
            r.nextBytes(enc);
            try {
                XbzrleCodec.decode(enc, 0, enc.length, MemorySegment.ofArray(page), 0, PAGE);
            } catch (XbzrleCodec.DecodeException e) {
                assertThat(e.getMessage()).isNotBlank();
            }
        }
        Arrays.fill(page, (byte) 0);
    }
}
