package dev.jhv.core.vmstate;

/**
 * A device state that cannot be saved or loaded. The message is written for the person at the monitor: it names the
 * section, the device instance, the field path ({@code e1000/mac_reg[12]}), the versions and the stream offset.
 */
public class VMStateException extends RuntimeException {
    private final String section;
    private final int instanceId;
    private final String fieldPath;
    private final long offset;
    private final String reason;

    public VMStateException(String reason) {
        this(null, -1, null, -1, reason, null, null);
    }

    /**
     * @param section     the section (device) name, or null when not known
     * @param instanceId  the device instance, or -1
     * @param fieldPath   the field path, or null
     * @param offset      the stream offset, or -1
     * @param reason      what is wrong
     * @param versions    text about the versions, e.g. "stream version 3, this build reads 1..2", or null
     */
    public VMStateException(String section, int instanceId, String fieldPath, long offset, String reason,
                            String versions, Throwable cause) {
        super(format(section, instanceId, fieldPath, offset, reason, versions), cause);
        this.section = section;
        this.instanceId = instanceId;
        this.fieldPath = fieldPath;
        this.offset = offset;
        this.reason = reason;
    }

    private static String format(String section, int instanceId, String fieldPath, long offset, String reason,
                                 String versions) {
        var sb = new StringBuilder();
        if (section != null) {
            sb.append("load of '").append(section).append('\'');
            if (instanceId >= 0) {
                sb.append(" instance ").append(instanceId);
            }
        } else {
            sb.append("device state");
        }
        if (fieldPath != null) {
            sb.append(" field '").append(fieldPath).append('\'');
        }
        if (versions != null) {
            sb.append(" (").append(versions).append(')');
        }
        if (offset >= 0) {
            sb.append(" at stream offset ").append(offset);
        }
        sb.append(" failed: ").append(reason);
        return sb.toString();
    }

    /** The section (device) name, or null. */
    public String section() {
        return section;
    }

    /** The device instance id, or -1. */
    public int instanceId() {
        return instanceId;
    }

    /** The path of the field that failed, e.g. {@code e1000/mac_reg[12]}, or null. */
    public String fieldPath() {
        return fieldPath;
    }

    /** The stream offset where the failure was seen, or -1. */
    public long offset() {
        return offset;
    }

    /** The bare reason, without the location. */
    public String reason() {
        return reason;
    }
}
