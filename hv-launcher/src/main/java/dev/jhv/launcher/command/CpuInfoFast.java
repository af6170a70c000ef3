package dev.jhv.launcher.command;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/** One vCPU as query-cpus-fast reports it (QEMU's optional "props" is left out: no topology here yet). */
public record CpuInfoFast(
        @JsonProperty("cpu-index") int cpuIndex,
        @JsonProperty("qom-path") String qomPath,
        @JsonProperty("thread-id") long threadId,
        String target) {

    /** info cpus: "* CPU #0: thread_id=1234", the star on the monitor's current CPU (#0). */
    public static String hmpText(List<CpuInfoFast> cpus) {
        var sb = new StringBuilder();
        for (var cpu : cpus) {
            sb.append(cpu.cpuIndex() == 0 ? "*" : " ").append(" CPU #").append(cpu.cpuIndex())
                    .append(": thread_id=").append(cpu.threadId()).append('\n');
        }
        return sb.toString();
    }
}
