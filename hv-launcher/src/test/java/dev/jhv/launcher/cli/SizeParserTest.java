package dev.jhv.launcher.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SizeParserTest {
    @Test
    void wholeNumbersWithAndWithoutSuffix() {
        assertThat(SizeParser.parse("256", 1L << 20)).isEqualTo(256L << 20);
        assertThat(SizeParser.parse("2G", 1L << 20)).isEqualTo(2L << 30);
        assertThat(SizeParser.parse("512b", 1L << 20)).isEqualTo(512);
        assertThat(SizeParser.parse("7E", 1)).isEqualTo(7L << 60);
        assertThat(SizeParser.parse("000000000000000001k", 1)).as("19 digits, leading zeros").isEqualTo(1024);
    }

    @Test
    void fractionsRoundUpToWholeBytes() {
        assertThat(SizeParser.parse("1.5G", 1)).isEqualTo(3L << 29);
        assertThat(SizeParser.parse("0.001k", 1)).isEqualTo(2);
    }

    @Test
    void beyondSixtyThreeBitsIsTooLarge() {
        for (String s : new String[] {"8E", "17179869184G", "9223372036854775808", "99999999999999999999999"}) {
            assertThatThrownBy(() -> SizeParser.parse(s, 1)).as(s)
                    .hasMessage("size '" + s + "' is too large");
        }
        assertThat(SizeParser.parse("9223372036854775807", 1)).isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void garbageIsInvalid() {
        for (String s : new String[] {"", "x", ".5G", "1..2", "-1", "1 G", "G"}) {
            assertThatThrownBy(() -> SizeParser.parse(s, 1)).as(s).hasMessage("invalid size '" + s + "'");
        }
    }
}
