package dev.jhv.migration.control;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The return path's postcopy messages reach the source's listener in order, before the final answer. */
class ReturnPathTest {
    @Test
    void pageRequestsRunningAndTheReceivedBitmapComeThrough() throws IOException {
        var bytes = new ByteArrayOutputStream();
        var rp = new ReturnPath(bytes);
        rp.progress(123);
        rp.running();
        rp.pageRequest(0, 0x7000, 4096);
        rp.received(new long[][] {{5L, -1L}});
        rp.answer(null);
        List<String> heard = new ArrayList<>();
        ReturnPath.read(new ByteArrayInputStream(bytes.toByteArray()), new ReturnPath.Listener() {
            @Override
            public void progress(long consumed) {
                heard.add("progress " + consumed);
            }

            @Override
            public void pageRequest(int block, long offset, long length) {
                heard.add("request " + block + " " + Long.toHexString(offset) + " " + length);
            }

            @Override
            public void running() {
                heard.add("running");
            }

            @Override
            public void received(long[][] bitmaps) {
                heard.add("received " + bitmaps[0][0] + " " + bitmaps[0][1]);
            }
        });
        assertThat(heard).containsExactly("progress 123", "running", "request 0 7000 4096", "received 5 -1");
    }

    @Test
    void aBitmapOfAbsurdSizeIsRefused() throws IOException {
        var bytes = new ByteArrayOutputStream();
        var d = new java.io.DataOutputStream(bytes);
        d.writeInt(ReturnPath.RECEIVED);
        d.writeInt(100_000);
        assertThatThrownBy(() -> ReturnPath.read(new ByteArrayInputStream(bytes.toByteArray()), (java.util.function.LongConsumer) c -> { }))
                .hasMessageContaining("claims 100000 RAM blocks");
    }
}
