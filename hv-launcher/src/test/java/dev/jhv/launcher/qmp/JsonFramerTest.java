package dev.jhv.launcher.qmp;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class JsonFramerTest {
    final List<String> messages = new ArrayList<>();
    final List<String> errors = new ArrayList<>();
    final JsonFramer framer = new JsonFramer(new JsonFramer.Sink() {
        @Override
        public void message(byte[] json) {
            messages.add(new String(json, StandardCharsets.UTF_8));
        }

        @Override
        public void error(String desc) {
            errors.add(desc);
        }
    });

    void feed(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        framer.feed(b, 0, b.length);
    }

    @Test
    void objectsEndWhereTheirBracketsBalanceOutsideStrings() {
        feed("{\"execute\": \"a}\\\"{\"}{\"x\": [1, {\"y\": 2}]}\n  {\"z\"");
        assertThat(messages).containsExactly("{\"execute\": \"a}\\\"{\"}", "{\"x\": [1, {\"y\": 2}]}");
        feed(": 1}");
        assertThat(messages).last().isEqualTo("{\"z\": 1}");
        assertThat(errors).isEmpty();
    }

    @Test
    void messagesArriveInPiecesOfOneByte() {
        for (char c : "{\"execute\":\"stop\"}".toCharArray()) {
            feed(String.valueOf(c));
        }
        assertThat(messages).containsExactly("{\"execute\":\"stop\"}");
    }

    @Test
    void bareValuesEndAtWhitespaceOrABracket() {
        feed("3 \"a b\"true{}");
        assertThat(messages).containsExactly("3", "\"a b\"", "true", "{}");
    }

    @Test
    void aClosingBracketWithoutOpeningIsAnErrorAndTheNextMessageStillCounts() {
        feed("}]{\"a\":1}");
        assertThat(errors).containsExactly("JSON parse error, expecting value", "JSON parse error, expecting value");
        assertThat(messages).containsExactly("{\"a\":1}");
    }

    @Test
    void aOneMebibyteStringPasses() {
        String big = "{\"s\": \"" + "a".repeat(1 << 20) + "\"}";
        feed(big);
        assertThat(messages).containsExactly(big);
    }

    @Test
    void aMessageTooLongIsReportedOnceSkippedAndTheNextOneIsRead() {
        feed("{\"s\": \"");
        for (int i = 0; i < 10; i++) {
            feed("a".repeat(1 << 20));    // a line that goes on and on: memory stays at the limit
        }
        assertThat(errors).hasSize(1).first().asString().startsWith("JSON parse error, message longer than");
        feed("\"}{\"execute\":\"x\"}");
        assertThat(messages).containsExactly("{\"execute\":\"x\"}");
    }

    @Test
    void nestingTooDeepIsReportedOnceAndSkipped() {
        feed("[".repeat(5000) + "]".repeat(5000) + "{}");
        assertThat(errors).containsExactly("JSON parse error, nesting deeper than 1024 levels");
        assertThat(messages).containsExactly("{}");
    }

    @Test
    void aBareTokenThatNeverEndsIsBounded() {
        for (int i = 0; i < 6; i++) {
            feed("x".repeat(1 << 20));
        }
        feed(" {}");
        assertThat(errors).hasSize(1);
        assertThat(messages).containsExactly("{}");
    }

    @Test
    void resetForgetsAHalfMessage() {
        feed("{\"a\": [");
        framer.reset();
        feed("{}");
        assertThat(messages).containsExactly("{}");
    }
}
