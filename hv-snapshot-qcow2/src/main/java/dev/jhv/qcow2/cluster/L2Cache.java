package dev.jhv.qcow2.cluster;

import dev.jhv.qcow2.format.ImageFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A bounded LRU cache of L2 tables keyed by host offset. Entries are decoded longs; updates are
 * written through to the file by the caller, so eviction never loses anything.
 */
public final class L2Cache {
    private final ImageFile file;
    private final int clusterSize;
    private final Map<Long, long[]> tables;

    public L2Cache(ImageFile file, int clusterSize, long maxBytes) {
        this.file = file;
        this.clusterSize = clusterSize;
        int max = (int) Math.max(16, maxBytes / clusterSize);
        this.tables = new LinkedHashMap<>(64, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Long, long[]> eldest) {
                return size() > max;
            }
        };
    }

    public synchronized long[] get(long offset) throws IOException {
        long[] t = tables.get(offset);
        if (t == null) {
            var b = ByteBuffer.wrap(file.readMeta(offset, clusterSize, "L2 table"));
            t = new long[clusterSize / 8];
            for (int i = 0; i < t.length; i++) t[i] = b.getLong();
            tables.put(offset, t);
        }
        return t;
    }

    public synchronized void put(long offset, long[] table) {
        tables.put(offset, table);
    }

    public synchronized void remove(long offset) {
        tables.remove(offset);
    }

    public synchronized void clear() {
        tables.clear();
    }
}
