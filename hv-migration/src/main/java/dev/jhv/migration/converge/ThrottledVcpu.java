package dev.jhv.migration.converge;

import dev.jhv.core.vcpu.Vcpu;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** What auto-converge sees of one vCPU: its throttle and how much it ran (an interface, for tests' fakes). */
public interface ThrottledVcpu {
    int index();

    int percent();

    void set(int pct);

    /** CPU time the vCPU thread has run, guest and host side (ns). */
    long runNanos();

    /** Time the vCPU has slept for its throttle (ns): time in which it could not run. */
    long sleptNanos();

    /** Time the vCPU thread waited, runnable, for a host CPU (ns): on a loaded host, time it could not run either. */
    long waitNanos();

    static ThrottledVcpu of(Vcpu v) {
        return new ThrottledVcpu() {
            @Override
            public int index() {
                return v.index();
            }

            @Override
            public int percent() {
                return v.throttle().percent();
            }

            @Override
            public void set(int pct) {
                v.throttle().set(pct);
            }

            @Override
            public long runNanos() {
                return schedstat(v.threadId(), 0);
            }

            @Override
            public long waitNanos() {
                return schedstat(v.threadId(), 1);
            }

            @Override
            public long sleptNanos() {
                return v.throttle().sleptNanos();
            }
        };
    }

    /**
     * A figure of /proc/self/task/TID/schedstat: 0 the time on a CPU, 1 the time runnable on a run queue (ns); 0 if it
     * cannot be read.
     */
    static long schedstat(int tid, int field) {
        if (tid == 0) {
            return 0;
        }
        try {
            String[] f = Files.readString(Path.of("/proc/self/task/" + tid + "/schedstat")).strip().split(" ");
            return Long.parseLong(f[field]);
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }
}
