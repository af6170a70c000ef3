package dev.jhv.migration.stream;

import dev.jhv.core.vmstate.VMStateDescription;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/** A small "machine": 8 pages of RAM (two of them non-zero) and two test devices. */
final class Fixture {
    static final int PAGES = 8;

    final MemorySegment ram = Arena.ofAuto().allocate(PAGES * 4096L);
    final SaveStateRegistry registry = new SaveStateRegistry();
    final RamStateEntry ramEntry;
    final TestDevice dev0;
    final TestDevice dev1;

    Fixture(VMStateDescription<TestDevice> desc, TestDevice d0, TestDevice d1) {
        this.dev0 = d0;
        this.dev1 = d1;
        ramEntry = registry.register(new RamStateEntry(List.of(new RamBlock("pc.ram", ram)), 3));
        registry.registerDevice(desc, d0);
        registry.registerDevice(desc, d1);
    }

    /** A source holding the known contents. */
    static Fixture source(VMStateDescription<TestDevice> desc) {
        var f = new Fixture(desc, TestDevice.sample(0), TestDevice.sample(1));
        f.fillRam();
        return f;
    }

    /** A destination with different, known values. */
    static Fixture destination() {
        var d0 = new TestDevice();
        d0.extra = 7;
        var d1 = new TestDevice();
        d1.extra = 8;
        var f = new Fixture(TestDevice.V2, d0, d1);
        f.ram.fill((byte) 0x5a);
        return f;
    }

    void fillRam() {
        for (int i = 0; i < 4096; i++) {
            ram.set(ValueLayout.JAVA_BYTE, 4096 + i, (byte) i);
            ram.set(ValueLayout.JAVA_BYTE, 5 * 4096 + i, (byte) (255 - i));
        }
    }

    static MachineConfiguration config(long memory, int vcpus) {
        return new MachineConfiguration("jhv-pc", memory,
                List.of(new MachineConfiguration.MemoryRegion("pc.ram", 0, memory)), vcpus, "qemu64",
                "sha256:0123", List.of());
    }

    MachineConfiguration config() {
        return config(PAGES * 4096L, 1).withDevices(registry);
    }

    byte[] save() {
        var bos = new ByteArrayOutputStream();
        var w = new MigrationStreamWriter(bos, registry);
        w.writeHeader(config());
        w.iterativeSetup();
        while (!w.iterativePass()) {
            // passes of 3 pages until RAM is sent once
        }
        w.complete();
        return bos.toByteArray();
    }

    MigrationStreamReader.Result load(byte[] stream) {
        return new MigrationStreamReader(new ByteArrayInputStream(stream), registry, config()).load();
    }

    /** The device state as bytes, to see whether a failed load changed it. */
    byte[] deviceState() {
        var a = TestDevice.V2.save(dev0, dev.jhv.core.vmstate.SaveOptions.DEFAULT.force("testdev/extra", true));
        var b = TestDevice.V2.save(dev1, dev.jhv.core.vmstate.SaveOptions.DEFAULT.force("testdev/extra", true));
        byte[] r = new byte[a.length + b.length];
        System.arraycopy(a, 0, r, 0, a.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
