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
 * at the end one answer ("JHVA", 0 = loaded and checked; 1, u16 length, UTF-8 reason = refused). In postcopy
 * also: "JHVQ", u32 block, u64 offset, u32 length: a page request (the guest waits on it); "JHVS": the guest runs
 * on the destination (the source must not resume from now on); "JHVB", u32 blocks, per block u32 words and the
 * words (u64): after a recovery, the pages the destination has.
 */
final class ReturnPath {
    static final int PROGRESS = 0x4a48_5650; // "JHVP"
    static final int ANSWER = 0x4a48_5641;   // "JHVA"
    static final int PAGE_REQUEST = 0x4a48_5651; // "JHVQ"
    static final int RUNNING = 0x4a48_5653;      // "JHVS"
    static final int RECEIVED = 0x4a48_5642;     // "JHVB"
    /** Bounds on a received bitmap, so garbage cannot make the source allocate much. */
    private static final int MAX_BLOCKS = 256;
    private static final int MAX_WORDS = 1 << 26;

    /** What the source hears besides the answer. */
    interface Listener {
        void progress(long consumed);

        default void pageRequest(int block, long offset, long length) { }

        default void running() { }

        default void received(long[][] bitmaps) { }
    }

    private final DataOutputStream out;

    ReturnPath(OutputStream out) {
        this.out = new DataOutputStream(out);
    }

    synchronized void progress(long consumed) throws IOException {
        out.writeInt(PROGRESS);
        out.writeLong(consumed);
        out.flush();
    }

    synchronized void pageRequest(int block, long offset, long length) throws IOException {
        out.writeInt(PAGE_REQUEST);
        out.writeInt(block);
        out.writeLong(offset);
        out.writeInt((int) length);
        out.flush();
    }

    synchronized void running() throws IOException {
        out.writeInt(RUNNING);
        out.flush();
    }

    synchronized void received(long[][] bitmaps) throws IOException {
        out.writeInt(RECEIVED);
        out.writeInt(bitmaps.length);
        for (long[] b : bitmaps) {
            out.writeInt(b.length);
            for (long w : b) {
                out.writeLong(w);
            }
        }
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
        read(in, new Listener() {
            @Override
            public void progress(long consumed) {
                progress.accept(consumed);
            }
        });
    }

    /** Reads until the answer as {@link #read(InputStream, LongConsumer)}, telling {@code l} of the rest. */
    static void read(InputStream in, Listener l) throws IOException {
        DataInputStream d = new DataInputStream(in);
        while (true) {
            int magic;
            try {
                magic = d.readInt();
            } catch (EOFException e) {
                throw new IOException("the destination closed the connection before it acknowledged the stream");
            }
            switch (magic) {
                case PROGRESS -> l.progress(d.readLong());
                case PAGE_REQUEST -> l.pageRequest(d.readInt(), d.readLong(), d.readInt() & 0xffff_ffffL);
                case RUNNING -> l.running();
                case RECEIVED -> l.received(readBitmaps(d));
                default -> {
                    checkAnswer(d, magic);
                    return;
                }
            }
        }
    }

    private static long[][] readBitmaps(DataInputStream d) throws IOException {
        int n = d.readInt();
        if (n < 0 || n > MAX_BLOCKS) {
            throw new IOException("the destination's page bitmap claims " + n + " RAM blocks");
        }
        long[][] bits = new long[n][];
        for (int b = 0; b < n; b++) {
            int words = d.readInt();
            if (words < 0 || words > MAX_WORDS) {
                throw new IOException("the destination's page bitmap claims " + words + " words");
            }
            bits[b] = new long[words];
            for (int w = 0; w < words; w++) {
                bits[b][w] = d.readLong();
            }
        }
        return bits;
    }

    private static void checkAnswer(DataInputStream d, int magic) throws IOException {
        if (magic != ANSWER) {
            throw new IOException(String.format("the destination answered 0x%08x, not an acknowledgement", magic));
        }
        if (d.readUnsignedByte() != 0) {
            byte[] why = d.readNBytes(d.readUnsignedShort());
            throw new IOException("the destination refused the stream: " + new String(why, StandardCharsets.UTF_8));
        }
    }
}
