package dev.jhv.core.block;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A disk image as the block layer sees it: byte-addressed reads and writes, flush, discard,
 * and allocation status. Implementations are safe for concurrent use by several threads.
 */
public interface BlockDevice extends AutoCloseable {
    /** Virtual size in bytes. */
    long size();

    boolean isReadOnly();

    /** Reads {@code dst.remaining()} bytes at {@code offset}; reads past the end fail. */
    void read(long offset, ByteBuffer dst) throws IOException;

    void write(long offset, ByteBuffer src) throws IOException;

    /** Writes zeroes to a range; may deallocate (qcow2 zero clusters). */
    void writeZeroes(long offset, long length) throws IOException;

    /** A hint that the range is no longer needed; later reads return zeroes or the backing data. */
    void discard(long offset, long length) throws IOException;

    void flush() throws IOException;

    /** The status of the range starting at offset, covering at most length bytes. */
    Allocation allocationStatus(long offset, long length) throws IOException;

    /** A human description (file name and format) for "info block" and error messages. */
    String describe();

    @Override
    void close() throws IOException;

    /** Status of the extent [offset, offset+length). */
    record Allocation(long offset, long length, Kind kind, int depth) {
        public enum Kind {
            /** Data in this image. */
            DATA,
            /** Data in a backing image, {@code depth} levels down. */
            BACKING,
            /** Reads as zero (explicit zero cluster or hole). */
            ZERO,
            /** Not allocated anywhere in the chain: reads as zero. */
            UNALLOCATED
        }
    }
}
