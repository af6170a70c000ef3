package dev.jhv.migration.control;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.function.LongConsumer;

/**
 * What a destination says to its source over a socket migration's return path: while it loads, how many bytes of
 * the stream it has consumed ("JHVP", u64), so the source can count the destination's backlog into the downtime;
 * at the end one answer ("JHVA", 0 = loaded and checked; 1, u16 length, UTF-8 reason = refused).
 */
final class ReturnPath {
    static final int PROGRESS = 0x4a48_5650; // "JHVP"
    static final int ANSWER = 0x4a48_5641;   // "JHVA"

    private final DataOutputStream out;

    ReturnPath(OutputStream out) {
        this.out = new DataOutputStream(out);
    }

    synchronized void progress(long consumed) throws IOException {
        out.writeInt(PROGRESS);
        out.writeLong(consumed);
        out.flush();
    }

    /** The final word: acknowledged ({@code refusal} null) or refused with the reason. */
    synchronized void answer(String refusal) throws IOException {
        out.writeInt(ANSWER);
        if (refusal == null) {
            out.writeByte(0);
        } else {
            byte[] why = refusal.getBytes(StandardCharsets.UTF_8);
            int len = Math.min(why.length, 60_000);
            out.writeByte(1);
            out.writeShort(len);
            out.write(why, 0, len);
        }
        out.flush();
    }

    /**
     * Reads until the answer, giving progress reports to {@code progress}.
     *
     * @throws IOException with "the destination refused the stream: ..." for a refusal, or what went wrong
     */
    static void read(InputStream in, LongConsumer progress) throws IOException {
        DataInputStream d = new DataInputStream(in);
        while (true) {
            int magic;
            try {
                magic = d.readInt();
            } catch (EOFException e) {
                throw new IOException("the destination closed the connection before it acknowledged the stream");
            }
            if (magic == PROGRESS) {
                progress.accept(d.readLong());
                continue;
            }
            if (magic != ANSWER) {
                throw new IOException(String.format("the destination answered 0x%08x, not an acknowledgement", magic));
            }
            if (d.readUnsignedByte() != 0) {
                byte[] why = d.readNBytes(d.readUnsignedShort());
                throw new IOException("the destination refused the stream: " + new String(why, StandardCharsets.UTF_8));
            }
            return;
        }
    }
}
