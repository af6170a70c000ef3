package dev.jhv.devices.fwcfg;

import dev.jhv.core.bus.BusHandler;
import dev.jhv.core.device.Stateful;
import dev.jhv.core.memory.GuestMemory;
import dev.jhv.core.vmstate.RecordDescription;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;

/**
 * QEMU's firmware configuration device (fw_cfg) on the PC's I/O ports, with its DMA interface: items (blobs)
 * selected by a 16-bit key and read byte by byte or by DMA into guest RAM. One handler covers 12 ports from
 * {@link #IO_BASE}:
 * <pre>
 *   +0  selector  16-bit write: selects an item and sets the data offset to 0
 *   +1  data      8-bit read: the next byte of the item (0 past its end); writes are ignored
 *   +4  DMA address, big-endian: a 32-bit write of the high half (+4), then of the low half (+8), or one
 *       64-bit write (+4), starts a transfer described by the FWCfgDmaAccess at that guest address;
 *       reading it gives the signature "QEMU CFG"
 * </pre>
 * A transfer reads the access {be32 control; be32 length; be64 address}, optionally selects the key in control's
 * high 16 bits, then reads, writes (writable items only) or skips {@code length} bytes at the data offset, and
 * writes control back as 0, or as {@link #DMA_CTL_ERROR} when a guest address was outside RAM or an item refused
 * a write. Items are built by {@link FwCfgBuilder}.
 */
public final class FwCfg implements BusHandler, Stateful<FwCfg.State> {
    public static final int IO_BASE = 0x510;
    /** Ports the handler covers: selector, data, two unused, the 8-byte DMA address. */
    public static final int IO_LENGTH = 12;
    static final int SELECTOR_OFFSET = 0;
    static final int DATA_OFFSET = 1;
    static final int DMA_OFFSET = 4;
    static final int DMA_LENGTH = 8;

    // Item keys (QEMU's docs/specs/fw_cfg).
    public static final int SIGNATURE = 0x00;
    public static final int ID = 0x01;
    public static final int UUID = 0x02;
    public static final int RAM_SIZE = 0x03;
    public static final int NOGRAPHIC = 0x04;
    public static final int NB_CPUS = 0x05;
    public static final int BOOT_MENU = 0x0e;
    public static final int MAX_CPUS = 0x0f;
    public static final int FILE_DIR = 0x19;
    public static final int FILE_FIRST = 0x20;
    /** Bit 14 of a key asked for write access to the data port; ignored, as QEMU ≥ 2.4 ignores data writes. */
    public static final int WRITE_CHANNEL = 0x4000;
    /** Bit 15: the architecture's own items (0x8000 ACPI tables, 0x8002 IRQ0 override, ...). */
    public static final int ARCH_LOCAL = 0x8000;
    /** Bits of a key that name an item. */
    static final int KEY_MASK = ~WRITE_CHANNEL & 0xFFFF;

    // FW_CFG_ID feature bits.
    public static final int ID_TRADITIONAL = 1;
    public static final int ID_DMA = 2;

    // FWCfgDmaAccess.control bits.
    public static final int DMA_CTL_ERROR = 0x01;
    public static final int DMA_CTL_READ = 0x02;
    public static final int DMA_CTL_SKIP = 0x04;
    public static final int DMA_CTL_SELECT = 0x08;
    public static final int DMA_CTL_WRITE = 0x10;
    /** "QEMU CFG": what a read of the DMA address register returns, in address order. */
    static final long DMA_SIGNATURE = 0x5145_4D55_2043_4647L;
    static final int DMA_ACCESS_SIZE = 16;

    private static final System.Logger LOG = System.getLogger(FwCfg.class.getName());

    /** The DMA address register, of which the guest may have written only the high half. */
    private static final RecordDescription<State> DMA = RecordDescription.part(State.class, "fw_cfg/dma", 1)
            .u64("dma_addr")
            .build();

    /**
     * QEMU's "fw_cfg" section: the selected key and the data offset, and in the "fw_cfg/dma" subsection the
     * DMA address register (a half-written address survives). The items themselves are not migrated: both sides
     * build them from the same configuration.
     */
    public static final RecordDescription<State> VMSTATE = RecordDescription.builder(State.class, "fw_cfg", 2)
            .minimumVersion(2)
            .u16("cur_entry")
            .u32("cur_offset")
            .subsection(DMA, s -> true) // QEMU always sends it when DMA is enabled, as it is here
            .defaults(State.RESET)
            .build();

    /**
     * @param curEntry  the selector as last written (16 bits)
     * @param curOffset the data offset in the selected item (32 bits, unsigned)
     * @param dmaAddr   the DMA address register
     */
    public record State(int curEntry, int curOffset, long dmaAddr) {
        static final State RESET = new State(0, 0, 0);

        public State {
            if ((curEntry & ~0xFFFF) != 0) {
                throw new IllegalArgumentException("fw_cfg selector out of range: " + curEntry);
            }
        }
    }

    /** One item: its bytes, which the guest may overwrite by DMA only if writable. */
    record Item(byte[] data, boolean writable) {
        Item {
            Objects.requireNonNull(data);
        }
    }

    private final GuestMemory memory;
    private final Map<Integer, Item> items;
    private final ReentrantLock lock = new ReentrantLock();
    private boolean badDmaLogged;

    // Guest-visible state.
    private int curEntry;
    private long curOffset;
    private long dmaAddr;

    /** @param items by key (without {@link #WRITE_CHANNEL}), as {@link FwCfgBuilder} made them */
    FwCfg(GuestMemory memory, Map<Integer, Item> items) {
        this.memory = Objects.requireNonNull(memory, "memory");
        this.items = Map.copyOf(items);
    }

    /** The bytes of the item under {@code key}, or null (tests, diagnostics). */
    public byte[] item(int key) {
        lock.lock();
        try {
            Item it = items.get(key & KEY_MASK);
            return it == null ? null : it.data().clone();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String id() {
        return "fw_cfg";
    }

    /** Machine reset: the signature selected, offset and DMA address 0. */
    @Override
    public void reset() {
        lock.lock();
        try {
            curEntry = SIGNATURE;
            curOffset = 0;
            dmaAddr = 0;
        } finally {
            lock.unlock();
        }
    }

    // ---- BusHandler ----

    @Override
    public long read(long offset, int size) {
        if (offset == DATA_OFFSET) {
            lock.lock();
            try {
                long v = 0;
                for (int i = 0; i < size; i++) {
                    v |= (long) nextByte() << (8 * i);
                }
                return v;
            } finally {
                lock.unlock();
            }
        }
        if (offset >= DMA_OFFSET && offset + size <= DMA_OFFSET + DMA_LENGTH) {
            // The register is big-endian: the byte at DMA_OFFSET + i is the signature's i-th character.
            int first = (int) (offset - DMA_OFFSET);
            long v = 0;
            for (int i = 0; i < size; i++) {
                v |= ((DMA_SIGNATURE >>> (8 * (7 - first - i))) & 0xFF) << (8 * i);
            }
            return v;
        }
        return 0;
    }

    @Override
    public void write(long offset, int size, long value) {
        lock.lock();
        try {
            if (offset == SELECTOR_OFFSET && size == 2) {
                select((int) value & 0xFFFF);
            } else if (offset == DMA_OFFSET && size == 8) {
                dmaAddr = Long.reverseBytes(value);
                transfer();
            } else if (offset == DMA_OFFSET && size == 4) {
                // The high half only stores; the low half's write starts the transfer (and may come alone).
                dmaAddr = (dmaAddr & 0xFFFF_FFFFL) | (long) Integer.reverseBytes((int) value) << 32;
            } else if (offset == DMA_OFFSET + 4 && size == 4) {
                dmaAddr = (dmaAddr & ~0xFFFF_FFFFL) | (Integer.reverseBytes((int) value) & 0xFFFF_FFFFL);
                transfer();
            }
            // Data port writes are ignored (QEMU ≥ 2.4); other accesses hit no register.
        } finally {
            lock.unlock();
        }
    }

    private void select(int key) {
        curEntry = key;
        curOffset = 0;
    }

    private Item current() {
        return items.get(curEntry & KEY_MASK);
    }

    private int nextByte() {
        Item it = current();
        if (it == null || curOffset >= it.data().length) {
            return 0;
        }
        return it.data()[(int) curOffset++] & 0xFF;
    }

    // ---- DMA (lock held) ----

    /** Runs the transfer described at {@code dmaAddr}; the register reads 0 afterwards, as in QEMU. */
    private void transfer() {
        long access = dmaAddr;
        dmaAddr = 0;
        if (!memory.isRam(access, DMA_ACCESS_SIZE)) {
            badDma("access structure at 0x%x is outside RAM", access);
            return;
        }
        var a = ByteBuffer.wrap(memory.read(access, DMA_ACCESS_SIZE)).order(ByteOrder.BIG_ENDIAN);
        int control = a.getInt(0);
        long length = a.getInt(4) & 0xFFFF_FFFFL;
        long address = a.getLong(8);
        if ((control & DMA_CTL_SELECT) != 0) {
            select(control >>> 16);
        }
        boolean ok;
        if ((control & DMA_CTL_READ) != 0) {
            ok = dmaRead(address, length);
        } else if ((control & DMA_CTL_WRITE) != 0) {
            ok = dmaWrite(address, length);
        } else if ((control & DMA_CTL_SKIP) != 0) {
            ok = skip(length);
        } else {
            ok = true;
        }
        memory.writeInt(access, ok ? 0 : Integer.reverseBytes(DMA_CTL_ERROR)); // be32 control
    }

    private boolean dmaRead(long address, long length) {
        if (length == 0) {
            return true;
        }
        if (!memory.isRam(address, length)) {
            return badDma("read buffer 0x%x+0x%x is outside RAM", address, length);
        }
        Item it = current();
        int have = it == null ? 0 : (int) Math.max(0, Math.min(length, it.data().length - curOffset));
        var dst = memory.slice(address, length);
        if (have > 0) {
            dst.asSlice(0, have).copyFrom(MemorySegment.ofArray(it.data())
                    .asSlice(curOffset, have));
            curOffset += have;
        }
        dst.asSlice(have).fill((byte) 0); // past the end reads 0
        memory.markWritten(address, length);
        return true;
    }

    private boolean dmaWrite(long address, long length) {
        if (length == 0) {
            return true;
        }
        Item it = current();
        if (it == null || !it.writable() || curOffset + length > it.data().length) {
            // Not a guest address problem: a refused write, as QEMU reports it (error bit, nothing written).
            return false;
        }
        if (!memory.isRam(address, length)) {
            return badDma("write buffer 0x%x+0x%x is outside RAM", address, length);
        }
        MemorySegment.ofArray(it.data()).asSlice(curOffset, length)
                .copyFrom(memory.slice(address, length));
        curOffset += length;
        return true;
    }

    private boolean skip(long length) {
        Item it = current();
        if (it != null) {
            curOffset = Math.min(it.data().length, curOffset + length);
        }
        return true;
    }

    private boolean badDma(String format, Object... args) {
        if (!badDmaLogged) {
            badDmaLogged = true;
            LOG.log(System.Logger.Level.WARNING, "fw_cfg: DMA " + String.format(format, args)
                    + " (logged once)");
        }
        return false;
    }

    // ---- state ----

    @Override
    public RecordDescription<State> vmstate() {
        return VMSTATE;
    }

    @Override
    public State state() {
        lock.lock();
        try {
            return new State(curEntry, (int) curOffset, dmaAddr);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void restore(State s) {
        lock.lock();
        try {
            curEntry = s.curEntry();
            curOffset = Integer.toUnsignedLong(s.curOffset());
            dmaAddr = s.dmaAddr();
        } finally {
            lock.unlock();
        }
    }
}
