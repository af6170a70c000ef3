package dev.jhv.devices.fwcfg;

import dev.jhv.core.boot.MemoryMap;
import dev.jhv.core.memory.GuestMemory;
import dev.jhv.devices.DeviceException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatNoException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class FwCfgTest {
    static final long RAM = 1 << 20;
    static final long ACCESS = 0x1000;
    static final long BUFFER = 0x3000;

    Arena arena;
    GuestMemory mem;

    @BeforeEach
    void setUp() {
        arena = Arena.ofConfined();
        mem = new GuestMemory(List.of(new GuestMemory.Region(0, arena.allocate(RAM, 4096))));
    }

    @AfterEach
    void tearDown() {
        arena.close();
    }

    static void select(FwCfg f, int key) {
        f.write(FwCfg.SELECTOR_OFFSET, 2, key);
    }

    static byte[] readPort(FwCfg f, int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) f.read(FwCfg.DATA_OFFSET, 1);
        }
        return b;
    }

    static byte[] readItem(FwCfg f, int key, int n) {
        select(f, key);
        return readPort(f, n);
    }

    static long le(byte[] b) {
        long v = 0;
        for (int i = b.length - 1; i >= 0; i--) {
            v = v << 8 | (b[i] & 0xFF);
        }
        return v;
    }

    FwCfg standard() {
        return new FwCfgBuilder().ramSize(512 * MemoryMap.MIB).cpus(2, 4).build(mem);
    }

    @Test
    void signatureIdAndNumericItemsReadThroughTheDataPort() {
        var f = standard();
        assertThat(new String(readItem(f, FwCfg.SIGNATURE, 4), StandardCharsets.US_ASCII)).isEqualTo("QEMU");
        assertThat(le(readItem(f, FwCfg.ID, 4))).as("traditional + DMA").isEqualTo(3);
        assertThat(le(readItem(f, FwCfg.RAM_SIZE, 8))).isEqualTo(512 * MemoryMap.MIB);
        assertThat(le(readItem(f, FwCfg.NB_CPUS, 2))).isEqualTo(2);
        assertThat(le(readItem(f, FwCfg.MAX_CPUS, 2))).isEqualTo(4);
        assertThat(readItem(f, FwCfg.UUID, 16)).isEqualTo(new byte[16]);
    }

    @Test
    void pastTheEndReadsZeroAndSelectingAgainRestarts() {
        var f = standard();
        select(f, FwCfg.SIGNATURE);
        assertThat(readPort(f, 6)).isEqualTo(new byte[] {'Q', 'E', 'M', 'U', 0, 0});
        select(f, FwCfg.SIGNATURE);
        assertThat(f.read(FwCfg.DATA_OFFSET, 1)).isEqualTo('Q');
        select(f, 0x1234); // no such item
        assertThat(readPort(f, 2)).isEqualTo(new byte[2]);
        // The write-channel bit selects the same item; data port writes are ignored.
        select(f, FwCfg.WRITE_CHANNEL | FwCfg.SIGNATURE);
        f.write(FwCfg.DATA_OFFSET, 1, 'X');
        assertThat(readPort(f, 4)).isEqualTo("QEMU".getBytes(StandardCharsets.US_ASCII));
    }

    @Test
    void uuidIsInItsWrittenOrder() {
        var u = UUID.fromString("00112233-4455-6677-8899-aabbccddeeff");
        var f = new FwCfgBuilder().uuid(u).build(mem);
        byte[] b = readItem(f, FwCfg.UUID, 16);
        assertThat(b[0]).isEqualTo((byte) 0x00);
        assertThat(b[1]).isEqualTo((byte) 0x11);
        assertThat(b[15]).isEqualTo((byte) 0xFF);
    }

    @Test
    void fileDirectoryListsFilesByNameWithKeysFrom0x20() {
        var f = new FwCfgBuilder()
                .addFile("opt/b", new byte[] {1, 2, 3})
                .addFile("etc/a", new byte[] {4})
                .addFile("bootorder", new byte[] {5, 6})
                .build(mem);
        byte[] dir = readItem(f, FwCfg.FILE_DIR, 4 + 3 * 64);
        var b = ByteBuffer.wrap(dir).order(ByteOrder.BIG_ENDIAN);
        assertThat(b.getInt(0)).isEqualTo(3);
        String[] names = {"bootorder", "etc/a", "opt/b"};
        int[] sizes = {2, 1, 3};
        for (int i = 0; i < 3; i++) {
            int e = 4 + 64 * i;
            assertThat(b.getInt(e)).as("size of " + names[i]).isEqualTo(sizes[i]);
            assertThat(b.getShort(e + 4)).as("key of " + names[i]).isEqualTo((short) (0x20 + i));
            assertThat(b.getShort(e + 6)).isZero();
            byte[] name = Arrays.copyOfRange(dir, e + 8, e + 64);
            byte[] expected = Arrays.copyOf(names[i].getBytes(StandardCharsets.US_ASCII), 56);
            assertThat(name).isEqualTo(expected);
        }
        assertThat(readItem(f, 0x22, 3)).isEqualTo(new byte[] {1, 2, 3});
        assertThat(readItem(f, 0x20, 2)).isEqualTo(new byte[] {5, 6});
    }

    @Test
    void duplicateAndOverlongFileNamesAreRefused() {
        var b = new FwCfgBuilder().addFile("opt/x", new byte[1]);
        assertThatThrownBy(() -> b.addFile("opt/x", new byte[1])).isInstanceOf(DeviceException.class)
                .hasMessageContaining("duplicate fw_cfg file name: opt/x");
        assertThatThrownBy(() -> b.addFile("opt/" + "x".repeat(52), new byte[1]))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatNoException().isThrownBy(() -> b.addFile("opt/" + "x".repeat(51), new byte[1]));
        assertThatThrownBy(() -> b.addBytes(FwCfg.FILE_DIR, new byte[1])).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> b.addBytes(0x25, new byte[1])).isInstanceOf(IllegalArgumentException.class);
    }

    // ---- DMA ----

    void access(int control, long length, long address) {
        var b = ByteBuffer.allocate(16).order(ByteOrder.BIG_ENDIAN).putInt(control).putInt((int) length)
                .putLong(address);
        mem.write(ACCESS, b.array());
    }

    int control() {
        return Integer.reverseBytes(mem.readInt(ACCESS));
    }

    /** Firmware's way: big-endian halves, high then low (which starts the transfer). */
    static void kick(FwCfg f, long access) {
        f.write(FwCfg.DMA_OFFSET, 4, Integer.reverseBytes((int) (access >>> 32)));
        f.write(FwCfg.DMA_OFFSET + 4, 4, Integer.reverseBytes((int) access));
    }

    @Test
    void dmaSelectAndReadFillsTheBufferAndClearsControl() {
        var f = standard();
        mem.fill(BUFFER, 16, (byte) 0xEE);
        access(FwCfg.SIGNATURE << 16 | FwCfg.DMA_CTL_SELECT | FwCfg.DMA_CTL_READ, 6, BUFFER);
        kick(f, ACCESS);
        assertThat(control()).isZero();
        assertThat(mem.read(BUFFER, 7)).as("past the end reads 0, beyond the length untouched")
                .isEqualTo(new byte[] {'Q', 'E', 'M', 'U', 0, 0, (byte) 0xEE});
        assertThat(f.state().dmaAddr()).as("the register reads 0 after a transfer").isZero();
    }

    @Test
    void dmaSkipThenReadContinuesAtTheOffsetAndSharesItWithThePort() {
        var f = new FwCfgBuilder().addFile("opt/data", "0123456789".getBytes(StandardCharsets.US_ASCII)).build(mem);
        access(0x20 << 16 | FwCfg.DMA_CTL_SELECT | FwCfg.DMA_CTL_SKIP, 3, 0);
        f.write(FwCfg.DMA_OFFSET, 8, Long.reverseBytes(ACCESS)); // one 64-bit write
        assertThat(control()).isZero();
        access(FwCfg.DMA_CTL_READ, 4, BUFFER);
        kick(f, ACCESS);
        assertThat(new String(mem.read(BUFFER, 4), StandardCharsets.US_ASCII)).isEqualTo("3456");
        assertThat(f.read(FwCfg.DATA_OFFSET, 1)).isEqualTo('7');
    }

    @Test
    void dmaIntoOrFromOutsideRamSetsTheErrorBitAndNeverThrows() {
        var f = standard();
        access(FwCfg.SIGNATURE << 16 | FwCfg.DMA_CTL_SELECT | FwCfg.DMA_CTL_READ, 4, RAM - 2);
        kick(f, ACCESS);
        assertThat(control()).isEqualTo(FwCfg.DMA_CTL_ERROR);
        access(FwCfg.DMA_CTL_READ, 4, 0xFFFF_FFFF_FFFF_FFF0L);
        kick(f, ACCESS);
        assertThat(control()).isEqualTo(FwCfg.DMA_CTL_ERROR);
        // The access structure itself outside RAM: nothing to report into, nothing thrown.
        assertThatNoException().isThrownBy(() -> kick(f, RAM + 0x1000));
        assertThatNoException().isThrownBy(() -> kick(f, -8));
        // The device still works.
        access(FwCfg.SIGNATURE << 16 | FwCfg.DMA_CTL_SELECT | FwCfg.DMA_CTL_READ, 4, BUFFER);
        kick(f, ACCESS);
        assertThat(control()).isZero();
        assertThat(new String(mem.read(BUFFER, 4), StandardCharsets.US_ASCII)).isEqualTo("QEMU");
    }

    @Test
    void dmaWritesOnlyWritableItems() {
        var f = new FwCfgBuilder().addFile("opt/ro", new byte[4]).addWritableFile("opt/rw", new byte[4]).build(mem);
        mem.write(BUFFER, new byte[] {9, 8, 7, 6});
        access(0x20 << 16 | FwCfg.DMA_CTL_SELECT | FwCfg.DMA_CTL_WRITE, 4, BUFFER);
        kick(f, ACCESS);
        assertThat(control()).isEqualTo(FwCfg.DMA_CTL_ERROR);
        assertThat(f.item(0x20)).isEqualTo(new byte[4]);
        access(0x21 << 16 | FwCfg.DMA_CTL_SELECT | FwCfg.DMA_CTL_WRITE, 4, BUFFER);
        kick(f, ACCESS);
        assertThat(control()).isZero();
        assertThat(f.item(0x21)).isEqualTo(new byte[] {9, 8, 7, 6});
        access(0x21 << 16 | FwCfg.DMA_CTL_SELECT | FwCfg.DMA_CTL_WRITE, 5, BUFFER);
        kick(f, ACCESS);
        assertThat(control()).as("past the item's end").isEqualTo(FwCfg.DMA_CTL_ERROR);
    }

    @Test
    void dmaWritesIntoRamAreInTheDirtyLog() {
        var f = standard();
        mem.startWriteTracking();
        access(FwCfg.SIGNATURE << 16 | FwCfg.DMA_CTL_SELECT | FwCfg.DMA_CTL_READ, 4, 0x5000);
        mem.takeWritten(0); // forget the test's own write of the access structure
        kick(f, ACCESS);
        long pages = mem.takeWritten(0)[0];
        assertThat(pages & (1L << 5)).as("buffer page").isNotZero();
        assertThat(pages & (1L << 1)).as("control written back").isNotZero();
    }

    @Test
    void dmaRegisterReadsTheSignatureInAddressOrder() {
        var f = standard();
        long v = f.read(FwCfg.DMA_OFFSET, 8);
        byte[] b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array();
        assertThat(new String(b, StandardCharsets.US_ASCII)).isEqualTo("QEMU CFG");
        assertThat(f.read(FwCfg.DMA_OFFSET, 4)).isEqualTo(le("QEMU".getBytes(StandardCharsets.US_ASCII)));
        assertThat(f.read(FwCfg.DMA_OFFSET + 4, 4)).isEqualTo(le(" CFG".getBytes(StandardCharsets.US_ASCII)));
    }

    // ---- standard files ----

    @Test
    void e820BootOrderAndSeaBiosIntegers() {
        var f = new FwCfgBuilder()
                .e820(List.of(new MemoryMap.E820Entry(0, 0x9FC00, MemoryMap.E820Type.RAM),
                        new MemoryMap.E820Entry(0x1_0000_0000L, 0x4000_0000L, MemoryMap.E820Type.RESERVED)))
                .bootOrder(List.of(BootDevicePath.ide(0, 0), BootDevicePath.ide(1, 0)))
                .bootFailWait(1500).serconPort(0x3F8).showBootMenu(0)
                .optionRom("linuxboot.bin", new byte[] {0x55, (byte) 0xAA})
                .build(mem);
        // bootorder, etc/boot-fail-wait, etc/e820, etc/sercon-port, etc/show-boot-menu, genroms/linuxboot.bin
        byte[] boot = f.item(0x20);
        assertThat(new String(boot, StandardCharsets.US_ASCII))
                .isEqualTo("/pci@i0cf8/ide@1,1/drive@0/disk@0\n/pci@i0cf8/ide@1,1/drive@1/disk@0\0");
        assertThat(le(f.item(0x21))).isEqualTo(1500);
        assertThat(f.item(0x21)).hasSize(4);
        var e820 = ByteBuffer.wrap(f.item(0x22)).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(e820.capacity()).isEqualTo(40);
        assertThat(e820.getLong(0)).isZero();
        assertThat(e820.getLong(8)).isEqualTo(0x9FC00);
        assertThat(e820.getInt(16)).isEqualTo(1);
        assertThat(e820.getLong(20)).isEqualTo(0x1_0000_0000L);
        assertThat(e820.getLong(28)).isEqualTo(0x4000_0000L);
        assertThat(e820.getInt(36)).isEqualTo(2);
        assertThat(f.item(0x23)).isEqualTo(new byte[] {(byte) 0xF8, 0x03});
        assertThat(f.item(0x24)).isEqualTo(new byte[8]);
        assertThat(f.item(0x25)).isEqualTo(new byte[] {0x55, (byte) 0xAA});
        assertThat(BootDevicePath.optionRom("linuxboot.bin")).isEqualTo("/rom@genroms/linuxboot.bin");
    }

    @Test
    void userItemsFollowQemusRules(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        var s = FwCfgUserItem.of("opt/jhv/greeting", null, "hello");
        assertThat(s.data()).isEqualTo("hello".getBytes(StandardCharsets.US_ASCII)); // no NUL
        assertThat(s.warning()).isEmpty();
        Path p = dir.resolve("blob");
        Files.write(p, new byte[] {1, 2, 3});
        var file = FwCfgUserItem.of("etc/foo", p.toString(), null);
        assertThat(file.data()).isEqualTo(new byte[] {1, 2, 3});
        assertThat(file.warning()).hasValueSatisfying(w -> assertThat(w)
                .contains("externally provided fw_cfg item names should be prefixed with \"opt/\""));
        assertThatThrownBy(() -> FwCfgUserItem.of("opt/a", p.toString(), "x"))
                .hasMessageContaining("file and string are mutually exclusive");
        assertThatThrownBy(() -> FwCfgUserItem.of("opt/a", null, null)).hasMessageContaining("invalid argument");
        assertThatThrownBy(() -> FwCfgUserItem.of("opt/" + "n".repeat(60), null, "x"))
                .hasMessageContaining("name too long");
        assertThatThrownBy(() -> FwCfgUserItem.of("opt/a", dir.resolve("missing").toString(), null))
                .isInstanceOf(DeviceException.class).hasMessageContaining("can't load");
        var f = new FwCfgBuilder().addUserItem(s).build(mem);
        assertThat(f.item(0x20)).isEqualTo("hello".getBytes(StandardCharsets.US_ASCII));
    }
}
