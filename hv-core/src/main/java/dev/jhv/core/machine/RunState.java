package dev.jhv.core.machine;

/** QEMU's run states, spelled as QMP's query-status spells them. */
public enum RunState {
    PRELAUNCH("prelaunch"),
    RUNNING("running"),
    PAUSED("paused"),
    INMIGRATE("inmigrate"),
    POSTMIGRATE("postmigrate"),
    FINISH_MIGRATE("finish-migrate"),
    RESTORE_VM("restore-vm"),
    SAVE_VM("save-vm"),
    SHUTDOWN("shutdown"),
    INTERNAL_ERROR("internal-error");

    private final String qapiName;

    RunState(String qapiName) {
        this.qapiName = qapiName;
    }

    public String qapiName() {
        return qapiName;
    }

    /** Whether vCPUs execute in this state. */
    public boolean isRunning() {
        return this == RUNNING;
    }
}
