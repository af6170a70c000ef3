package dev.jhv.core.net;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A network namespace a test creates and removes, and the commands it runs (ip, ping, ...) with bounds. */
final class NetNamespace implements AutoCloseable {
    final String name;

    private NetNamespace(String name) {
        this.name = name;
    }

    /** Whether the test may create namespaces and tap devices here: root, /dev/net/tun and ip(8). */
    static String missing() {
        if (!"root".equals(System.getProperty("user.name"))) {
            return "not root: network namespaces and tap devices need CAP_NET_ADMIN";
        }
        if (!Files.exists(Path.of("/dev/net/tun"))) {
            return "no /dev/net/tun";
        }
        if (!Files.isExecutable(Path.of("/usr/sbin/ip")) && !Files.isExecutable(Path.of("/sbin/ip"))) {
            return "no ip(8) (iproute2)";
        }
        return null;
    }

    static NetNamespace create(String prefix) throws IOException, InterruptedException {
        String name = prefix + ProcessHandle.current().pid();
        run("ip", "netns", "del", name);
        check("ip", "netns", "add", name);
        var ns = new NetNamespace(name);
        ns.exec("ip", "link", "set", "lo", "up");
        return ns;
    }

    /** Runs {@code cmd} inside the namespace; fails the test when it fails. */
    String exec(String... cmd) throws IOException, InterruptedException {
        var all = new ArrayList<>(List.of("ip", "netns", "exec", name));
        all.addAll(List.of(cmd));
        return check(all.toArray(String[]::new));
    }

    static String check(String... cmd) throws IOException, InterruptedException {
        var r = run(cmd);
        if (r.code != 0) {
            throw new AssertionError(String.join(" ", cmd) + " exited " + r.code + ": " + r.output);
        }
        return r.output;
    }

    record Result(int code, String output) { }

    /** Runs a command (at most 20 s) and returns its exit code and output. */
    static Result run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", cmd) + " did not end within 20 s");
        }
        return new Result(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    @Override
    public void close() throws IOException, InterruptedException {
        run("ip", "netns", "del", name);
    }
}
