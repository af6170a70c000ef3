package dev.jhv.core.vmstate;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class VMStateDescriptionTest {

    /** A device with every field kind. */
    static final class Dev {
        int a8;
        int b16;
        int c32;
        long d64;
        int e8s;
        int f16s;
        int g32s;
        long h64s;
        boolean flag;
        byte[] mac = new byte[6];
        int dataLen;
        byte[] data = new byte[0];
        int[] regs = new int[4];
        long[] wide = new long[2];
        int nIrq;
        int[] irqs = new int[0];
        Timer timer = new Timer();
        List<Timer> timers = new ArrayList<>(List.of(new Timer(), new Timer()));
        int nQueues;
        List<Timer> queues = new ArrayList<>();
        int late;
        int optional;
        long subValue;
        int postLoads;
        String rejectIf;
    }

    static final class Timer {
        long expire;
        boolean enabled;
    }

    static final VMStateDescription<Timer> TIMER = VMStateDescription.<Timer>builder("timer", 1)
            .u64("expire", t -> t.expire, (t, v) -> t.expire = v)
            .bool("enabled", t -> t.enabled, (t, v) -> t.enabled = v)
            .build();

    static final VMStateDescription<Dev> SUB = VMStateDescription.<Dev>builder("dev/extra", 1)
            .u64("sub_value", d -> d.subValue, (d, v) -> d.subValue = v)
            .build();

    static final VMStateDescription<Dev> DEV = VMStateDescription.<Dev>builder("dev", 3)
            .minimumVersion(1)
            .u8("a8", d -> d.a8, (d, v) -> d.a8 = v)
            .u16("b16", d -> d.b16, (d, v) -> d.b16 = v)
            .u32("c32", d -> d.c32, (d, v) -> d.c32 = v)
            .u64("d64", d -> d.d64, (d, v) -> d.d64 = v)
            .s8("e8s", d -> d.e8s, (d, v) -> d.e8s = v)
            .s16("f16s", d -> d.f16s, (d, v) -> d.f16s = v)
            .s32("g32s", d -> d.g32s, (d, v) -> d.g32s = v)
            .s64("h64s", d -> d.h64s, (d, v) -> d.h64s = v)
            .bool("flag", d -> d.flag, (d, v) -> d.flag = v)
            .buffer("mac", 6, d -> d.mac)
            .u16("data_len", d -> d.dataLen, (d, v) -> d.dataLen = v)
            .vbuffer("data", "data_len", 64, d -> d.data, (d, v) -> d.data = v)
            .intArray("regs", ScalarType.U32, 4, d -> d.regs)
            .longArray("wide", ScalarType.U64, 2, d -> d.wide)
            .u8("n_irq", d -> d.nIrq, (d, v) -> d.nIrq = v)
            .intVarArray("irqs", ScalarType.U16, "n_irq", 8, d -> d.irqs, (d, v) -> d.irqs = v)
            .struct("timer", TIMER, d -> d.timer)
            .structArray("timers", TIMER, 2, d -> d.timers)
            .u8("n_queues", d -> d.nQueues, (d, v) -> d.nQueues = v)
            .structVarArray("queues", TIMER, "n_queues", 4, d -> d.queues, (d, v) -> d.queues = v, Timer::new)
            .unused(3)
            .u32("late", d -> d.late, (d, v) -> d.late = v).since(2)
            .u16("optional", d -> d.optional, (d, v) -> d.optional = v).when(d -> d.flag)
            .subsection(SUB, d -> d.subValue != 0)
            .postLoad((d, v) -> {
                d.postLoads++;
                return d.rejectIf != null && d.a8 == 0x42 ? d.rejectIf : null;
            })
            .build();

    static Dev sample() {
        var d = new Dev();
        VMStateRoundTrip.randomise(DEV, d, 7);
        d.flag = true;
        d.subValue |= 1;
        return d;
    }

    @Test
    void roundTripWithEverySubsectionForcedOnAndOff() {
        for (long seed = 0; seed < 20; seed++) {
            var d = new Dev();
            VMStateRoundTrip.randomise(DEV, d, seed);
            d.flag = seed % 2 == 0;
            d.subValue = seed % 3 == 0 ? 0 : d.subValue;
            assertThat(VMStateRoundTrip.check(DEV, d, Dev::new)).isEqualTo(5);
        }
        assertThat(VMStateRoundTrip.check(TIMER, new Timer(), Timer::new)).isEqualTo(1);
    }

    @Test
    void valuesSurviveSaveAndLoad() {
        var src = sample();
        src.a8 = 0xfe;
        src.e8s = -3;
        src.c32 = 0xdeadbeef;
        src.dataLen = 3;
        src.data = new byte[] {1, 2, 3};
        var dst = new Dev();
        DEV.load(dst, DEV.save(src), 3);
        assertThat(dst.a8).isEqualTo(0xfe);
        assertThat(dst.e8s).isEqualTo(-3);
        assertThat(dst.c32).isEqualTo(0xdeadbeef);
        assertThat(dst.data).containsExactly(1, 2, 3);
        assertThat(dst.mac).isEqualTo(src.mac);
        assertThat(dst.regs).isEqualTo(src.regs);
        assertThat(dst.irqs).isEqualTo(src.irqs);
        assertThat(dst.timer.expire).isEqualTo(src.timer.expire);
        assertThat(dst.queues).hasSize(src.nQueues);
        assertThat(dst.optional).isEqualTo(src.optional);
        assertThat(dst.subValue).isEqualTo(src.subValue);
        assertThat(dst.postLoads).isEqualTo(1);
    }

    @Test
    void conditionalFieldAndSubsectionLeftOutKeepDefaults() {
        var src = sample();
        src.flag = false;
        src.subValue = 0;
        var dst = new Dev();
        dst.optional = 77;
        dst.subValue = 99;
        DEV.load(dst, DEV.save(src), 3);
        assertThat(dst.flag).isFalse();
        assertThat(dst.optional).isEqualTo(77);
        assertThat(dst.subValue).isEqualTo(99);
        assertThat(DEV.save(src).length).isLessThan(DEV.save(sample()).length);
    }

    @Test
    void olderVersionLeavesNewFieldAtDefaultAndRunsPostLoad() {
        var src = sample();
        byte[] v3 = DEV.save(src);
        // A version 1 stream is the version 3 one without 'late' (4 bytes after the 3 unused bytes).
        var values = DEV.schema().decode(new VMStateInput(v3), 3);
        long lateOffset = 0;
        for (var e : values.sizes().entrySet()) {
            if (e.getKey().equals("late")) {
                break;
            }
            lateOffset += e.getValue();
        }
        byte[] v1 = new byte[v3.length - 4];
        System.arraycopy(v3, 0, v1, 0, (int) lateOffset);
        System.arraycopy(v3, (int) lateOffset + 4, v1, (int) lateOffset, v3.length - (int) lateOffset - 4);
        var dst = new Dev();
        dst.late = 1234;
        DEV.load(dst, v1, 1);
        assertThat(dst.late).isEqualTo(1234);
        assertThat(dst.a8).isEqualTo(src.a8);
        assertThat(dst.subValue).isEqualTo(src.subValue);
        assertThat(dst.postLoads).isEqualTo(1);
    }

    @Test
    void newerVersionIsRefusedNamingVersions() {
        var e = catchThrowableOfType(VMStateException.class, () -> DEV.load(new Dev(), DEV.save(sample()), 4));
        assertThat(e.getMessage()).contains("'dev'", "newer", "stream version 4", "1..3", "offset 0");
        var e0 = catchThrowableOfType(VMStateException.class, () -> DEV.load(new Dev(), DEV.save(sample()), 0));
        assertThat(e0.getMessage()).contains("older");
    }

    @Test
    void lengthOverItsBoundNamesTheField() {
        var src = sample();
        src.nIrq = 2;
        src.irqs = new int[] {1, 2};
        byte[] b = DEV.save(src);
        var values = DEV.schema().decode(new VMStateInput(b), 3);
        long at = 0;
        for (var e : values.sizes().entrySet()) {
            if (e.getKey().equals("n_irq")) {
                break;
            }
            at += e.getValue();
        }
        b[(int) at] = 9; // bound is 8
        var in = new VMStateInput(b);
        in.context("dev", 2);
        var before = DEV.capture(new Dev());
        var dst = new Dev();
        var e = catchThrowableOfType(VMStateException.class, () -> DEV.load(dst, in, 3));
        assertThat(e.getMessage()).contains("load of 'dev' instance 2", "field 'dev/irqs'", "over the bound 8");
        assertThat(e.fieldPath()).isEqualTo("dev/irqs");
        assertThat(e.offset()).isEqualTo(at + 1);
        assertThat(DEV.save(dst)).isEqualTo(DEV.save(new Dev()));
        assertThat(before).isNotNull();
    }

    @Test
    void unknownSubsectionIsRefused() {
        var src = sample();
        byte[] b = DEV.save(src);
        // the subsection name "dev/extra" is in the stream: rename it
        int i = indexOf(b, "dev/extra".getBytes());
        b[i + 5] = 'X';
        var e = catchThrowableOfType(VMStateException.class, () -> DEV.load(new Dev(), b, 3));
        assertThat(e.getMessage()).contains("unknown subsection 'dev/eXtra'");
    }

    @Test
    void arrayElementPathsAreNamed() {
        var src = sample();
        src.timers.get(1).enabled = true;
        byte[] b = DEV.save(src);
        var schema = DEV.schema();
        var values = schema.decode(new VMStateInput(b), 3);
        long at = 0;
        for (var e : values.sizes().entrySet()) {
            if (e.getKey().equals("timers")) {
                break;
            }
            at += e.getValue();
        }
        // timers[1].enabled: element 0 is 8+1+1 bytes (expire, enabled, end), element 1's bool at +8
        int pos = (int) at + 10 + 8;
        assertThat(b[pos]).isEqualTo((byte) 1);
        b[pos] = 5;
        var e = catchThrowableOfType(VMStateException.class, () -> DEV.load(new Dev(), b, 3));
        assertThat(e.fieldPath()).isEqualTo("dev/timers[1]/enabled");
        assertThat(e.getMessage()).contains("bool has value 5");
    }

    @Test
    void postLoadRejectionLeavesTheDeviceAsItWas() {
        var src = sample();
        src.a8 = 0x42;
        byte[] b = DEV.save(src);
        var dst = sample();
        VMStateRoundTrip.randomise(DEV, dst, 99);
        dst.rejectIf = "the FIFO is inconsistent";
        var queuesBefore = dst.queues;
        byte[] before = DEV.save(dst, SaveOptions.DEFAULT.force("dev/extra", true));
        var e = catchThrowableOfType(VMStateException.class, () -> DEV.load(dst, b, 3));
        assertThat(e.getMessage()).contains("post-load rejected the state: the FIFO is inconsistent", "'dev'");
        assertThat(DEV.save(dst, SaveOptions.DEFAULT.force("dev/extra", true))).isEqualTo(before);
        assertThat(dst.queues).containsExactlyElementsOf(queuesBefore);
    }

    @Test
    void everyTruncationGivesOnlyVMStateExceptionAndNoChange() {
        byte[] full = DEV.save(sample());
        for (int n = 0; n < full.length; n++) {
            byte[] cut = Arrays.copyOf(full, n);
            var dst = new Dev();
            byte[] before = DEV.save(dst);
            var in = new VMStateInput(cut);
            in.context("dev", 0);
            assertThatThrownBy(() -> DEV.load(dst, in, 3))
                    .isInstanceOf(VMStateException.class)
                    .hasMessageContaining("load of 'dev'")
                    .hasMessageContaining("field 'dev");
            assertThat(DEV.save(dst)).isEqualTo(before);
        }
    }

    @Test
    void jsonDescriptionParsesBackAndNamesEveryField() {
        String json = DEV.jsonDescription();
        assertThat(json).contains("\"vmsd_name\":\"dev\"", "\"name\":\"late\"", "\"since\":2",
                "\"type\":\"vbuffer\"", "\"length_field\":\"data_len\"", "\"conditional\":true",
                "\"vmsd_name\":\"dev/extra\"");
        assertThat(VMStateSchema.fromJson(Json.parse(json))).isEqualTo(DEV.schema());
    }

    @Test
    void differencesNameMissingAndChangedFields() {
        var other = VMStateDescription.<Dev>builder("dev", 3)
                .u8("a8", d -> d.a8, (d, v) -> d.a8 = v)
                .u32("b16", d -> d.b16, (d, v) -> d.b16 = v)
                .build();
        var diffs = DEV.schema().differences(other.schema(), 3);
        assertThat(diffs).anyMatch(s -> s.contains("dev/b16") && s.contains("uint32") && s.contains("uint16"));
        assertThat(diffs).anyMatch(s -> s.contains("dev/c32: missing from the stream"));
        assertThat(DEV.schema().differences(DEV.schema(), 3)).isEmpty();
    }

    @Test
    void badDescriptionsAreRefusedAtBuild() {
        assertThatThrownBy(() -> VMStateDescription.<Dev>builder("x", 1)
                .vbuffer("data", "nope", 4, d -> d.data, (d, v) -> d.data = v).build())
                .hasMessageContaining("length field 'nope'");
        assertThatThrownBy(() -> VMStateDescription.<Dev>builder("x", 1)
                .u8("a", d -> d.a8, (d, v) -> d.a8 = v).since(2).build())
                .isInstanceOf(VMStateException.class).hasMessageContaining("since 2");
        assertThatThrownBy(() -> VMStateSchema.fromJson(Json.parse("{\"vmsd_name\":\"x\",\"version\":1,"
                + "\"fields\":[{\"name\":\"b\",\"type\":\"buffer\",\"size\":999999999}]}")))
                .isInstanceOf(VMStateException.class).hasMessageContaining("size 999999999");
    }

    @Test
    void saveRefusesALengthOverItsBound() {
        var src = sample();
        src.nIrq = 9;
        src.irqs = new int[9];
        assertThatThrownBy(() -> DEV.save(src)).isInstanceOf(VMStateException.class)
                .hasMessageContaining("dev/irqs").hasMessageContaining("over the bound 8");
    }

    static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError("not found");
    }
}
