package dev.jhv.core.smbios;

import dev.jhv.core.cpuid.Topology;

import java.io.ByteArrayOutputStream;
import java.util.List;

/**
 * The SMBIOS tables a PC's firmware publishes (DSP0134 3.x, with the 2.8 32-bit entry point), as QEMU hands them to
 * SeaBIOS through fw_cfg ({@code etc/smbios/smbios-anchor} and {@code etc/smbios/smbios-tables}): system (1),
 * chassis (3), a processor per socket (4), the memory array (16), a memory device per 16 GiB (17), the RAM ranges
 * (19), boot information (32) and the end (127). The firmware adds its own BIOS information (type 0), places the
 * tables and fills in the entry point's table address and checksums. Building them here also spares the firmware
 * from building its own, which takes it about 0.3 s under this platform's instruction emulator.
 *
 * @param anchor the 31-byte entry point, table address 0 (the firmware's to fill)
 * @param tables the structure table
 */
public record SmbiosTables(byte[] anchor, byte[] tables) {
    /** Where the RAM sits: start and length in bytes. */
    public record RamRange(long start, long size) { }

    /**
     * The machine's identity and shape.
     *
     * @param cpuSignature CPUID leaf 1 EAX and EDX, the processor ID of type 4
     */
    public record Machine(String manufacturer, String product, String version, Topology topology, int cpus,
                          long cpuSignature, long ramSize, List<RamRange> ram) { }

    private static final int HANDLE_SYSTEM = 0x0100;
    private static final int HANDLE_CHASSIS = 0x0300;
    private static final int HANDLE_PROCESSOR = 0x0400;
    private static final int HANDLE_MEMORY_ARRAY = 0x1000;
    private static final int HANDLE_MEMORY_DEVICE = 0x1100;
    private static final int HANDLE_MAPPED_ADDRESS = 0x1300;
    private static final int HANDLE_BOOT_INFO = 0x2000;
    private static final int HANDLE_END = 0x7F00;
    /** QEMU splits RAM into memory devices of at most 16 GiB. */
    private static final long MEMORY_DEVICE_MAX = 16L << 30;
    private static final int NO_HANDLE = 0xFFFF;
    private static final int NO_ERROR_INFO = 0xFFFE;
    static final int ANCHOR_LENGTH = 0x1F;

    public static SmbiosTables build(Machine m) {
        var out = new ByteArrayOutputStream();
        int count = 0;
        int largest = 0;
        for (byte[] s : structures(m)) {
            out.writeBytes(s);
            count++;
            largest = Math.max(largest, s.length);
        }
        byte[] tables = out.toByteArray();
        return new SmbiosTables(anchor(tables.length, count, largest), tables);
    }

    private static List<byte[]> structures(Machine m) {
        var list = new java.util.ArrayList<byte[]>();
        list.add(system(m));
        list.add(chassis(m));
        int sockets = Math.max(1, (m.cpus() + perSocket(m) - 1) / perSocket(m));
        for (int s = 0; s < sockets; s++) {
            list.add(processor(m, s));
        }
        long devices = Math.max(1, (m.ramSize() + MEMORY_DEVICE_MAX - 1) / MEMORY_DEVICE_MAX);
        list.add(memoryArray(m.ramSize(), (int) devices));
        long left = m.ramSize();
        for (int d = 0; d < devices; d++) {
            long size = Math.min(left, MEMORY_DEVICE_MAX);
            list.add(memoryDevice(d, size));
            left -= size;
        }
        for (int r = 0; r < m.ram().size(); r++) {
            list.add(mappedAddress(r, m.ram().get(r)));
        }
        list.add(new StructureWriter(32, HANDLE_BOOT_INFO).zeros(6).u8(0).build());
        list.add(new StructureWriter(127, HANDLE_END).build());
        return list;
    }

    private static int perSocket(Machine m) {
        return m.topology().cores() * m.topology().threads();
    }

    private static byte[] system(Machine m) {
        return new StructureWriter(1, HANDLE_SYSTEM)
                .string(m.manufacturer()).string(m.product()).string(m.version()).string(null)
                .zeros(16) // UUID: none set (-uuid is not an option yet)
                .u8(6) // wake-up type: power switch
                .string(null).string(null)
                .build();
    }

    private static byte[] chassis(Machine m) {
        return new StructureWriter(3, HANDLE_CHASSIS)
                .string(m.manufacturer()).u8(1) // type: other
                .string(m.version()).string(null).string(null)
                .u8(3).u8(3).u8(3) // boot-up, power supply and thermal state: safe
                .u8(2) // security status: unknown
                .u32(0).u8(0).u8(0) // OEM-defined, height, power cords
                .u8(0).u8(0) // no contained elements
                .string(null)
                .build();
    }

    private static byte[] processor(Machine m, int socket) {
        int threads = Math.min(perSocket(m), m.cpus() - socket * perSocket(m));
        int cores = Math.max(1, Math.min(m.topology().cores(), threads));
        return new StructureWriter(4, HANDLE_PROCESSOR + socket)
                .string("CPU " + socket).u8(3) // central processor
                .u8(0xFE) // family: see family 2
                .string(m.manufacturer()).u64(m.cpuSignature()).string(m.version())
                .u8(0).u16(0).u16(2000).u16(2000) // voltage, external clock, max and current speed (MHz)
                .u8(0x41) // socket populated, CPU enabled
                .u8(1) // upgrade: other
                .u16(NO_HANDLE).u16(NO_HANDLE).u16(NO_HANDLE) // no cache structures
                .string(null).string(null).string(null)
                .u8(cores).u8(cores).u8(threads)
                .u16(0x02) // characteristics: unknown
                .u16(0x01) // family 2: other
                .build();
    }

    private static byte[] memoryArray(long ramSize, int devices) {
        long kib = ramSize >>> 10;
        var w = new StructureWriter(16, HANDLE_MEMORY_ARRAY)
                .u8(1).u8(3).u8(6); // location other, system memory, multi-bit ECC (as QEMU says)
        if (kib < 0x80000000L) {
            w.u32(kib);
        } else {
            w.u32(0x80000000L);
        }
        return w.u16(NO_ERROR_INFO).u16(devices).u64(kib < 0x80000000L ? 0 : ramSize).build();
    }

    private static byte[] memoryDevice(int index, long size) {
        long mib = size >>> 20;
        var w = new StructureWriter(17, HANDLE_MEMORY_DEVICE + index)
                .u16(HANDLE_MEMORY_ARRAY).u16(NO_ERROR_INFO).u16(0xFFFF).u16(0xFFFF);
        w.u16(mib < 0x7FFF ? (int) mib : 0x7FFF);
        return w.u8(9) // DIMM
                .u8(0).string("DIMM " + index).string(null)
                .u8(7) // RAM
                .u16(0x02) // type detail: other
                .u16(0) // speed unknown
                .string(null).string(null).string(null).string(null)
                .u8(0).u32(mib < 0x7FFF ? 0 : mib).u16(0).u16(0).u16(0).u16(0)
                .build();
    }

    private static byte[] mappedAddress(int index, RamRange r) {
        long startKib = r.start() >>> 10;
        long endKib = (r.start() + r.size() - 1) >>> 10;
        var w = new StructureWriter(19, HANDLE_MAPPED_ADDRESS + index);
        if (endKib < 0xFFFFFFFFL) {
            w.u32(startKib).u32(endKib).u16(HANDLE_MEMORY_ARRAY).u8(1).u64(0).u64(0);
        } else {
            w.u32(0xFFFFFFFFL).u32(0xFFFFFFFFL).u16(HANDLE_MEMORY_ARRAY).u8(1)
                    .u64(r.start()).u64(r.start() + r.size() - 1);
        }
        return w.build();
    }

    /** The SMBIOS 2.1 (32-bit) entry point, version 2.8, both checksums computed with the table address 0. */
    private static byte[] anchor(int tableLength, int count, int largest) {
        byte[] a = new byte[ANCHOR_LENGTH];
        a[0] = '_';
        a[1] = 'S';
        a[2] = 'M';
        a[3] = '_';
        a[5] = ANCHOR_LENGTH;
        a[6] = 2;
        a[7] = 8;
        a[8] = (byte) largest;
        a[9] = (byte) (largest >>> 8);
        byte[] dmi = {'_', 'D', 'M', 'I', '_'};
        System.arraycopy(dmi, 0, a, 0x10, 5);
        a[0x16] = (byte) tableLength;
        a[0x17] = (byte) (tableLength >>> 8);
        a[0x1C] = (byte) count;
        a[0x1D] = (byte) (count >>> 8);
        a[0x1E] = 0x28;
        a[0x15] = checksum(a, 0x10, 0x0F);
        a[4] = checksum(a, 0, ANCHOR_LENGTH);
        return a;
    }

    /** The byte that makes {@code len} bytes from {@code off} sum to zero. */
    static byte checksum(byte[] b, int off, int len) {
        int sum = 0;
        for (int i = off; i < off + len; i++) {
            sum += b[i];
        }
        return (byte) -sum;
    }
}
