package dev.jhv.qcow2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@Tag("qemu")
class SnapshotInteropTest {
    @TempDir
    Path tmp;

    static byte[] fill(int n, int seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    @ParameterizedTest
    @CsvSource({"65536,16,3", "512,16,3", "4096,16,2", "4096,8,3", "16384,64,3"})
    void jhvSnapshotsAreListedCheckedAndAppliedByQemu(int cs, int bits, int version) throws Exception {
        Path p = tmp.resolve("s.qcow2");
        long size = 2L << 20;
        byte[] v1 = fill((int) size, 1);
        byte[] vm = fill(300_000, 9);
        try (var img = Qcow2Image.create(p, Qcow2Image.CreateOptions.of(size).withClusterSize(cs).withRefcountBits(bits).withVersion(version))) {
            img.write(0, ByteBuffer.wrap(v1));
            img.writeVmState(0, ByteBuffer.wrap(vm));
            var sn = img.createSnapshot("one", vm.length, 1_234_567_890L);
            assertThat(sn.id()).isEqualTo("1");
            // Overwrite part of the disk: copy-on-write must keep the snapshot intact.
            img.write(1000, ByteBuffer.wrap(fill(100_000, 2)));
            img.writeZeroes(500_000, 200_000);
            img.createSnapshot("two", 0, 0);
            img.discard(0, size);
            var back = ByteBuffer.allocate(vm.length);
            img.readSnapshotVmState("one", 0, back);
            assertThat(back.array()).isEqualTo(vm);
        }
        Qemu.assertClean(p);
        String list = Qemu.ok("qemu-img", "snapshot", "-l", p.toString());
        assertThat(list).contains("one").contains("two").contains("00:00:01.234");
        // qemu applies jhv's snapshot: the disk is v1 again.
        Path copy = tmp.resolve("copy.qcow2");
        java.nio.file.Files.copy(p, copy);
        Qemu.ok("qemu-img", "snapshot", "-a", "one", copy.toString());
        Qemu.assertClean(copy);
        assertThat(Qemu.toRaw(copy, tmp)).isEqualTo(v1);
        // And jhv applies it too, and reads the vm state back from the active area.
        try (var img = Qcow2Image.open(p, false)) {
            img.applySnapshot("one");
            assertThat(Qcow2InteropTest.readAll(img)).isEqualTo(v1);
            var st = ByteBuffer.allocate(vm.length);
            img.readVmState(0, st);
            assertThat(st.array()).isEqualTo(vm);
            img.deleteSnapshot("two");
            assertThatThrownBy(() -> img.applySnapshot("two")).isInstanceOf(Qcow2Exception.class);
        }
        Qemu.assertClean(p);
        try (var img = Qcow2Image.open(p, false)) {
            img.deleteSnapshot("one");
            assertThat(img.snapshots()).isEmpty();
            assertThat(Qcow2InteropTest.readAll(img)).isEqualTo(v1);
        }
        Qemu.assertClean(p);
        // Everything freed: no leaks, and no snapshot left for qemu either.
        assertThat(Qemu.ok("qemu-img", "snapshot", "-l", p.toString())).doesNotContain("one");
    }

    @Test
    void vmStateStreamsThroughSavevmAndLoadvm() throws Exception {
        Path p = tmp.resolve("vm.qcow2");
        byte[] state = fill(1_000_003, 4);
        try (var img = Qcow2Image.create(p, Qcow2Image.CreateOptions.of(4 << 20))) {
            img.write(0, ByteBuffer.wrap(fill(8192, 5)));
            try (var ch = img.vmStateChannel(0)) {
                for (int off = 0; off < state.length; off += 65000) {
                    ch.write(ByteBuffer.wrap(state, off, Math.min(65000, state.length - off)));
                }
                img.createSnapshot("vm1", ch.size(), 5_000_000_000L);
            }
            img.write(0, ByteBuffer.wrap(new byte[8192]));
        }
        Qemu.assertClean(p);
        assertThat(Qemu.ok("qemu-img", "snapshot", "-l", p.toString())).contains("vm1").contains("00:00:05.000");
        try (var img = Qcow2Image.open(p, false)) {
            var sn = img.findSnapshot("vm1");
            assertThat(sn.vmStateSize()).isEqualTo(state.length);
            img.applySnapshot("vm1");
            var back = ByteBuffer.allocate(state.length);
            try (var ch = img.vmStateChannel(sn.vmStateSize())) {
                while (back.hasRemaining() && ch.read(back) > 0) { }
            }
            assertThat(back.array()).isEqualTo(state);
        }
        Qemu.assertClean(p);
    }

    @Test
    void qemuSnapshotsAreAppliedByJhv() throws Exception {
        Path p = tmp.resolve("q.qcow2");
        Qemu.ok("qemu-img", "create", "-f", "qcow2", p.toString(), "1M");
        Qemu.ok("qemu-io", "-c", "write -P 0x41 0 512k", p.toString());
        Qemu.ok("qemu-img", "snapshot", "-c", "base", p.toString());
        Qemu.ok("qemu-io", "-c", "write -P 0x42 4096 4096", p.toString());
        byte[] before = Qemu.toRaw(p, tmp);
        try (var img = Qcow2Image.open(p, false)) {
            assertThat(img.snapshots()).extracting(s -> s.name()).containsExactly("base");
            var b = ByteBuffer.allocate(1);
            img.read(5000, b);
            assertThat(b.get(0)).isEqualTo((byte) 0x42);
            img.applySnapshot("base");
            b.clear();
            img.read(5000, b);
            assertThat(b.get(0)).isEqualTo((byte) 0x41);
        }
        Qemu.assertClean(p);
        assertThat(before[5000]).isEqualTo((byte) 0x42);
        byte[] after = Qemu.toRaw(p, tmp);
        assertThat(after[5000]).isEqualTo((byte) 0x41);
        assertThat(after[600_000]).isEqualTo((byte) 0);
        try (var img = Qcow2Image.open(p, false)) {
            img.deleteSnapshot("1");
        }
        Qemu.assertClean(p);
    }
}
