package dev.jhv.migration.stream;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.jhv.core.vmstate.Json;
import dev.jhv.core.vmstate.SaveOptions;
import dev.jhv.core.vmstate.VMStateException;
import dev.jhv.core.vmstate.VMStateInput;
import dev.jhv.core.vmstate.VMStateSchema;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * Coverage-guided fuzz targets (Jazzer). In a normal build each replays its inputs under
 * StreamLoaderJazzerTestInputs/&lt;method&gt; (regression mode); with {@code JAZZER_FUZZ=1} and
 * {@code -Dtest=StreamLoaderJazzerTest#method} one of them fuzzes for its maxDuration. Only the loader's own
 * exception may come out, and a failed load must change no device.
 */
class StreamLoaderJazzerTest {

    /** The whole stream (checksums make most mutants stop at the first damaged section). */
    @FuzzTest(maxDuration = "45s")
    void load(byte[] input) {
        StreamLoaderFuzzTest.loadOnce(input, -1);
    }

    /** A device section body without the checksum in the way: the VMState decoder and staged apply. */
    @FuzzTest(maxDuration = "45s")
    void deviceState(byte[] input) {
        StreamLoaderFuzzTest.deviceStateOnce(input, -1);
    }

    /** A JSON description from a stream, and decoding bytes with it (what the analyzer does). */
    @FuzzTest(maxDuration = "45s")
    void description(byte[] input) {
        // be16 length of the JSON, the JSON, then the data it describes
        int len = input.length < 2 ? 0 : Math.min(input.length - 2, ((input[0] & 0xff) << 8) | (input[1] & 0xff));
        String json = new String(input, Math.min(2, input.length), len, java.nio.charset.StandardCharsets.UTF_8);
        byte[] data = java.util.Arrays.copyOfRange(input, Math.min(input.length, 2 + len), input.length);
        try {
            VMStateSchema s = VMStateSchema.fromJson(Json.parse(json));
            s.decode(new VMStateInput(data), s.version());
        } catch (Json.JsonException | VMStateException e) {
            assertThat(e.getMessage()).isNotBlank();
        } catch (Throwable t) {
            fail("the description reader let out " + t, t);
        }
        // a well-formed description of the test device always parses back
        assertThat(VMStateSchema.fromJson(Json.parse(TestDevice.V2.jsonDescription())))
                .isEqualTo(TestDevice.V2.schema());
        assertThat(TestDevice.V2.save(new TestDevice(), SaveOptions.DEFAULT)).isNotEmpty();
    }
}
