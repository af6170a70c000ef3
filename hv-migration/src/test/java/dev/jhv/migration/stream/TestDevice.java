package dev.jhv.migration.stream;

import dev.jhv.core.vmstate.VMStateDescription;

/** The compatibility test device: version 1, then version 2 adding a field in a subsection; 3 is "from the future". */
final class TestDevice {
    int reg;
    int counter;
    byte[] id = new byte[4];
    int extra;
    int more;
    int postLoads;
    String reject;

    static final VMStateDescription<TestDevice> V1 = VMStateDescription.<TestDevice>builder("testdev", 1)
            .u8("reg", d -> d.reg, (d, v) -> d.reg = v)
            .u32("counter", d -> d.counter, (d, v) -> d.counter = v)
            .buffer("id", 4, d -> d.id)
            .build();

    static final VMStateDescription<TestDevice> EXTRA = VMStateDescription.<TestDevice>builder("testdev/extra", 1)
            .u16("extra", d -> d.extra, (d, v) -> d.extra = v)
            .build();

    /** The current code. */
    static final VMStateDescription<TestDevice> V2 = VMStateDescription.<TestDevice>builder("testdev", 2)
            .minimumVersion(1)
            .u8("reg", d -> d.reg, (d, v) -> d.reg = v)
            .u32("counter", d -> d.counter, (d, v) -> d.counter = v)
            .buffer("id", 4, d -> d.id)
            .subsection(EXTRA, d -> d.extra != 0)
            .postLoad((d, version) -> {
                d.postLoads++;
                return d.reject;
            })
            .build();

    static final VMStateDescription<TestDevice> V3 = VMStateDescription.<TestDevice>builder("testdev", 3)
            .minimumVersion(1)
            .u8("reg", d -> d.reg, (d, v) -> d.reg = v)
            .u32("counter", d -> d.counter, (d, v) -> d.counter = v)
            .buffer("id", 4, d -> d.id)
            .u32("more", d -> d.more, (d, v) -> d.more = v).since(3)
            .subsection(EXTRA, d -> d.extra != 0)
            .build();

    static TestDevice sample(int n) {
        var d = new TestDevice();
        d.reg = 0xa0 + n;
        d.counter = 0x1234_5678 + n;
        d.id = new byte[] {'J', 'H', 'V', (byte) ('0' + n)};
        d.extra = 0x0bad + n;
        d.more = 99;
        return d;
    }
}
