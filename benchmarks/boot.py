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


def disk_main(a):
    """Disk boot through SeaBIOS (and, with --disk-io, testos's disk mode) under jhv and QEMU pc, interleaved."""
    image = os.path.join(ROOT, "guest-images", "out", "disk.qcow2")
    if a.disk_io:
        append = "mode=disk dma=%s sectors=%d" % (a.dma, a.sectors)
    else:
        append = "mode=poweroff"
    common = ["-m", a.mem, "-smp", a.smp, "-display", "none", "-serial", "stdio", "-snapshot", image,
              "-fw_cfg", "name=opt/testos/cmdline,string=" + append]
    vmms = {"jhv": [os.path.join(ROOT, "jhv")] + common,
            "qemu-pc": ["qemu-system-x86_64", "-enable-kvm", "-M", "pc", "-cpu", "qemu64", "-monitor", "none",
                        "-no-reboot"] + common}
    subprocess.run([os.path.join(ROOT, "scripts", "train-aot")], check=False)
    results = {name: [] for name in vmms}
    for i in range(a.runs + 1):
        for name, cmd in vmms.items():
            r = run_disk(cmd, a.disk_io)
            if i > 0 and r is not None:  # the first round warms the page cache
                results[name].append(r)
    what = "disk mode (DISK OK ms, %d sectors, dma=%s)" % (a.sectors, a.dma) if a.disk_io \
        else "boot to JHV-GUEST-READY through SeaBIOS from disk.qcow2"
    print("%s, -m %s -smp %s, %d interleaved runs, medians" % (what, a.mem, a.smp, a.runs))
    med = {}
    for name, rs in results.items():
        if rs:
            med[name] = statistics.median(rs)
            print("%-8s %10.3f %s" % (name, med[name], "ms" if a.disk_io else "s"))
        else:
            print("%-8s failed" % name)
    if len(med) == 2:
        print("jhv/qemu-pc: %.2fx" % (med["jhv"] / med["qemu-pc"]))


def run_disk(cmd, disk_io):
    """Seconds to READY, or the disk mode's own ms figure; the VMM is ended once it has answered."""
    import re
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    buf = b""
    value = None
    deadline = t0 + 120
    while time.monotonic() < deadline:
        chunk = p.stdout.read1(4096)
        if not chunk:
            break
        buf += chunk
        if not disk_io and value is None and MARK in buf:
            value = time.monotonic() - t0
        m = re.search(rb"DISK OK [^\r\n]* ms=(\d+)\r?\n", buf)
        if disk_io and m:
            value = float(m.group(1))
            p.stdin.write(b"poweroff\r")
            p.stdin.flush()
            break
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    if value is None:
        sys.stderr.write("no answer from: %s\n%s\n" % (" ".join(cmd), buf[-1500:].decode(errors="replace")))
    return value


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--disk", action="store_true", help="boot guest-images/out/disk.qcow2 through SeaBIOS instead")
    ap.add_argument("--disk-io", action="store_true", help="with --disk: time testos's disk mode instead")
    ap.add_argument("--dma", default="1")
    ap.add_argument("--sectors", type=int, default=16384)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--smp", default="1")
    ap.add_argument("--mem", default="256")
    ap.add_argument("--no-pc", action="store_true", help="skip QEMU's pc machine (slow here)")
    a = ap.parse_args()
    if a.disk or a.disk_io:
        disk_main(a)
        return
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
