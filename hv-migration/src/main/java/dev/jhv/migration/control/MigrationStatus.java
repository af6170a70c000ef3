package dev.jhv.migration.control;

/** The last migration's outcome and figures, for "info migrate". */
public final class MigrationStatus {
    public enum State { NONE, SETUP, ACTIVE, COMPLETED, FAILED }

    private State state = State.NONE;
    private long startNanos;
    private long totalMillis;
    private long downtimeMillis;
    private long bytes;
    private long ramBytes;
    private String error;

    public synchronized void begin(long ramBytes) {
        this.state = State.ACTIVE;
        this.startNanos = System.nanoTime();
        this.ramBytes = ramBytes;
        this.bytes = 0;
        this.error = null;
    }

    public synchronized void completed(long bytes, long downtimeMillis) {
        this.state = State.COMPLETED;
        this.bytes = bytes;
        this.downtimeMillis = downtimeMillis;
        this.totalMillis = (System.nanoTime() - startNanos) / 1_000_000;
    }

    public synchronized void failed(String error) {
        this.state = State.FAILED;
        this.error = error;
        this.totalMillis = (System.nanoTime() - startNanos) / 1_000_000;
    }

    public synchronized State state() {
        return state;
    }

    /** QEMU's "info migrate" layout, for the parts this build has. */
    public synchronized String describe() {
        if (state == State.NONE) {
            return "";
        }
        StringBuilder sb = new StringBuilder();
        sb.append("Migration status: ").append(state.name().toLowerCase()).append('\n');
        if (state == State.FAILED && error != null) {
            sb.append("error: ").append(error).append('\n');
        }
        sb.append("total time: ").append(totalMillis).append(" ms\n");
        if (state == State.COMPLETED) {
            sb.append("downtime: ").append(downtimeMillis).append(" ms\n");
            sb.append("transferred ram: ").append(bytes / 1024).append(" kbytes\n");
            sb.append("total ram: ").append(ramBytes / 1024).append(" kbytes\n");
        }
        return sb.toString();
    }
}
