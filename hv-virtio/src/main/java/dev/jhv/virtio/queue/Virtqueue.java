package dev.jhv.virtio.queue;

import dev.jhv.core.memory.GuestMemory;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;

/**
 * A split virtqueue (virtio 1.2, 2.7): the descriptor table, the available ring the driver fills and the used
 * ring the device fills, at guest addresses the driver gave through the transport. One thread uses a queue at a
 * time (the device's I/O thread); the transport configures it while the device is stopped.
 *
 * <p>Every guest-supplied value is checked: {@link #pop} throws {@link VirtqueueException} for a broken ring and
 * the device then asks for a reset. The driver runs on another CPU, so reads of its indices are followed by an
 * acquire fence and the used index is published after a release fence (2.7.13: the driver sees the element before
 * the index).
 */
public final class Virtqueue {
    /** What a migration carries for one queue (QEMU's VirtQueue fields: size, addresses, last_avail_idx, ...). */
    public record State(int size, boolean enabled, long descAddr, long availAddr, long usedAddr,
                        int lastAvailIdx, int usedIdx, boolean signalledUsedValid, int signalledUsed) { }

    /** Descriptor flags (2.7.5). */
    static final int DESC_F_NEXT = 1;
    static final int DESC_F_WRITE = 2;
    static final int DESC_F_INDIRECT = 4;
    /** Ring flags (2.7.6, 2.7.8). */
    static final int AVAIL_F_NO_INTERRUPT = 1;
    static final int USED_F_NO_NOTIFY = 1;
    static final int DESC_SIZE = 16;
    static final int USED_ELEM_SIZE = 8;
    /** The largest queue size the spec allows (2.7: "Queue Size ... maximum 32768"). */
    public static final int MAX_QUEUE_SIZE = 32768;

    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED;

    private final int index;
    private final int maxSize;

    private int size;
    private boolean enabled;
    private long descAddr;
    private long availAddr;
    private long usedAddr;
    private boolean eventIdx;
    private boolean indirect;
    private int lastAvailIdx;
    private int usedIdx;
    private boolean signalledUsedValid;
    private int signalledUsed;
    private boolean notifications = true;

    /** The rings as views of the memory they were checked in; null until the first use after configure. */
    private GuestMemory ringMemory;
    private MemorySegment desc;
    private MemorySegment avail;
    private MemorySegment used;

    /** @param maxSize the largest size the device offers (a power of two, at most 32768) */
    public Virtqueue(int index, int maxSize) {
        if (Integer.bitCount(maxSize) != 1 || maxSize > MAX_QUEUE_SIZE) {
            throw new IllegalArgumentException("virtqueue " + index + ": size " + maxSize
                    + " is not a power of two up to " + MAX_QUEUE_SIZE);
        }
        this.index = index;
        this.maxSize = maxSize;
        reset();
    }

    public int index() {
        return index;
    }

    public int maxSize() {
        return maxSize;
    }

    public int size() {
        return size;
    }

    public long descAddr() {
        return descAddr;
    }

    public long availAddr() {
        return availAddr;
    }

    public long usedAddr() {
        return usedAddr;
    }

    /** Whether {@code size} is one the driver may choose for this queue (a power of two up to the maximum). */
    public boolean validSize(int size) {
        return size > 0 && size <= maxSize && Integer.bitCount(size) == 1;
    }

    /** The size the driver chose (queue_size), the ring addresses, and whether it is enabled (queue_enable). */
    public void configure(int size, long descAddr, long availAddr, long usedAddr, boolean enabled) {
        if (!validSize(size)) {
            throw new IllegalArgumentException("virtqueue " + index + ": size " + size
                    + " is not a power of two up to " + maxSize);
        }
        this.size = size;
        this.descAddr = descAddr;
        this.availAddr = availAddr;
        this.usedAddr = usedAddr;
        this.enabled = enabled;
        ringMemory = null;
    }

    /** The negotiated ring features: VIRTIO_F_EVENT_IDX and VIRTIO_F_INDIRECT_DESC. */
    public void setFeatures(boolean eventIdx, boolean indirect) {
        this.eventIdx = eventIdx;
        this.indirect = indirect;
    }

    public boolean isEnabled() {
        return enabled;
    }

    /** The next available chain, or null when the driver has made none available since the last pop. */
    public DescriptorChain pop(GuestMemory memory) throws VirtqueueException {
        if (!enabled) {
            return null;
        }
        rings(memory);
        int availIdx = Short.toUnsignedInt(avail.get(U16, 2));
        VarHandle.acquireFence(); // the ring entries and descriptors are read after the index that published them
        int pending = (availIdx - lastAvailIdx) & 0xffff;
        if (pending == 0) {
            return null;
        }
        if (pending > size) {
            throw error(String.format("available index %d is %d ahead of the last one taken (%d), more than the "
                    + "queue size %d", availIdx, pending, lastAvailIdx, size));
        }
        int head = Short.toUnsignedInt(avail.get(U16, 4 + 2L * (lastAvailIdx & (size - 1))));
        DescriptorChain chain = walk(memory, head);
        lastAvailIdx = (lastAvailIdx + 1) & 0xffff;
        if (eventIdx && notifications) {
            publishAvailEvent();
        }
        return chain;
    }

    private DescriptorChain walk(GuestMemory memory, int head) throws VirtqueueException {
        if (head >= size) {
            throw error("head descriptor " + head + " is not below the queue size " + size);
        }
        List<GuestBuffer> readable = new ArrayList<>(4);
        List<GuestBuffer> writable = new ArrayList<>(4);
        MemorySegment table = desc;
        int tableSize = size;
        boolean inIndirect = false;
        int limit = size;
        int count = 0;
        int i = head;
        while (true) {
            if (++count > limit) {
                throw error("chain at head " + head + " is longer than " + limit + " descriptors (a loop?)");
            }
            long at = (long) i * DESC_SIZE;
            long addr = table.get(U64, at);
            long len = Integer.toUnsignedLong(table.get(U32, at + 8));
            int flags = Short.toUnsignedInt(table.get(U16, at + 12));
            int next = Short.toUnsignedInt(table.get(U16, at + 14));
            if ((flags & DESC_F_INDIRECT) != 0) {
                String where = where(inIndirect, i, head);
                if (!indirect) {
                    throw error(where + " is indirect, but VIRTIO_F_INDIRECT_DESC was not negotiated");
                }
                if (inIndirect) {
                    throw error(where + " is indirect inside an indirect table");
                }
                if ((flags & DESC_F_NEXT) != 0) {
                    throw error(where + " is indirect and has NEXT set");
                }
                if (len == 0 || len % DESC_SIZE != 0 || len / DESC_SIZE > MAX_QUEUE_SIZE) {
                    throw error(where + ": indirect table length " + len + " is not a multiple of 16 up to "
                            + MAX_QUEUE_SIZE + " entries");
                }
                table = ram(memory, addr, len, where);
                tableSize = (int) (len / DESC_SIZE);
                limit = tableSize;
                count = 0;
                inIndirect = true;
                i = 0;
                continue;
            }
            if (len > Integer.MAX_VALUE) {
                throw error(where(inIndirect, i, head) + ": length " + len
                        + " is larger than any buffer a device takes");
            }
            if (!memory.isRam(addr, len)) {
                throw error(String.format("%s: buffer 0x%x+0x%x is outside guest RAM", where(inIndirect, i, head),
                        addr, len));
            }
            var buffer = new GuestBuffer(addr, (int) len);
            if ((flags & DESC_F_WRITE) != 0) {
                writable.add(buffer);
            } else if (!writable.isEmpty()) {
                throw error(where(inIndirect, i, head) + " is device-readable after a device-writable one");
            } else {
                readable.add(buffer);
            }
            if ((flags & DESC_F_NEXT) == 0) {
                return new DescriptorChain(head, readable, writable);
            }
            if (next >= tableSize) {
                throw error(where(inIndirect, i, head) + ": next " + next + " is not below " + (inIndirect
                        ? "the indirect table's " + tableSize + " entries" : "the queue size " + tableSize));
            }
            i = next;
        }
    }

    /** "indirect descriptor 3 of chain 7": built only for a message, the walk's hot path makes no strings. */
    private static String where(boolean inIndirect, int i, int head) {
        return (inIndirect ? "indirect descriptor " : "descriptor ") + i + " of chain " + head;
    }

    /**
     * Puts {@code chain} in the used ring with {@code written} bytes written by the device, and publishes the used
     * index. Marks the written bytes and the used ring in the memory's write tracking.
     */
    public void push(GuestMemory memory, DescriptorChain chain, int written) {
        if (ringMemory != memory) {
            try {
                rings(memory);
            } catch (VirtqueueException e) {
                throw new IllegalStateException(e.getMessage(), e); // a chain was popped, so the rings were checked
            }
        }
        long elem = 4 + (long) USED_ELEM_SIZE * (usedIdx & (size - 1));
        used.set(U32, elem, chain.head());
        used.set(U32, elem + 4, written);
        usedIdx = (usedIdx + 1) & 0xffff;
        VarHandle.releaseFence(); // the element is visible before the index that publishes it
        used.set(U16, 2, (short) usedIdx);
        memory.markWritten(usedAddr + elem, USED_ELEM_SIZE);
        memory.markWritten(usedAddr + 2, 2);
        long left = Integer.toUnsignedLong(written);
        for (GuestBuffer b : chain.writable()) {
            if (left <= 0) {
                break;
            }
            long n = Math.min(left, b.length());
            memory.markWritten(b.gpa(), n);
            left -= n;
        }
    }

    /**
     * Whether the driver wants an interrupt for what was pushed since the last call (VIRTQ_AVAIL_F_NO_INTERRUPT,
     * or used_event with EVENT_IDX).
     */
    public boolean needsInterrupt(GuestMemory memory) {
        if (!enabled || ringMemory != memory) {
            return false;
        }
        VarHandle.fullFence(); // the used index is out before the driver's flags or used_event are read
        int old = signalledUsed;
        boolean valid = signalledUsedValid;
        signalledUsed = usedIdx;
        signalledUsedValid = true;
        if (valid && old == usedIdx) {
            return false;
        }
        if (!eventIdx) {
            return (Short.toUnsignedInt(avail.get(U16, 0)) & AVAIL_F_NO_INTERRUPT) == 0;
        }
        if (!valid) {
            return true;
        }
        int usedEvent = Short.toUnsignedInt(avail.get(U16, 4 + 2L * size));
        // 2.7.10: interrupt when used_event lies in (old, new]
        return ((usedIdx - usedEvent - 1) & 0xffff) < ((usedIdx - old) & 0xffff);
    }

    /**
     * Asks the driver not to notify (polling) or to notify again (VIRTQ_USED_F_NO_NOTIFY, or avail_event with
     * EVENT_IDX). After enabling, the caller pops again: a chain may have arrived in between.
     */
    public void setNotifications(GuestMemory memory, boolean enabled) {
        notifications = enabled;
        if (!this.enabled) {
            return;
        }
        try {
            rings(memory);
        } catch (VirtqueueException e) {
            return; // the next pop reports it
        }
        if (eventIdx) {
            if (enabled) {
                publishAvailEvent();
            }
        } else {
            used.set(U16, 0, (short) (enabled ? 0 : USED_F_NO_NOTIFY));
            memory.markWritten(usedAddr, 2);
        }
        VarHandle.fullFence(); // the flag is out before the caller looks at the available index again
    }

    private void publishAvailEvent() {
        used.set(U16, 4 + (long) USED_ELEM_SIZE * size, (short) lastAvailIdx);
        ringMemory.markWritten(usedAddr + 4 + (long) USED_ELEM_SIZE * size, 2);
    }

    /** Back to the reset state (size = max, disabled, addresses 0, indices 0). */
    public void reset() {
        size = maxSize;
        enabled = false;
        descAddr = 0;
        availAddr = 0;
        usedAddr = 0;
        eventIdx = false;
        indirect = false;
        lastAvailIdx = 0;
        usedIdx = 0;
        signalledUsedValid = false;
        signalledUsed = 0;
        notifications = true;
        ringMemory = null;
    }

    public State state() {
        return new State(size, enabled, descAddr, availAddr, usedAddr, lastAvailIdx, usedIdx, signalledUsedValid,
                signalledUsed);
    }

    /** Restores a migrated queue; a state no queue of this size can have is refused with IllegalArgumentException. */
    public void restore(State state) {
        if (!validSize(state.size())) {
            throw new IllegalArgumentException("virtqueue " + index + ": size " + state.size()
                    + " is not a power of two up to " + maxSize);
        }
        for (int v : new int[] {state.lastAvailIdx(), state.usedIdx(), state.signalledUsed()}) {
            if (v < 0 || v > 0xffff) {
                throw new IllegalArgumentException("virtqueue " + index + ": ring index " + v
                        + " does not fit 16 bits");
            }
        }
        size = state.size();
        enabled = state.enabled();
        descAddr = state.descAddr();
        availAddr = state.availAddr();
        usedAddr = state.usedAddr();
        lastAvailIdx = state.lastAvailIdx();
        usedIdx = state.usedIdx();
        signalledUsedValid = state.signalledUsedValid();
        signalledUsed = state.signalledUsed();
        notifications = true;
        ringMemory = null;
    }

    /** Checks the three rings lie in RAM (2.7: with their sizes for this queue size) and keeps views of them. */
    private void rings(GuestMemory memory) throws VirtqueueException {
        if (ringMemory == memory) {
            return;
        }
        if ((descAddr & 15) != 0 || (availAddr & 1) != 0 || (usedAddr & 3) != 0) {
            throw error(String.format("ring addresses desc 0x%x, avail 0x%x, used 0x%x are not aligned to 16, 2, 4",
                    descAddr, availAddr, usedAddr));
        }
        desc = ram(memory, descAddr, (long) DESC_SIZE * size, "descriptor table");
        avail = ram(memory, availAddr, 6 + 2L * size, "available ring");
        used = ram(memory, usedAddr, 6 + (long) USED_ELEM_SIZE * size, "used ring");
        ringMemory = memory;
    }

    private MemorySegment ram(GuestMemory memory, long gpa, long len, String what) throws VirtqueueException {
        if (!memory.isRam(gpa, len)) {
            throw error(String.format("%s at 0x%x+0x%x is outside guest RAM", what, gpa, len));
        }
        return memory.slice(gpa, len);
    }

    private VirtqueueException error(String what) {
        return new VirtqueueException("virtqueue " + index + ": " + what);
    }

    @Override
    public String toString() {
        return "virtqueue " + index + " (size " + size + (enabled ? ", enabled" : "") + ")";
    }
}
