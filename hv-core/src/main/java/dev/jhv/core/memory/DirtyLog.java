package dev.jhv.core.memory;

import dev.jhv.core.kvm.KvmException;
import dev.jhv.core.kvm.KvmIoctls;
import dev.jhv.core.kvm.KvmVm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * Which guest pages changed since the last look, for a migration: KVM's per-slot log of pages the vCPUs wrote
 * (KVM_MEM_LOG_DIRTY_PAGES, read by KVM_GET_DIRTY_LOG) merged with the pages the VMM wrote itself
 * ({@link GuestMemory#markWritten}), which KVM does not see. One bit per 4 KiB page, bit i of word i/64 = page i,
 * per RAM region in the order {@link GuestMemory#regions()} gives.
 *
 * <p>Two ways to re-arm the log. Without KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 (or with it turned off), KVM_GET_DIRTY_LOG
 * clears KVM's bits and write-protects every page it reports, all of RAM in one call. With it, the get only reads,
 * and the pages are re-protected by KVM_CLEAR_DIRTY_LOG, one chunk of {@link #DEFAULT_CHUNK_PAGES} at a time: a
 * migration's RAM sender calls {@link #clearForSending} just before it reads a chunk's pages, so a guest write after
 * that is reported by the next sync, and the time between re-protecting a page and sending it is one chunk's worth.
 *
 * <p>{@link #sync} reports and re-arms everything at once (each page written is reported once). {@link
 * #syncKeepingProtection} reports, but a page it reported stays reported by later syncs until {@link
 * #clearForSending} has covered its chunk; that holds in both ways, so a caller needs not know which is in use.
 */
public final class DirtyLog implements AutoCloseable {
    /**
     * A KVM memory slot and the region it maps; {@link #UNTRACKED} for a region whose mapping the board changes at
     * run time (a few pages of shadow RAM): it is reported written whole at every sync.
     */
    public record Slot(int id, GuestMemory.Region region) {
        public static final int UNTRACKED = -1;

        boolean tracked() {
            return id != UNTRACKED;
        }
    }

    /**
     * Pages per KVM_CLEAR_DIRTY_LOG: 2 MiB of guest RAM, the size of an x86 large page, so each call re-protects
     * whole large mappings. One call per 2 MiB is a few µs per 16 ms of sending at the default 128 MiB/s (well under
     * 1 %, and about 1000 calls for a 2 GiB guest's pass), while a page is re-protected at most one chunk's send
     * time before it goes out, instead of a whole pass's (seconds): pages the guest writes in that window are the
     * ones sent twice. QEMU's default is far coarser (1 GiB); smaller chunks buy little more, since the sender
     * reads a 2 MiB chunk in well under a millisecond when the link is fast.
     */
    public static final int DEFAULT_CHUNK_PAGES = 512;

    private static final System.Logger LOG = System.getLogger(DirtyLog.class.getName());

    private final KvmVm vm;
    private final GuestMemory memory;
    private final List<Slot> slots;
    private final int chunkPages;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment[] kvmBitmaps;
    private final MemorySegment clearBitmap;
    /** Per slot: the pages a sync reported that no {@link #clearForSending} has covered yet. */
    private final long[][] uncleared;
    /**
     * Whether to start all-dirty logging with KVM_DIRTY_LOG_INITIALLY_SET (-Djhv.dirty-log.initially-set=true).
     * Off by default: on this nested KVM, clearing chunks that KVM itself set made an idle 2 GiB migration 0.37 s
     * slower and cost 0.8 s of CPU (benchmarks/migrate.sh); without it the log starts write-protected as before, and
     * each chunk's clear protects only what the guest really wrote.
     */
    static final boolean INITIALLY_SET = Boolean.parseBoolean(System.getProperty("jhv.dirty-log.initially-set",
            "false"));
    /** The flags KVM offers for KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 (0: none, or we do not use it). */
    private int manualCaps;
    /** Whether the current logging runs with manual protection, and whether it started with every bit set. */
    private boolean manual;
    private boolean initiallySet;
    private boolean logging;

    /**
     * Uses KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 where KVM offers it, unless the system property
     * {@code jhv.dirty-log.manual-protect} is {@code false}.
     *
     * @param slots one per region of {@code memory}, in its order
     */
    public DirtyLog(KvmVm vm, GuestMemory memory, List<Slot> slots) {
        this(vm, memory, slots, Boolean.parseBoolean(System.getProperty("jhv.dirty-log.manual-protect", "true")),
                Integer.getInteger("jhv.dirty-log.chunk-pages", DEFAULT_CHUNK_PAGES));
    }

    /**
     * @param manualProtect use KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 if KVM offers it; false: the get re-protects
     * @param chunkPages    pages per KVM_CLEAR_DIRTY_LOG, a positive multiple of 64
     */
    public DirtyLog(KvmVm vm, GuestMemory memory, List<Slot> slots, boolean manualProtect, int chunkPages) {
        if (chunkPages <= 0 || chunkPages % 64 != 0) {
            throw new IllegalArgumentException("chunk of " + chunkPages + " pages: must be a positive multiple of 64");
        }
        this.vm = vm;
        this.memory = memory;
        this.slots = List.copyOf(slots);
        this.chunkPages = chunkPages;
        this.kvmBitmaps = new MemorySegment[slots.size()];
        this.uncleared = new long[slots.size()][];
        for (int i = 0; i < slots.size(); i++) {
            // KVM writes whole 64-bit words
            kvmBitmaps[i] = arena.allocate(words(slots.get(i).region()) * 8L, 8);
            uncleared[i] = new long[words(slots.get(i).region())];
        }
        this.clearBitmap = arena.allocate(chunkPages / 8, 8);
        int offered = manualProtect ? vm.checkExtension(KvmIoctls.CAP_MANUAL_DIRTY_LOG_PROTECT2) : 0;
        this.manualCaps = (offered & KvmIoctls.DIRTY_LOG_MANUAL_PROTECT_ENABLE) != 0 ? offered : 0;
    }

    private static int words(GuestMemory.Region r) {
        return (int) ((r.size() / GuestMemory.PAGE_SIZE + 63) / 64);
    }

    private static long pages(GuestMemory.Region r) {
        return r.size() / GuestMemory.PAGE_SIZE;
    }

    /** Whether logging (the current one, else the next) re-protects pages with KVM_CLEAR_DIRTY_LOG in chunks. */
    public synchronized boolean manualProtect() {
        return logging ? manual : manualCaps != 0;
    }

    /** Whether the current logging began with every page dirty and none write-protected (KVM_DIRTY_LOG_INITIALLY_SET). */
    public synchronized boolean initiallySet() {
        return logging && initiallySet;
    }

    /** Pages per KVM_CLEAR_DIRTY_LOG. */
    public int chunkPages() {
        return chunkPages;
    }

    /** Turns logging on: from now on every page written is reported by the next {@link #sync}. */
    public synchronized void start() {
        start(false);
    }

    /**
     * Turns logging on with every page already counted as written, for a caller that sends all of RAM first: each
     * page is reported until {@link #clearForSending} covers it. With KVM_DIRTY_LOG_INITIALLY_SET, KVM write-protects
     * nothing now; each chunk is protected when it is cleared, just before it is sent.
     */
    public synchronized void startAllDirty() {
        start(true);
    }

    private void start(boolean allDirty) {
        if (logging) {
            return;
        }
        manual = false;
        initiallySet = false;
        if (manualCaps != 0) {
            boolean init = allDirty && INITIALLY_SET && (manualCaps & KvmIoctls.DIRTY_LOG_INITIALLY_SET) != 0;
            long flags = KvmIoctls.DIRTY_LOG_MANUAL_PROTECT_ENABLE | (init ? KvmIoctls.DIRTY_LOG_INITIALLY_SET : 0);
            try {
                // before the slots get KVM_MEM_LOG_DIRTY_PAGES: that is when KVM sets up (and maybe fills) the bitmap
                vm.enableCap(KvmIoctls.CAP_MANUAL_DIRTY_LOG_PROTECT2, flags);
                manual = true;
                initiallySet = init;
            } catch (KvmException e) {
                LOG.log(System.Logger.Level.WARNING, "dirty log: manual protection unavailable, "
                        + "KVM_GET_DIRTY_LOG will write-protect: " + e.getMessage());
                manualCaps = 0;
            }
        }
        for (long[] u : uncleared) {
            java.util.Arrays.fill(u, allDirty ? -1L : 0L);
        }
        if (allDirty) {
            for (int i = 0; i < slots.size(); i++) {
                trimTail(uncleared[i], pages(slots.get(i).region()));
            }
        }
        memory.startWriteTracking();
        for (Slot s : slots) {
            if (s.tracked()) {
                vm.setUserMemoryRegion(s.id(), KvmIoctls.MEM_LOG_DIRTY_PAGES, s.region().gpa(), s.region().segment());
            }
        }
        logging = true;
    }

    private static void trimTail(long[] bits, long pages) {
        if (pages % 64 != 0) {
            bits[bits.length - 1] &= (1L << (pages % 64)) - 1;
        }
    }

    /** The pages written since {@link #start} or the previous sync, per region; re-arms the log for all of them. */
    public synchronized long[][] sync() {
        long[][] out = syncKeepingProtection();
        for (int i = 0; i < slots.size(); i++) {
            long n = pages(slots.get(i).region());
            for (long first = 0; first < n; first += chunkPages) {
                clearChunk(i, first);
            }
        }
        return out;
    }

    /**
     * The pages written since {@link #start}, per region, that no {@link #clearForSending} has covered since they
     * were reported: a page stays reported until its chunk is cleared (it is still to be sent), and a page written
     * after its chunk was cleared is reported again.
     */
    public synchronized long[][] syncKeepingProtection() {
        long[][] out = new long[slots.size()][];
        for (int i = 0; i < slots.size(); i++) {
            Slot s = slots.get(i);
            long[] bits = memory.takeWritten(i);
            long[] u = uncleared[i];
            if (logging && !s.tracked()) {
                java.util.Arrays.fill(bits, -1L);
                trimTail(bits, pages(s.region()));
            } else if (logging) {
                vm.getDirtyLog(s.id(), kvmBitmaps[i]);
                for (int w = 0; w < bits.length; w++) {
                    bits[w] |= kvmBitmaps[i].getAtIndex(ValueLayout.JAVA_LONG, w) | u[w];
                    u[w] = bits[w];
                }
            }
            out[i] = bits;
        }
        return out;
    }

    /**
     * Says that the caller is about to read page {@code page} of region {@code region} to send it: the reported
     * pages of its chunk are marked clean and (with manual protection) write-protected again, so that a write from
     * now on is reported by the next sync. Cheap when the chunk holds nothing reported. The caller must send every
     * page of the chunk that a sync reported (they are all still to be sent): their bits are given back here.
     *
     * @return the first page after the chunk: the next page that needs a call
     */
    public synchronized long clearForSending(int region, long page) {
        long first = page - page % chunkPages;
        if (logging) {
            clearChunk(region, first);
        }
        return first + chunkPages;
    }

    private void clearChunk(int region, long first) {
        long[] u = uncleared[region];
        int w0 = (int) (first >>> 6);
        int w1 = (int) Math.min(u.length, w0 + chunkPages / 64L);
        long any = 0;
        for (int w = w0; w < w1; w++) {
            any |= u[w];
        }
        if (any == 0) {
            return;
        }
        if (manual && slots.get(region).tracked()) {
            for (int w = w0; w < w1; w++) {
                clearBitmap.setAtIndex(ValueLayout.JAVA_LONG, w - w0, u[w]);
            }
            // first is a multiple of 64; the count is too, unless the chunk ends the slot
            int count = (int) Math.min(chunkPages, pages(slots.get(region).region()) - first);
            vm.clearDirtyLog(slots.get(region).id(), first, count, clearBitmap);
        }
        java.util.Arrays.fill(u, w0, w1, 0L);
    }

    /** Turns logging off (KVM stops write-protecting pages for it). */
    public synchronized void stop() {
        if (!logging) {
            return;
        }
        for (Slot s : slots) {
            if (s.tracked()) {
                vm.setUserMemoryRegion(s.id(), 0, s.region().gpa(), s.region().segment());
            }
        }
        memory.stopWriteTracking();
        for (long[] u : uncleared) {
            java.util.Arrays.fill(u, 0L);
        }
        logging = false;
    }

    /** Counts the set bits of a sync's result. */
    public static long count(long[][] bitmaps) {
        long n = 0;
        for (long[] b : bitmaps) {
            for (long w : b) {
                n += Long.bitCount(w);
            }
        }
        return n;
    }

    @Override
    public synchronized void close() {
        stop();
        arena.close();
    }
}
