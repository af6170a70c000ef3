package dev.jhv.migration.stream;

import dev.jhv.core.vmstate.VMStateInput;
import dev.jhv.core.vmstate.VMStateOutput;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Guest RAM as an iterative entry that sends every page once: the block list in START, bounded chunks of pages in
 * PART, the rest in END (the static save of a stopped machine; precopy with a dirty log drives a
 * RamSectionWriter itself). On the destination it fills the same blocks.
 */
public final class RamStateEntry implements IterativeStateEntry {
    public static final String IDSTR = "ram";
    public static final int VERSION = 1;
    /** Pages per PART section. */
    static final int CHUNK_PAGES = 8192;

    private final List<RamBlock> blocks;
    private final int chunkPages;
    private final RamStats saveStats = new RamStats();
    private RamSectionReader reader;
    private int blockCursor;
    private long pageCursor;

    public RamStateEntry(List<RamBlock> blocks) {
        this(blocks, CHUNK_PAGES);
    }

    /** @param chunkPages pages per PART section */
    public RamStateEntry(List<RamBlock> blocks, int chunkPages) {
        if (chunkPages <= 0) {
            throw new IllegalArgumentException("chunkPages must be positive");
        }
        this.blocks = List.copyOf(blocks);
        this.chunkPages = chunkPages;
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
    public void saveSetup(VMStateOutput out) {
        var w = new RamSectionWriter(out, saveStats);
        w.writeBlockList(blocks);
        w.writeEos();
        blockCursor = 0;
        pageCursor = 0;
    }

    @Override
    public boolean saveIterate(VMStateOutput out) {
        var w = new RamSectionWriter(out, saveStats);
        boolean done = send(w, chunkPages);
        w.writeEos();
        return done;
    }

    @Override
    public void saveComplete(VMStateOutput out) {
        var w = new RamSectionWriter(out, saveStats);
        send(w, Long.MAX_VALUE);
        w.writeEos();
    }

    private boolean send(RamSectionWriter w, long budget) {
        while (blockCursor < blocks.size() && budget > 0) {
            RamBlock b = blocks.get(blockCursor);
            long pages = b.size() / RamSectionWriter.PAGE_SIZE;
            long n = Math.min(budget, pages - pageCursor);
            w.writePages(b, pageCursor, pageCursor + n);
            pageCursor += n;
            budget -= n;
            if (pageCursor == pages) {
                blockCursor++;
                pageCursor = 0;
            }
        }
        return blockCursor >= blocks.size();
    }

    @Override
    public void load(VMStateInput in, SectionType type, int streamVersion) {
        if (streamVersion != VERSION) {
            throw new MigrationException("RAM section version " + streamVersion + " is not " + VERSION);
        }
        if (type == SectionType.START) {
            reader = new RamSectionReader(blocks);
        } else if (reader == null) {
            throw new MigrationException("RAM " + type + " section before its START");
        }
        reader.readBody(in);
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
}
