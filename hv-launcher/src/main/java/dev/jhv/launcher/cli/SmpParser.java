package dev.jhv.launcher.cli;

import dev.jhv.core.machine.MachineConfig.Smp;
import java.util.Set;

/**
 * -smp [cpus=]N[,maxcpus=M][,sockets=S][,dies=1][,cores=C][,threads=T], with QEMU's (6.2 and later) rules for the
 * values left out: cores are preferred over sockets, threads are computed last.
 */
final class SmpParser {
    /** The pc machine's limit, as QEMU's pc-i440fx machines have it. KVM's own limit is checked by the machine. */
    static final int PC_MAX_CPUS = 255;

    private SmpParser() { }

    /** Throws IllegalArgumentException with QEMU's wording. */
    static Smp parse(String text) {
        var kv = KeyValueList.parse(text, "cpus", Set.of());
        long cpus = value(kv, "cpus");
        long maxcpus = value(kv, "maxcpus");
        long sockets = value(kv, "sockets");
        long dies = value(kv, "dies");
        long clusters = value(kv, "clusters");
        long cores = value(kv, "cores");
        long threads = value(kv, "threads");
        kv.rejectUnknown("smp.");
        for (String key : new String[] {"cpus", "maxcpus", "sockets", "dies", "clusters", "cores", "threads"}) {
            if (kv.has(key) && value(kv, key) == 0) {
                throw new IllegalArgumentException(
                        "Invalid CPU topology: CPU topology parameters must be greater than zero");
            }
        }
        if (dies > 1 || clusters > 1) {
            throw new IllegalArgumentException("dies and clusters other than 1 are not supported by machine 'pc'");
        }
        dies = 1;
        clusters = 1;
        if (cpus == 0 && maxcpus == 0) {
            sockets = sockets > 0 ? sockets : 1;
            cores = cores > 0 ? cores : 1;
            threads = threads > 0 ? threads : 1;
        } else {
            maxcpus = maxcpus > 0 ? maxcpus : cpus;
            if (cores == 0) {
                sockets = sockets > 0 ? sockets : 1;
                threads = threads > 0 ? threads : 1;
                cores = maxcpus / (sockets * threads);
            } else if (sockets == 0) {
                threads = threads > 0 ? threads : 1;
                sockets = maxcpus / (cores * threads);
            }
            if (threads == 0) {
                threads = maxcpus / (sockets * cores);
            }
        }
        long product = sockets * cores * threads;
        maxcpus = maxcpus > 0 ? maxcpus : product;
        cpus = cpus > 0 ? cpus : maxcpus;
        if (product != maxcpus) {
            throw new IllegalArgumentException("Invalid CPU topology: product of the hierarchy must match maxcpus: "
                    + "sockets (" + sockets + ") * cores (" + cores + ") * threads (" + threads + ") != maxcpus ("
                    + maxcpus + ")");
        }
        if (maxcpus < cpus) {
            throw new IllegalArgumentException("Invalid CPU topology: maxcpus must be equal to or greater than smp: "
                    + "sockets (" + sockets + ") * cores (" + cores + ") * threads (" + threads + ") == maxcpus ("
                    + maxcpus + ") < smp_cpus (" + cpus + ")");
        }
        if (maxcpus > PC_MAX_CPUS) {
            throw new IllegalArgumentException("Invalid SMP CPUs " + maxcpus
                    + ". The max CPUs supported by machine 'pc' is " + PC_MAX_CPUS);
        }
        return new Smp((int) cpus, (int) maxcpus, (int) sockets, (int) cores, (int) threads);
    }

    private static long value(KeyValueList kv, String key) {
        String v = kv.take(key);
        if (v == null) {
            return 0;
        }
        try {
            long n = Long.parseLong(v);
            if (n < 0 || n > 1 << 20) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("Parameter 'smp." + key + "' expects integer");
        }
    }
}
