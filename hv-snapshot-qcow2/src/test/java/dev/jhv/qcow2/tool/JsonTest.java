package dev.jhv.qcow2.tool;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * jhv-img's --output json, byte for byte: the golden files were written by the hand-written writer of earlier builds,
 * then their one string with escapes was changed to qemu-img's escaping ({@code \r \b \f} short, DEL and all
 * past ASCII as uppercase hex escapes), which that writer did not follow; JhvImgTest compares with qemu-img itself.
 */
class JsonTest {
    static String golden(String name) throws IOException {
        try (InputStream in = JsonTest.class.getResourceAsStream("golden/" + name)) {
            assertThat(in).as("golden file %s", name).isNotNull();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    static Map<String, Object> synthetic() {
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("s", "plain");
        t.put("esc", "q\"b\\s/n\nr\rt\tc\u0001\u0008\u000c\u001f\u007f\u0080 é € \ud83d\ude00 \u2028");
        t.put("key\"\\\n\u0002", "k");
        t.put("i", 42);
        t.put("imin", Integer.MIN_VALUE);
        t.put("l", Long.MIN_VALUE);
        t.put("lmax", Long.MAX_VALUE);
        t.put("d", 1.5d);
        t.put("dbig", 1e300d);
        t.put("dsmall", 1e-7d);
        t.put("neg0", -0.0d);
        t.put("dint", 3.0d);
        t.put("dlong", 12345678901234567.0d);
        t.put("t", true);
        t.put("f", false);
        t.put("n", null);
        t.put("em", new LinkedHashMap<>());
        t.put("el", new ArrayList<>());
        t.put("nested", List.of(List.of(new LinkedHashMap<>()), List.of(1L, List.of(2L, Map.of("k", List.of())), "x")));
        t.put("lnull", Arrays.asList(null, null));
        return t;
    }

    @Test
    void writesAsBefore() throws IOException {
        assertThat(Json.write(synthetic())).isEqualTo(golden("img-synthetic.json"));
        Map<String, Object> x = synthetic();
        x.put("float", 1.1f);
        x.put("short", (short) 7);
        x.put("big", new BigInteger("123456789012345678901234567890"));
        x.put("bigdec", new BigDecimal("1.50"));
        x.put("nan", Double.NaN);
        x.put("inf", Double.NEGATIVE_INFINITY);
        assertThat(Json.write(x)).isEqualTo(golden("img-synthetic-extra.json"));
        assertThat(Json.write(List.of(synthetic(), List.of(), Map.of()))).isEqualTo(golden("img-synthetic-list.json"));
    }

    @Test
    void escapesLikeQemuImg() {
        // as qemu-img 7.2 wrote this backing file name
        assertThat(Json.write(List.of("a\u0001b\rc\bd\fe\u007ff\ud83d\ude00g\u20ach\u00e9\\q\"z/.raw")))
                .isEqualTo("[\n    \"a\\u0001b\\rc\\bd\\fe\\u007Ff\\uD83D\\uDE00g\\u20ACh\\u00E9\\\\q\\\"z/.raw\"\n]");
    }

    @Test
    void indentsLikeQemuImg() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("virtual-size", 16777216L);
        m.put("snapshots", List.of(Map.of("id", "1")));
        m.put("dirty-flag", false);
        assertThat(Json.write(m)).isEqualTo("""
                {
                    "virtual-size": 16777216,
                    "snapshots": [
                        {
                            "id": "1"
                        }
                    ],
                    "dirty-flag": false
                }""");
    }
}
