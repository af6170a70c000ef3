package dev.jhv.launcher;

import dev.jhv.core.inkernel.KvmClock;
import dev.jhv.core.inkernel.KvmIrqchip;
import dev.jhv.core.inkernel.KvmPit;
import dev.jhv.core.vcpu.CpuDevice;
import dev.jhv.core.vmstate.Json;
import dev.jhv.core.vmstate.VMStateDescription;
import dev.jhv.core.vmstate.VMStateSchema;
import dev.jhv.devices.acpi.AcpiPm;
import dev.jhv.devices.acpi.ResetControl;
import dev.jhv.devices.i8042.I8042;
import dev.jhv.devices.rtc.CmosRtc;
import dev.jhv.devices.serial.Uart16550;
import dev.jhv.devices.sysctl.SystemControlPortA;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.zip.GZIPInputStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every device's JSON description byte for byte as the hand-written codec of earlier builds wrote it
 * ({@code golden/device-descriptions.txt}, one "name TAB json" line per device, and {@code golden/old.stream.gz},
 * a whole stream of the PC board written by that build). The device model moved to state records since, and the
 * descriptions stayed byte for byte; a description changed on purpose (a new subsection) updates the golden file.
 */
class DeviceDescriptionJsonTest {
    static final List<VMStateDescription<?>> DEVICES = List.of(CpuDevice.VMSTATE.description(),
            KvmIrqchip.VMSTATE.description(), KvmPit.VMSTATE.description(), KvmClock.VMSTATE.description(),
            Uart16550.VMSTATE.description(), I8042.VMSTATE.description(), CmosRtc.VMSTATE.description(),
            AcpiPm.VMSTATE.description(), ResetControl.VMSTATE.description(),
            SystemControlPortA.VMSTATE.description());

    static byte[] resource(String name) throws IOException {
        try (InputStream in = DeviceDescriptionJsonTest.class.getResourceAsStream("golden/" + name)) {
            assertThat(in).as("golden file %s", name).isNotNull();
            return in.readAllBytes();
        }
    }

    static Map<String, String> goldenDescriptions() throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        for (String line : new String(resource("device-descriptions.txt"), StandardCharsets.UTF_8).split("\n")) {
            int tab = line.indexOf('\t');
            out.put(line.substring(0, tab), line.substring(tab + 1));
        }
        return out;
    }

    @Test
    void everyDeviceDescriptionIsWrittenAsBefore() throws IOException {
        Map<String, String> golden = goldenDescriptions();
        assertThat(DEVICES.stream().map(VMStateDescription::name).toList()).containsExactlyElementsOf(golden.keySet());
        for (VMStateDescription<?> d : DEVICES) {
            String old = golden.get(d.name());
            assertThat(VMStateSchema.fromJson(Json.parse(old))).as(d.name()).isEqualTo(d.schema());
            assertThat(d.jsonDescription().getBytes(StandardCharsets.UTF_8)).as(d.name())
                    .isEqualTo(old.getBytes(StandardCharsets.UTF_8));
        }
    }

    @Test
    void theGoldenListHoldsEveryDeviceOfTheOldStream() throws IOException {
        byte[] stream;
        try (var in = new GZIPInputStream(DeviceDescriptionJsonTest.class.getResourceAsStream("golden/old.stream.gz"))) {
            stream = in.readAllBytes();
        }
        ByteBuffer tail = ByteBuffer.wrap(stream, stream.length - 12, 12);
        int length = tail.getInt();
        String text = new String(stream, stream.length - 12 - length, length, StandardCharsets.UTF_8);
        var names = new TreeSet<String>();
        for (Object s : (List<?>) ((Map<?, ?>) Json.parse(text)).get("sections")) {
            if ("device".equals(((Map<?, ?>) s).get("kind"))) {
                names.add((String) ((Map<?, ?>) s).get("name"));
            }
        }
        assertThat(goldenDescriptions().keySet()).containsExactlyInAnyOrderElementsOf(names);
    }
}
