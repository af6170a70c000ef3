package dev.jhv.devices.ide;

import dev.jhv.core.bus.BusHandler;
import dev.jhv.core.device.Stateful;
import dev.jhv.core.memory.GuestMemory;
import dev.jhv.core.vmstate.RecordDescription;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

/**
 * The PIIX bus-master IDE block (SFF-8038i), 16 I/O bytes behind the IDE function's BAR4: per channel (primary at
 * +0, secondary at +8) a command register (+0: start bit 0, read/write bit 3), a status register (+2: active bit 0,
 * error bit 1 and interrupt bit 2 write-1-to-clear, drive 0/1 DMA capable bits 5/6) and the PRD table address
 * (+4, dword aligned).
 *
 * <p>A drive's DMA command runs once both it is issued and the start bit is set, in either order, on the thread
 * that did the second. The PRD table and every buffer it names must lie in RAM; a table without EOT within
 * {@link #MAX_PRD_ENTRIES} entries or an entry outside RAM sets the error bit and ends the command with ABRT (and
 * so the interrupt bit), logged once. A table shorter than the transfer ends the command with ABRT as QEMU does;
 * a longer one is fine: the transfer ends with interrupt set and active clear.
 *
 * <p>Each channel's registers are guarded by that channel's lock, so a drive in a transfer and the guest's register
 * writes never cross.
 */
public final class BusMasterDma implements BusHandler, Stateful<BusMasterDma.State> {
    public static final int LENGTH = 16;
    static final int CMD_START = 0x01;
    static final int CMD_WRITE_TO_MEMORY = 0x08;
    static final int STATUS_ACTIVE = 0x01;
    static final int STATUS_ERROR = 0x02;
    static final int STATUS_INTERRUPT = 0x04;
    static final int STATUS_DRIVE0_DMA = 0x20;
    static final int STATUS_DRIVE1_DMA = 0x40;
    /** A PRD table may not cross a 64 KiB boundary (SFF-8038i), so it has at most 8192 entries. */
    static final int MAX_PRD_ENTRIES = 65536 / 8;
    private static final System.Logger LOG = System.getLogger(BusMasterDma.class.getName());

    /** One channel's registers, as QEMU's "ide/bmdma". */
    public record Channel(int cmd, int status, int addr) { }

    public record State(Channel bmdma0, Channel bmdma1) { }

    private static final RecordDescription<Channel> CHANNEL = RecordDescription.part(Channel.class, "bmdma", 1)
            .u8("cmd").u8("status").u32("addr")
            .build();

    public static final RecordDescription<State> VMSTATE = RecordDescription.builder(State.class, "piix-bmdma", 1)
            .minimumVersion(1)
            .struct("bmdma0", CHANNEL, "bmdma0")
            .struct("bmdma1", CHANNEL, "bmdma1")
            .build();

    private final GuestMemory memory;
    private final Engine[] engines;
    private boolean faultLogged;

    public BusMasterDma(GuestMemory memory, IdeChannel primary, IdeChannel secondary) {
        this.memory = Objects.requireNonNull(memory, "memory");
        engines = new Engine[] {new Engine(primary), new Engine(secondary)};
        for (Engine e : engines) {
            e.channel.connectBusMaster(e, e::interrupt);
        }
    }

    @Override
    public String id() {
        return "piix-bmdma";
    }

    @Override
    public void reset() {
        for (Engine e : engines) {
            e.channel.run(() -> {
                e.cmd = 0;
                e.status = 0;
                e.addr = 0;
            });
        }
    }

    /** After a load (or a pause): a DMA command saved with the start bit set runs now, from its registers. */
    @Override
    public void resume() {
        for (Engine e : engines) {
            e.channel.run(() -> {
                e.channel.kickDma();
            });
        }
    }

    // ---- registers ----

    @Override
    public long read(long offset, int size) {
        if (offset < 0 || offset >= LENGTH) {
            return 0xff;
        }
        long v = 0;
        for (int i = 0; i < size && offset + i < LENGTH; i++) {
            int o = (int) offset + i;
            Engine e = engines[o >> 3];
            int b = e.channel.locked(() -> e.readByte(o & 7));
            v |= (long) b << (8 * i);
        }
        return v;
    }

    @Override
    public void write(long offset, int size, long value) {
        if (offset < 0 || offset >= LENGTH) {
            return;
        }
        for (int i = 0; i < size && offset + i < LENGTH; i++) {
            int o = (int) offset + i;
            int b = (int) (value >>> (8 * i)) & 0xff;
            Engine e = engines[o >> 3];
            e.channel.run(() -> {
                e.writeByte(o & 7, b);
            });
        }
    }

    /** One channel's bus master; every method runs under that channel's lock. */
    private final class Engine implements DmaEngine {
        final IdeChannel channel;
        int cmd;
        int status;
        int addr;
        // The PRD walk of the transfer in progress (within one call of runDma: never seen by a save).
        private long cursor;
        private int entries;
        private long entryAddr;
        private long entryLeft;
        private boolean lastEntry;

        Engine(IdeChannel channel) {
            this.channel = Objects.requireNonNull(channel, "channel");
        }

        int readByte(int reg) {
            return switch (reg) {
                case 0 -> cmd;
                case 2 -> status;
                case 4, 5, 6, 7 -> (addr >>> (8 * (reg - 4))) & 0xff;
                default -> 0;
            };
        }

        void writeByte(int reg, int v) {
            switch (reg) {
                case 0 -> {
                    boolean wasStarted = (cmd & CMD_START) != 0;
                    cmd = v & (CMD_START | CMD_WRITE_TO_MEMORY);
                    if (!wasStarted && (cmd & CMD_START) != 0) {
                        status |= STATUS_ACTIVE;
                        channel.kickDma();
                    } else if (wasStarted && (cmd & CMD_START) == 0) {
                        status &= ~STATUS_ACTIVE; // stopped: a transfer still waiting is abandoned
                    }
                }
                case 2 -> status = (status & ~(STATUS_ERROR | STATUS_INTERRUPT) & ~(STATUS_DRIVE0_DMA | STATUS_DRIVE1_DMA))
                        | (status & ~v & (STATUS_ERROR | STATUS_INTERRUPT))
                        | (v & (STATUS_DRIVE0_DMA | STATUS_DRIVE1_DMA));
                case 4, 5, 6, 7 -> {
                    int shift = 8 * (reg - 4);
                    addr = ((addr & ~(0xff << shift)) | (v << shift)) & ~3;
                }
                default -> { }
            }
        }

        void interrupt() {
            status |= STATUS_INTERRUPT;
        }

        @Override
        public boolean started() {
            return (cmd & CMD_START) != 0;
        }

        @Override
        public void begin() {
            cursor = Integer.toUnsignedLong(addr);
            entries = 0;
            entryLeft = 0;
            lastEntry = false;
        }

        private Result fault(String why) {
            if (!faultLogged) {
                faultLogged = true;
                LOG.log(System.Logger.Level.WARNING, "{0}: bus master DMA error: {1}", channel.id(), why);
            }
            return Result.FAULT;
        }

        @Override
        public Result transfer(byte[] buf, int off, int len, boolean toMemory) {
            while (len > 0) {
                if (entryLeft == 0) {
                    if (lastEntry) {
                        return Result.SHORT;
                    }
                    if (entries >= MAX_PRD_ENTRIES) {
                        return fault(String.format("PRD table at 0x%x has no end within %d entries",
                                Integer.toUnsignedLong(addr), MAX_PRD_ENTRIES));
                    }
                    if (!memory.isRam(cursor, 8)) {
                        return fault(String.format("PRD entry at 0x%x is outside RAM", cursor));
                    }
                    long base = Integer.toUnsignedLong(memory.readInt(cursor));
                    int word = memory.readInt(cursor + 4);
                    int count = word & 0xfffe;
                    entryAddr = base & ~1L;
                    entryLeft = count == 0 ? 0x10000 : count;
                    lastEntry = (word & 0x8000_0000) != 0;
                    cursor += 8;
                    entries++;
                }
                int n = (int) Math.min(len, entryLeft);
                if (!memory.isRam(entryAddr, n)) {
                    return fault(String.format("PRD buffer 0x%x+0x%x is outside RAM", entryAddr, n));
                }
                MemorySegment ram = memory.slice(entryAddr, n);
                if (toMemory) {
                    MemorySegment.copy(buf, off, ram, ValueLayout.JAVA_BYTE, 0, n);
                    memory.markWritten(entryAddr, n);
                } else {
                    MemorySegment.copy(ram, ValueLayout.JAVA_BYTE, 0, buf, off, n);
                }
                entryAddr += n;
                entryLeft -= n;
                off += n;
                len -= n;
            }
            return Result.OK;
        }

        @Override
        public void end(Result result) {
            status &= ~STATUS_ACTIVE;
            if (result == Result.FAULT) {
                status |= STATUS_ERROR;
            }
        }

        Channel save() {
            return new Channel(cmd, status, addr);
        }

        void load(Channel c) {
            cmd = c.cmd() & (CMD_START | CMD_WRITE_TO_MEMORY);
            status = c.status() & (STATUS_ACTIVE | STATUS_ERROR | STATUS_INTERRUPT | STATUS_DRIVE0_DMA
                    | STATUS_DRIVE1_DMA);
            addr = c.addr() & ~3;
        }
    }

    // ---- state ----

    @Override
    public RecordDescription<State> vmstate() {
        return VMSTATE;
    }

    @Override
    public State state() {
        return new State(engines[0].channel.locked(engines[0]::save), engines[1].channel.locked(engines[1]::save));
    }

    @Override
    public void restore(State s) {
        for (int i = 0; i < 2; i++) {
            Engine e = engines[i];
            Channel c = i == 0 ? s.bmdma0() : s.bmdma1();
            e.channel.run(() -> {
                e.load(c);
            });
        }
    }
}
