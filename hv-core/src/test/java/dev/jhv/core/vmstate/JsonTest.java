package dev.jhv.core.vmstate;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class JsonTest {
    @Test
    void writesAndParsesBack() {
        Object v = Map.of("a", List.of(1L, "x\"y\n", true), "b", -5L);
        Object back = Json.parse(Json.write(v));
        assertThat(back).isEqualTo(v);
        assertThat(Json.parse(Json.writePretty(v))).isEqualTo(v);
    }

    @Test
    void refusesBadTextWithPosition() {
        assertThatThrownBy(() -> Json.parse("{\"a\":}")).isInstanceOf(Json.JsonException.class)
                .hasMessageContaining("character 5");
        assertThatThrownBy(() -> Json.parse("[".repeat(100))).isInstanceOf(Json.JsonException.class)
                .hasMessageContaining("deeper");
        assertThatThrownBy(() -> Json.parse("\"abc")).isInstanceOf(Json.JsonException.class);
        assertThatThrownBy(() -> Json.parse("1 2")).isInstanceOf(Json.JsonException.class);
    }
}
