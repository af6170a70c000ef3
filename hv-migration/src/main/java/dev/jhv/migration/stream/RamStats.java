package dev.jhv.migration.stream;

/** Counts of RAM page records written or read. */
public final class RamStats {
    private long zeroPages;
    private long normalPages;
    private long bytes;
    private long xbzrlePages;
    private long xbzrleBytes;

    /** All page records (zero and normal). */
    public long pages() {
        return zeroPages + normalPages;
    }

    public long zeroPages() {
        return zeroPages;
    }

    public long normalPages() {
        return normalPages;
    }

    /** Bytes of RAM records in the stream (headers included). */
    public long bytes() {
        return bytes;
    }

    void zero(long pages, long recordBytes) {
        zeroPages += pages;
        bytes += recordBytes;
    }

    void normal(long recordBytes) {
        normalPages++;
        bytes += recordBytes;
    }

    /** Pages sent as an XBZRLE encoding (also counted as normal pages, as QEMU counts them). */
    public long xbzrlePages() {
        return xbzrlePages;
    }

    /** Bytes of XBZRLE records (headers included). */
    public long xbzrleBytes() {
        return xbzrleBytes;
    }

    void xbzrle(long recordBytes) {
        xbzrlePages++;
        xbzrleBytes += recordBytes;
        normal(recordBytes);
    }

    void other(long recordBytes) {
        bytes += recordBytes;
    }

    @Override
    public String toString() {
        return "pages " + pages() + " (zero " + zeroPages + ", normal " + normalPages + "), " + bytes + " bytes";
    }
}
