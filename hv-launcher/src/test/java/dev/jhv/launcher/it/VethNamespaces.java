package dev.jhv.launcher.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Two network namespaces of this test run, A and B, joined by a veth pair ({@link #ADDR_A} in A, {@link #ADDR_B}
 * in B), made with ip(8) and removed by {@link #close} (deleting a namespace deletes its end of the pair and with it
 * the pair). Names carry the test process's pid and a counter, so concurrent runs do not meet.
 */
final class VethNamespaces implements AutoCloseable {
    static final String ADDR_A = "10.77.0.1";
    static final String ADDR_B = "10.77.0.2";
    private static final AtomicInteger COUNTER = new AtomicInteger();
    private static final long COMMAND_SECONDS = 20;

    final String nsA;
    final String nsB;
    /** The veth ends, in A and in B. */
    final String vethA;
    final String vethB;
    private final List<String> made = new ArrayList<>();

    private VethNamespaces(String tag) {
        nsA = "jhv-it-" + tag + "-a";
        nsB = "jhv-it-" + tag + "-b";
        vethA = "jv" + tag + "a"; // interface names have at most 15 characters
        vethB = "jv" + tag + "b";
    }

    /** Skips the test unless it runs as root with a working {@code ip netns}. */
    static void assumeAvailable() {
        assumeTrue("root".equals(System.getProperty("user.name")),
                "network namespaces need root (run as root to test migration across a veth pair)");
        boolean ok;
        try {
            ok = run(List.of("ip", "netns", "list")).status == 0;
        } catch (IOException e) {
            ok = false;
        }
        assumeTrue(ok, "'ip netns' is not available (iproute2 missing or no netns support)");
    }

    /** Makes the two namespaces and the pair, both ends up with their addresses; undone if a step fails. */
    static VethNamespaces create() throws IOException {
        String tag = Long.toString(ProcessHandle.current().pid() % 100_000, 36) + COUNTER.incrementAndGet();
        VethNamespaces n = new VethNamespaces(tag);
        try {
            n.ip("netns", "add", n.nsA);
            n.made.add(n.nsA);
            n.ip("netns", "add", n.nsB);
            n.made.add(n.nsB);
            n.ip("-n", n.nsA, "link", "add", n.vethA, "type", "veth", "peer", "name", n.vethB, "netns", n.nsB);
            n.ip("-n", n.nsA, "addr", "add", ADDR_A + "/24", "dev", n.vethA);
            n.ip("-n", n.nsB, "addr", "add", ADDR_B + "/24", "dev", n.vethB);
            for (String[] end : new String[][] {{n.nsA, n.vethA}, {n.nsB, n.vethB}}) {
                n.ip("-n", end[0], "link", "set", "lo", "up");
                n.ip("-n", end[0], "link", "set", end[1], "up");
            }
            return n;
        } catch (IOException | RuntimeException e) {
            n.close();
            throw e;
        }
    }

    /**
     * Shapes what A sends to B: netem with the delay and the rate where the kernel has netem, else a token bucket
     * (tbf) with the rate alone. Returns the qdisc as tc shows it.
     */
    String shape(int mbit, int delayMs) throws IOException {
        Result netem = run(List.of("tc", "-n", nsA, "qdisc", "add", "dev", vethA, "root", "netem", "delay",
                delayMs + "ms", "rate", mbit + "mbit"));
        if (netem.status != 0) {
            tc("qdisc", "add", "dev", vethA, "root", "tbf", "rate", mbit + "mbit", "burst", "64kb", "latency",
                    "200ms");
        }
        return tc("qdisc", "show", "dev", vethA);
    }

    /** Takes A's end of the pair down (the cable is cut: nothing moves, no error is reported) or up again. */
    void link(boolean up) throws IOException {
        ip("-n", nsA, "link", "set", vethA, up ? "up" : "down");
    }

    private String tc(String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("tc", "-n", nsA));
        cmd.addAll(List.of(args));
        return check(cmd);
    }

    private String ip(String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("ip"));
        cmd.addAll(List.of(args));
        return check(cmd);
    }

    private static String check(List<String> cmd) throws IOException {
        Result r = run(cmd);
        if (r.status != 0) {
            throw new IOException(String.join(" ", cmd) + " failed (" + r.status + "): " + r.output);
        }
        return r.output;
    }

    private record Result(int status, String output) { }

    private static Result run(List<String> cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            if (!p.waitFor(COMMAND_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + " did not finish in " + COMMAND_SECONDS + " s");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted running " + cmd);
        }
        return new Result(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    /** Deletes the namespaces this made (jhv processes in them should have ended first). */
    @Override
    public void close() throws IOException {
        IOException first = null;
        for (String ns : made.reversed()) {
            try {
                check(List.of("ip", "netns", "del", ns));
            } catch (IOException e) {
                first = first == null ? e : first;
            }
        }
        made.clear();
        if (first != null) {
            throw first;
        }
    }
}
