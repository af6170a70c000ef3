#!/usr/bin/env python3
"""Boot time and peak RSS: jhv vs QEMU (pc and microvm) on the same test guest.

Each run boots the test guest with mode=poweroff and measures the wall time from process start to the guest's
`JHV-GUEST-READY` line and to process exit, and the peak RSS (VmHWM of the process, sampled, plus wait4's
ru_maxrss). Prints medians per VMM and the jhv/QEMU ratios.
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARK = b"JHV-GUEST-READY"


class Run:
    """One run of a VMM to its exit: seconds to READY (None if never) and to exit, peak RSS, status, output."""

    def __init__(self, ready, total, rss_mib, code, out, err):
        self.ready, self.total, self.rss_mib, self.code, self.out, self.err = ready, total, rss_mib, code, out, err


def run_to_exit(cmd, env=None):
    """Runs cmd, noting when the guest's READY line appears on stdout; returns a Run (also used by startup-trace)."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    ready = None
    buf = b""
    while True:
        chunk = p.stdout.read1(4096)
        if not chunk:
            break
        buf += chunk
        if ready is None and MARK in buf:
            ready = time.monotonic() - t0
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    total = time.monotonic() - t0
    code = os.waitstatus_to_exitcode(status)
    p.returncode = code
    return Run(ready, total, ru.ru_maxrss / 1024.0, code, buf, err)


def run_once(cmd):
    r = run_to_exit(cmd)
    if r.ready is None:
        sys.stderr.write("no READY line from: %s\nexit %s\n%s\n%s\n" % (" ".join(cmd), r.code,
                                                                     r.out[-2000:].decode(errors="replace"),
                                                                     r.err[-2000:].decode(errors="replace")))
    return r.ready, r.total, r.rss_mib, r.code


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--smp", default="1")
    ap.add_argument("--mem", default="256")
    ap.add_argument("--no-pc", action="store_true", help="skip QEMU's pc machine (slow here)")
    a = ap.parse_args()
    out = os.path.join(ROOT, "guest-images", "out")
    append = "mode=poweroff"
    vmms = {
        "jhv": [os.path.join(ROOT, "jhv"), "-kernel", os.path.join(out, "testos.bin"), "-append", append,
                "-m", a.mem, "-smp", a.smp, "-display", "none", "-serial", "stdio"],
        "qemu-microvm": ["qemu-system-x86_64", "-enable-kvm", "-M", "microvm", "-cpu", "qemu64", "-kernel",
                         os.path.join(out, "testos.elf"), "-append", append, "-m", a.mem, "-smp", a.smp,
                         "-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot"],
    }
    if not a.no_pc:
        vmms["qemu-pc"] = ["qemu-system-x86_64", "-enable-kvm", "-M", "pc", "-cpu", "qemu64", "-kernel",
                           os.path.join(out, "testos.elf"), "-append", append, "-m", a.mem, "-smp", a.smp,
                           "-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot"]
    # jhv as shipped: with its AOT cache, made fresh for the current jar.
    subprocess.run([os.path.join(ROOT, "scripts", "train-aot")], check=False)
    results = {}
    for name, cmd in vmms.items():
        run_once(cmd)  # warm the page cache
        rs = [run_once(cmd) for _ in range(a.runs)]
        ok = [r for r in rs if r[0] is not None]
        if not ok:
            print("%-13s failed" % name)
            continue
        results[name] = (statistics.median(r[0] for r in ok), statistics.median(r[1] for r in ok),
                         max(r[2] for r in ok), [r[3] for r in rs])
    print("boot to JHV-GUEST-READY, -m %s -smp %s, %d runs, medians" % (a.mem, a.smp, a.runs))
    print("%-13s %10s %10s %12s  %s" % ("vmm", "ready s", "exit s", "peak RSS MiB", "exit codes"))
    for name, (ready, total, rss, codes) in results.items():
        print("%-13s %10.3f %10.3f %12.1f  %s" % (name, ready, total, rss, codes))
    if "jhv" in results:
        j = results["jhv"]
        for ref in ("qemu-microvm", "qemu-pc"):
            if ref in results:
                q = results[ref]
                print("jhv/%s: ready %.2fx, exit %.2fx, peak RSS %+.1f MiB" % (ref, j[0] / q[0], j[1] / q[1], j[2] - q[2]))


if __name__ == "__main__":
    main()
