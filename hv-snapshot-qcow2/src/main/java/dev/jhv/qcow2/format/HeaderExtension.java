package dev.jhv.qcow2.format;

import java.nio.charset.StandardCharsets;

/** One header extension: a type magic and its payload. */
public record HeaderExtension(int type, byte[] data) {
    public static final int END = 0;
    public static final int BACKING_FORMAT = 0xe2792aca;
    public static final int FEATURE_NAME_TABLE = 0x6803f857;
    public static final int BITMAPS = 0x23852875;
    public static final int EXTERNAL_DATA_FILE = 0x44415441;

    /** An entry of the feature name table: type 0 incompatible, 1 compatible, 2 autoclear. */
    public record FeatureName(int type, int bit, String name) {}

    /** The table QEMU writes, so that other tools can name our feature bits. */
    static byte[] defaultFeatureTable() {
        Object[][] rows = {
            {0, 0, "dirty bit"}, {0, 1, "corrupt bit"}, {0, 2, "external data file"},
            {0, 3, "compression type"}, {0, 4, "extended L2 entries"},
            {1, 0, "lazy refcounts"}, {2, 0, "bitmaps"}, {2, 1, "raw external data"}};
        byte[] t = new byte[rows.length * 48];
        for (int i = 0; i < rows.length; i++) {
            t[i * 48] = (byte) (int) (Integer) rows[i][0];
            t[i * 48 + 1] = (byte) (int) (Integer) rows[i][1];
            byte[] n = ((String) rows[i][2]).getBytes(StandardCharsets.US_ASCII);
            System.arraycopy(n, 0, t, i * 48 + 2, n.length);
        }
        return t;
    }
}
