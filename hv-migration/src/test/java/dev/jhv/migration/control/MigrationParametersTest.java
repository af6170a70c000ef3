package dev.jhv.migration.control;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class MigrationParametersTest {
    @Test
    void defaultsAndUnitsAsQemu72() {
        var p = MigrationParameters.DEFAULTS;
        assertThat(p.maxBandwidth()).isEqualTo(128L << 20);
        assertThat(p.downtimeLimitMs()).isEqualTo(300);
        assertThat(p.describe()).startsWith("announce-initial: 50 ms\nannounce-max: 550 ms\nannounce-rounds: 5\n")
                .contains("tls-creds: ''\n").contains("max-bandwidth: 134217728 bytes/second\n")
                .contains("xbzrle-cache-size: 67108864 bytes\n").contains("cpu-throttle-tailslow: off\n");
    }

    @Test
    void hmpValuesParseAsQemusHmpParsesThem() {
        var p = MigrationParameters.DEFAULTS;
        assertThat(p.with("max-bandwidth", "100").maxBandwidth()).as("a bare number is MiB/s").isEqualTo(100L << 20);
        assertThat(p.with("max-bandwidth", "1g").maxBandwidth()).isEqualTo(1L << 30);
        assertThat(p.with("max-bandwidth", "10G").maxBandwidth()).isEqualTo(10L << 30);
        assertThat(p.with("xbzrle-cache-size", "4096").number("xbzrle-cache-size")).isEqualTo(4096);
        assertThat(p.with("downtime-limit", "50").downtimeLimitMs()).isEqualTo(50);
        assertThat(p.with("cpu-throttle-tailslow", "on").get("cpu-throttle-tailslow")).isEqualTo(true);
        assertThatThrownBy(() -> p.with("nosuch", "1")).hasMessage("Invalid parameter 'nosuch'");
        assertThatThrownBy(() -> p.with("downtime-limit", "x")).hasMessageContaining("expects an integer");
        assertThatThrownBy(() -> p.with("cpu-throttle-initial", "100")).hasMessageContaining("between 1 and 99");
        assertThatThrownBy(() -> p.with("max-bandwidth", "fast")).hasMessageContaining("expects a size");
    }

    @Test
    void capabilitiesThisBuildLacksAreRefusedWhenTurnedOn() {
        var c = MigrationCapabilities.NONE;
        assertThat(c.with("events", true).enabled("events")).isTrue();
        assertThat(c.with("xbzrle", false).enabled("xbzrle")).isFalse();
        assertThatThrownBy(() -> c.with("rdma-pin-all", true)).hasMessageContaining("not supported");
        assertThatThrownBy(() -> c.with("nosuch", true)).hasMessage("Invalid parameter 'nosuch'");
        assertThat(c.describe()).startsWith("xbzrle: off\nrdma-pin-all: off\n").endsWith("postcopy-preempt: off\n");
    }

    @Test
    void theXbzrleCacheSizeIsAPowerOfTwoOfAtLeastAPageAsQemuChecksIt() {
        var p = MigrationParameters.DEFAULTS;
        assertThat(p.xbzrleCacheSize()).isEqualTo(64L << 20);
        assertThat(p.with("xbzrle-cache-size", "1G").xbzrleCacheSize()).isEqualTo(1L << 30);
        assertThat(MigrationCapabilities.NONE.with("xbzrle", true).enabled("xbzrle")).isTrue();
        for (String bad : new String[] {"5000", "1000", "0"}) {
            assertThatThrownBy(() -> p.with("xbzrle-cache-size", bad)).hasMessage("Parameter 'xbzrle_cache_size' "
                    + "expects a power of two no less than the target page size");
        }
    }
}
