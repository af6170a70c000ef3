package dev.jhv.devices.fwcfg;

import dev.jhv.core.memory.GuestMemory;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * What SeaBIOS does with etc/table-loader, for tests: finds the files through FILE_DIR and reads them through the
 * device's DMA, allocates them (a bump allocator per zone from the bases given), copies them into guest memory,
 * adds file addresses to pointer fields and recomputes checksums, refusing out-of-range commands as firmware does.
 */
final class TableLoaderInterpreter {
    /** Where a file was allocated, and its size. */
    record Allocation(long address, int size) { }

    private final FwCfg fwCfg;
    private final GuestMemory mem;
    private long high;
    private long fseg;
    private final long scratch;
    final Map<String, Allocation> allocations = new HashMap<>();

    TableLoaderInterpreter(FwCfg fwCfg, GuestMemory mem, long highBase, long fsegBase, long scratch) {
        this.fwCfg = fwCfg;
        this.mem = mem;
        this.high = highBase;
        this.fseg = fsegBase;
        this.scratch = scratch;
    }

    /** Runs the script; returns how many commands ran. */
    int run() {
        byte[] script = file(TableLoader.FILE);
        if (script == null || script.length % TableLoader.COMMAND_SIZE != 0) {
            throw new IllegalStateException("no table-loader or bad size");
        }
        int ran = 0;
        for (int at = 0; at < script.length; at += TableLoader.COMMAND_SIZE) {
            var c = ByteBuffer.wrap(script, at, TableLoader.COMMAND_SIZE).slice().order(ByteOrder.LITTLE_ENDIAN);
            switch (c.getInt(0)) {
                case TableLoader.ALLOCATE -> allocate(name(c, 4), c.getInt(60), c.get(64));
                case TableLoader.ADD_POINTER -> addPointer(name(c, 4), name(c, 60), c.getInt(116), c.get(120));
                case TableLoader.ADD_CHECKSUM -> addChecksum(name(c, 4), c.getInt(60), c.getInt(64), c.getInt(68));
                default -> throw new IllegalStateException("unknown command " + c.getInt(0));
            }
            ran++;
        }
        return ran;
    }

    private void allocate(String name, int align, int zone) {
        byte[] data = file(name);
        if (data == null) {
            throw new IllegalStateException("ALLOCATE of missing file " + name);
        }
        long addr;
        if (zone == TableLoader.Zone.HIGH.code) {
            addr = (high + align - 1) & -(long) align;
            high = addr + data.length;
        } else if (zone == TableLoader.Zone.FSEG.code) {
            addr = (fseg + align - 1) & -(long) align;
            fseg = addr + data.length;
            if (fseg > 0x100000) {
                throw new IllegalStateException("FSEG full");
            }
        } else {
            throw new IllegalStateException("zone " + zone);
        }
        mem.write(addr, data);
        allocations.put(name, new Allocation(addr, data.length));
    }

    private void addPointer(String dest, String src, int offset, int size) {
        Allocation d = allocated(dest);
        Allocation s = allocated(src);
        if (offset < 0 || offset + size > d.size() || (size != 1 && size != 2 && size != 4 && size != 8)) {
            throw new IllegalStateException("bad ADD_POINTER " + dest + "+" + offset + "/" + size);
        }
        long v = 0;
        for (int i = 0; i < size; i++) {
            v |= (long) mem.readByte(d.address() + offset + i) << (8 * i);
        }
        v += s.address();
        for (int i = 0; i < size; i++) {
            mem.writeByte(d.address() + offset + i, (int) (v >>> (8 * i)));
        }
    }

    private void addChecksum(String file, int result, int start, int length) {
        Allocation f = allocated(file);
        if (result < 0 || result >= f.size() || start < 0 || length < 0 || start + length > f.size()) {
            throw new IllegalStateException("bad ADD_CHECKSUM " + file);
        }
        int sum = 0;
        for (byte b : mem.read(f.address() + start, length)) {
            sum += b;
        }
        mem.writeByte(f.address() + result, mem.readByte(f.address() + result) - sum);
    }

    private Allocation allocated(String name) {
        Allocation a = allocations.get(name);
        if (a == null) {
            throw new IllegalStateException(name + " used before ALLOCATE");
        }
        return a;
    }

    private static String name(ByteBuffer c, int at) {
        byte[] n = new byte[FwCfgBuilder.FILE_NAME_FIELD];
        c.get(at, n);
        int len = 0;
        while (len < n.length && n[len] != 0) {
            len++;
        }
        return new String(n, 0, len, StandardCharsets.US_ASCII);
    }

    // ---- fw_cfg, as firmware reads it ----

    /** The file's bytes read by DMA, found through FILE_DIR (read through the data port), or null. */
    byte[] file(String name) {
        fwCfg.write(FwCfg.SELECTOR_OFFSET, 2, FwCfg.FILE_DIR);
        int count = (int) be(4);
        for (int i = 0; i < count; i++) {
            int size = (int) be(4);
            int key = (int) be(2);
            be(2);
            byte[] n = new byte[FwCfgBuilder.FILE_NAME_FIELD];
            for (int j = 0; j < n.length; j++) {
                n[j] = (byte) fwCfg.read(FwCfg.DATA_OFFSET, 1);
            }
            if (name(ByteBuffer.wrap(n), 0).equals(name)) {
                return dmaRead(key, size);
            }
        }
        return null;
    }

    private long be(int n) {
        long v = 0;
        for (int i = 0; i < n; i++) {
            v = v << 8 | fwCfg.read(FwCfg.DATA_OFFSET, 1);
        }
        return v;
    }

    private byte[] dmaRead(int key, int size) {
        long buffer = scratch + 16;
        var access = ByteBuffer.allocate(16).order(ByteOrder.BIG_ENDIAN)
                .putInt(key << 16 | FwCfg.DMA_CTL_SELECT | FwCfg.DMA_CTL_READ).putInt(size).putLong(buffer);
        mem.write(scratch, access.array());
        fwCfg.write(FwCfg.DMA_OFFSET, 8, Long.reverseBytes(scratch));
        if (mem.readInt(scratch) != 0) {
            throw new IllegalStateException("DMA error reading key " + key);
        }
        return mem.read(buffer, size);
    }
}
