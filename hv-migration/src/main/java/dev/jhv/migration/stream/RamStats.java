package dev.jhv.migration.stream;

/** Counts of RAM page records written or read (by multifd channels too, hence synchronized). */
public final class RamStats {
    private long zeroPages;
    private long normalPages;
    private long bytes;
    private long xbzrlePages;
    private long xbzrleBytes;

    /** All page records (zero and normal). */
    public synchronized long pages() {
        return zeroPages + normalPages;
    }

    public synchronized long zeroPages() {
        return zeroPages;
    }

    public synchronized long normalPages() {
        return normalPages;
    }

    /** Bytes of RAM records in the stream (headers included). */
    public synchronized long bytes() {
        return bytes;
    }

    synchronized void zero(long pages, long recordBytes) {
        zeroPages += pages;
        bytes += recordBytes;
    }

    synchronized void normal(long recordBytes) {
        normalPages++;
        bytes += recordBytes;
    }

    /** Pages sent as an XBZRLE encoding (also counted as normal pages, as QEMU counts them). */
    public synchronized long xbzrlePages() {
        return xbzrlePages;
    }

    /** Bytes of XBZRLE records (headers included). */
    public synchronized long xbzrleBytes() {
        return xbzrleBytes;
    }

    synchronized void xbzrle(long recordBytes) {
        xbzrlePages++;
        xbzrleBytes += recordBytes;
        normal(recordBytes);
    }

    synchronized void other(long recordBytes) {
        bytes += recordBytes;
    }

    @Override
    public String toString() {
        return "pages " + pages() + " (zero " + zeroPages + ", normal " + normalPages + "), " + bytes + " bytes";
    }
}
