package dev.jhv.migration.stream;

import dev.jhv.core.vmstate.VMStateInput;
import dev.jhv.core.vmstate.VMStateOutput;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Guest RAM as an iterative entry. Every page starts pending; START carries the block list, each PART sends up to
 * {@code chunkPages} pending pages from where the last one stopped, END sends every page still pending. Precopy
 * feeds the dirty log back with {@link #markDirty} between passes and watches {@link #pendingPages()}; a static
 * save just runs START and END. On the destination it fills the same blocks.
 */
public final class RamStateEntry implements IterativeStateEntry {
    public static final String IDSTR = "ram";
    /** 2: zero pages as runs, a CRC32C after each page (see {@link RamSectionWriter}); 1 still loads. */
    public static final int VERSION = 2;
    public static final int MINIMUM_VERSION = 1;
    /** Pages per PART section. */
    static final int CHUNK_PAGES = 8192;

    private final List<RamBlock> blocks;
    private final int chunkPages;
    private final RamStats saveStats = new RamStats();
    private final long[][] pending; // per block, bit i of word i/64 = page i (KVM's dirty-log layout)
    private long pendingCount;
    private RamSectionReader reader;
    /** False for an entry that only checks what it loads (see {@link #checking}). */
    private final boolean writes;
    private int blockCursor;
    private long pageCursor;
    private BeforeSend beforeSend;
    /** Sends pages as their changes where it can (XBZRLE), null: whole. */
    private RamSectionWriter.PageDelta delta;

    /**
     * Told which page a save is about to read, just before it reads it. It answers how far what it did holds (the
     * dirty log re-arms a whole chunk): it is not told again of the pages before that in the same block and pass,
     * so that a pass over 2 GiB makes one call per chunk, not one per page.
     */
    @FunctionalInterface
    public interface BeforeSend {
        /**
         * Page {@code page} of block {@code block} (in {@link #blocks()}' order) is read next.
         *
         * @return the first page after {@code page} that needs a call of its own
         */
        long page(int block, long page);
    }

    /** The block and the page range [hookFrom, hookTo) the hook last covered; hookBlock -1 for none. */
    private int hookBlock = -1;
    private long hookFrom;
    private long hookTo;

    public RamStateEntry(List<RamBlock> blocks) {
        this(blocks, CHUNK_PAGES);
    }

    /** @param chunkPages pages per PART section */
    public RamStateEntry(List<RamBlock> blocks, int chunkPages) {
        this(blocks, chunkPages, true);
    }

    private RamStateEntry(List<RamBlock> blocks, int chunkPages, boolean writes) {
        this.writes = writes;
        if (chunkPages <= 0) {
            throw new IllegalArgumentException("chunkPages must be positive");
        }
        this.blocks = List.copyOf(blocks);
        this.chunkPages = chunkPages;
        this.pending = new long[blocks.size()][];
        for (int i = 0; i < blocks.size(); i++) {
            pending[i] = new long[(int) ((pages(i) + 63) / 64)];
        }
        markAllDirty();
    }

    /** An entry whose load checks the stream's RAM against {@code blocks} and writes nothing. */
    public static RamStateEntry checking(List<RamBlock> blocks) {
        return new RamStateEntry(blocks, CHUNK_PAGES, false);
    }

    private long pages(int block) {
        return blocks.get(block).size() / RamSectionWriter.PAGE_SIZE;
    }

    /** Makes every page pending again (a new save). */
    public synchronized void markAllDirty() {
        pendingCount = 0;
        for (int i = 0; i < pending.length; i++) {
            long n = pages(i);
            for (int w = 0; w < pending[i].length; w++) {
                long bits = n - 64L * w >= 64 ? -1L : (1L << (n - 64L * w)) - 1;
                pending[i][w] = bits;
                pendingCount += Long.bitCount(bits);
            }
        }
    }

    /**
     * Adds dirty pages of block {@code blockIndex} (bit i of word i/64 = page i, as KVM_GET_DIRTY_LOG returns
     * them) to the pages still to send.
     */
    public synchronized void markDirty(int blockIndex, long[] bitmap) {
        long[] p = pending[blockIndex];
        long n = pages(blockIndex);
        for (int w = 0; w < Math.min(p.length, bitmap.length); w++) {
            long valid = n - 64L * w >= 64 ? -1L : (1L << (n - 64L * w)) - 1;
            long add = bitmap[w] & valid & ~p[w];
            p[w] |= add;
            pendingCount += Long.bitCount(add);
        }
    }

    /**
     * Has {@code hook} told of every page before it is read for sending (null: none). A live migration re-arms the
     * dirty log there, chunk by chunk, so that a guest write after that is reported and the page sent again.
     */
    public synchronized void beforeSending(BeforeSend hook) {
        beforeSend = hook;
        hookBlock = -1;
    }

    /** Has every page saved from now on go through {@code d} (XBZRLE; null: whole). */
    public synchronized void encodeWith(RamSectionWriter.PageDelta d) {
        delta = d;
    }

    /** Pages still to send. */
    public synchronized long pendingPages() {
        return pendingCount;
    }

    @Override
    public String idstr() {
        return IDSTR;
    }

    @Override
    public int instanceId() {
        return 0;
    }

    @Override
    public int version() {
        return VERSION;
    }

    public List<RamBlock> blocks() {
        return blocks;
    }

    /** What saving wrote so far. */
    public RamStats saveStats() {
        return saveStats;
    }

    /** What loading read so far (null before the first section). */
    public RamStats loadStats() {
        return reader == null ? null : reader.stats();
    }

    @Override
    public synchronized void saveSetup(VMStateOutput out) {
        var w = new RamSectionWriter(out, saveStats);
        w.writeBlockList(blocks);
        if (multifdSink != null) {
            w.writeMultifdChannels(multifdSink.channels());
        }
        w.writeEos();
        blockCursor = 0;
        pageCursor = 0;
    }

    /** Sends up to chunkPages pending pages from the cursor; true when the cursor has passed every block. */
    @Override
    public synchronized boolean saveIterate(VMStateOutput out) {
        if (blockCursor >= blocks.size()) {
            blockCursor = 0; // a new pass
            pageCursor = 0;
            hookBlock = -1; // the pages the hook covered may be dirty again: it is told anew
        }
        var w = new RamSectionWriter(out, saveStats);
        w.delta(delta);
        boolean done = send(w, chunkPages);
        if (done) {
            multifdSync(w);
        }
        w.writeEos();
        return done;
    }

    /** Sends every page still pending. */
    @Override
    public synchronized void saveComplete(VMStateOutput out) {
        var w = new RamSectionWriter(out, saveStats);
        w.delta(delta);
        blockCursor = 0;
        pageCursor = 0;
        hookBlock = -1;
        send(w, Long.MAX_VALUE);
        multifdSync(w); // before the device state, which the destination applies once RAM is whole
        w.writeEos();
    }

    private void multifdSync(RamSectionWriter w) {
        if (multifdSink != null) {
            w.writeMultifdSync(multifdSink.sync());
        }
    }

    private boolean send(RamSectionWriter w, long budget) {
        while (blockCursor < blocks.size() && budget > 0) {
            long[] p = pending[blockCursor];
            long n = pages(blockCursor);
            long page = nextSetBit(p, pageCursor, n);
            if (page < 0) {
                blockCursor++;
                pageCursor = 0;
                continue;
            }
            if (beforeSend != null && (blockCursor != hookBlock || page < hookFrom || page >= hookTo)) {
                hookTo = beforeSend.page(blockCursor, page);
                hookBlock = blockCursor;
                hookFrom = page;
            }
            if (multifdSink != null) {
                multifdSink.page(blocks.get(blockCursor), page * RamSectionWriter.PAGE_SIZE);
            } else {
                w.writePage(blocks.get(blockCursor), page * RamSectionWriter.PAGE_SIZE);
            }
            p[(int) (page >>> 6)] &= ~(1L << page);
            pendingCount--;
            budget--;
            pageCursor = page + 1;
        }
        // skip what has nothing pending, so a pass that sent its last page says it is done
        while (blockCursor < blocks.size() && nextSetBit(pending[blockCursor], pageCursor, pages(blockCursor)) < 0) {
            blockCursor++;
            pageCursor = 0;
        }
        return blockCursor >= blocks.size();
    }

    /**
     * The first set bit at or after {@code from} and below {@code n} of a dirty bitmap (bit i of word i/64 = page i),
     * or -1: how the sender walks its pending pages (public for the benchmarks).
     */
    public static long nextSetBit(long[] bits, long from, long n) {
        if (from >= n) {
            return -1;
        }
        int w = (int) (from >>> 6);
        long word = bits[w] & (-1L << from);
        while (true) {
            if (word != 0) {
                long page = ((long) w << 6) + Long.numberOfTrailingZeros(word);
                return page < n ? page : -1;
            }
            if (++w >= bits.length) {
                return -1;
            }
            word = bits[w];
        }
    }

    @Override
    public void load(VMStateInput in, SectionType type, int streamVersion) {
        if (type == SectionType.START) {
            reader = new RamSectionReader(blocks, writes);
            reader.multifd(multifdSource);
        } else if (reader == null) {
            throw new MigrationException("RAM " + type + " section before its START");
        }
        reader.readBody(in, streamVersion);
        if (reader.streamBlocks() == null) {
            throw new MigrationException("RAM START section without a block list");
        }
    }

    @Override
    public Map<String, Object> describe() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", "ram");
        m.put("page_size", (long) RamSectionWriter.PAGE_SIZE);
        var bl = new ArrayList<Object>();
        for (RamBlock b : blocks) {
            Map<String, Object> bm = new LinkedHashMap<>();
            bm.put("name", b.name());
            bm.put("size", b.size());
            bl.add(bm);
        }
        m.put("blocks", bl);
        return m;
    }

    /** The multifd channels pages go over (null: the main stream), and on a destination where they come from. */
    private MultifdPages.Sink multifdSink;
    private MultifdPages.Source multifdSource;

    /** Sends pages over multifd channels (null: in the main stream); set before the save begins. */
    public synchronized void sendPagesThrough(MultifdPages.Sink sink) {
        multifdSink = sink;
    }

    /** Accepts a stream whose pages come over multifd channels (the destination's multifd capability). */
    public synchronized void receivePagesFrom(MultifdPages.Source source) {
        multifdSource = source;
    }

    /** A copy of every block's pending pages (bit i of word i/64 = page i): what postcopy still has to send. */
    public synchronized long[][] pendingBitmaps() {
        long[][] copy = new long[pending.length][];
        for (int i = 0; i < pending.length; i++) {
            copy[i] = pending[i].clone();
        }
        return copy;
    }
}
