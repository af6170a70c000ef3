package dev.jhv.virtio.queue;

/** One descriptor's buffer, checked to lie inside guest RAM: {@code length} bytes at {@code gpa}. */
public record GuestBuffer(long gpa, int length) {
    public GuestBuffer {
        if (length < 0) {
            throw new IllegalArgumentException("negative buffer length " + length);
        }
    }
}
