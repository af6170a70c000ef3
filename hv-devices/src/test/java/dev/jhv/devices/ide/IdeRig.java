package dev.jhv.devices.ide;

import dev.jhv.core.block.BlockDevice;
import dev.jhv.core.block.RawFileBlockDevice;
import dev.jhv.core.memory.GuestMemory;
import dev.jhv.devices.testing.RecordingIrq;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A channel with real drives on real files, guest RAM, a bus master, and the guest's side of the registers. */
final class IdeRig implements AutoCloseable {
    static final long RAM = 1 << 20;
    final Arena arena = Arena.ofConfined();
    final GuestMemory memory = new GuestMemory(List.of(new GuestMemory.Region(0, arena.allocate(RAM, 4096))));
    final RecordingIrq irq = new RecordingIrq();
    final RecordingIrq irq2 = new RecordingIrq();
    final List<BlockDevice> opened = new ArrayList<>();
    IdeChannel channel;
    IdeChannel other;
    BusMasterDma bm;

    /** A raw file of {@code sectors} 512-byte sectors, sector i filled with (i * 7 + offset) bytes. */
    static Path image(Path dir, String name, long bytes, int unit) throws IOException {
        Path p = dir.resolve(name);
        byte[] data = new byte[(int) bytes];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i / unit * 7 + i % 251);
        }
        Files.write(p, data);
        return p;
    }

    static byte expected(long byteOffset, int unit) {
        return (byte) (byteOffset / unit * 7 + byteOffset % 251);
    }

    BlockDevice open(Path p, boolean readOnly) throws IOException {
        var d = new RawFileBlockDevice(p, readOnly);
        opened.add(d);
        return d;
    }

    IdeRig with(IdeDrive master, IdeDrive slave) {
        channel = new IdeChannel(0, irq, master, slave);
        other = new IdeChannel(1, irq2, null, null);
        bm = new BusMasterDma(memory, channel, other);
        return this;
    }

    // ---- the guest's side ----

    int in(int reg) {
        return (int) channel.commandBlock().read(reg, 1);
    }

    void out(int reg, int v) {
        channel.commandBlock().write(reg, 1, v);
    }

    int status() {
        return in(7);
    }

    int altStatus() {
        return (int) channel.controlBlock().read(0, 1);
    }

    void control(int v) {
        channel.controlBlock().write(0, 1, v);
    }

    void select(int unit) {
        out(6, 0xa0 | 0x40 | unit << 4);
    }

    void lba28(int unit, long lba, int count, int cmd) {
        out(6, 0xe0 | unit << 4 | (int) (lba >>> 24) & 0x0f);
        out(2, count);
        out(3, (int) lba & 0xff);
        out(4, (int) (lba >>> 8) & 0xff);
        out(5, (int) (lba >>> 16) & 0xff);
        out(7, cmd);
    }

    void lba48(int unit, long lba, int count, int cmd) {
        out(6, 0x40 | unit << 4);
        out(2, count >>> 8);
        out(3, (int) (lba >>> 24) & 0xff);
        out(4, (int) (lba >>> 32) & 0xff);
        out(5, (int) (lba >>> 40) & 0xff);
        out(2, count & 0xff);
        out(3, (int) lba & 0xff);
        out(4, (int) (lba >>> 8) & 0xff);
        out(5, (int) (lba >>> 16) & 0xff);
        out(7, cmd);
    }

    byte[] readData(int bytes) {
        byte[] b = new byte[bytes + 1];
        for (int i = 0; i < bytes; i += 2) {
            int w = (int) channel.commandBlock().read(0, 2);
            b[i] = (byte) w;
            b[i + 1] = (byte) (w >>> 8);
        }
        return java.util.Arrays.copyOf(b, bytes);
    }

    void writeData(byte[] b) {
        for (int i = 0; i < b.length; i += 2) {
            channel.commandBlock().write(0, 2, (b[i] & 0xff) | (b[i + 1] & 0xff) << 8);
        }
    }

    /** Sends a 12-byte ATAPI packet with the byte-count limit {@code limit}. */
    void packet(int unit, int limit, int... cdb) {
        out(6, 0xa0 | unit << 4);
        out(1, 0);
        out(4, limit & 0xff);
        out(5, limit >>> 8);
        out(7, Ata.PACKET);
        byte[] p = new byte[12];
        for (int i = 0; i < cdb.length; i++) {
            p[i] = (byte) cdb[i];
        }
        writeData(p);
    }

    /** Reads an ATAPI data-in phase whole: every DRQ block its byte count says, until DRQ clears. */
    byte[] atapiData(List<Integer> blockSizes) {
        var out = new java.io.ByteArrayOutputStream();
        while ((altStatus() & Ata.DRQ) != 0) {
            int n = in(4) | in(5) << 8;
            if (blockSizes != null) {
                blockSizes.add(n);
            }
            status(); // acknowledge the block's interrupt
            out.writeBytes(readData(n));
        }
        return out.toByteArray();
    }

    void prd(long at, long... entries) {
        for (int i = 0; i < entries.length; i++) {
            memory.writeLong(at + 8L * i, entries[i]);
        }
    }

    static long entry(long addr, int count, boolean eot) {
        return (addr & 0xffff_ffffL) | (long) (count & 0xffff) << 32 | (eot ? 1L << 63 : 0);
    }

    @Override
    public void close() throws IOException {
        for (BlockDevice d : opened) {
            d.close();
        }
        arena.close();
    }
}
