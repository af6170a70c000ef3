#!/usr/bin/env python3
"""Live migration, jhv to jhv against QEMU to QEMU, on loopback, same guest (testos, -m 2048 -smp 2, hb=10).

Cases (interleaved jhv/QEMU, --runs times, medians printed with the ratio jhv/QEMU):
  idle         mode=idle, default parameters
  idle-10G     mode=idle, max-bandwidth 10G
  rate         256 MiB rewritten at about 8 MiB/s, default parameters
  rate-10G     the same at max-bandwidth 10G
  flat-1G      1 GiB rewritten flat out, defaults: expected not to converge within --flat-seconds; reports what
               info migrate says, then cancels (once per VMM)
  postcopy     (b) the same 1 GiB flat-out writer, default bandwidth, postcopy-ram on both sides and
               migrate_start_postcopy once the first pass is done (dirty sync count 2): total time against that
               first pass (one pass of RAM over the link; goal: total within 1.5 times it), downtime (goal < 50 ms)
Figures: total time and downtime as each VMM reports them, the largest heartbeat gap seen on the merged serial
output of source and destination, bytes on the wire (transferred ram) and the source's CPU time.
QEMU runs the ELF through microvm (PVH), jhv the bzImage; QEMU 7.2 on this host cannot use -cpu host.
"""
import argparse
import os
import re
import select
import socket
import statistics
import subprocess
import tempfile
import threading
import time

from saverestore import Monitor  # the same HMP client

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "guest-images", "out")

CASES = {
    "idle": ("mode=idle hb=10", []),
    "idle-10G": ("mode=idle hb=10", ["migrate_set_parameter max-bandwidth 10G"]),
    "rate": ("mode=dirty mib=256 rate=1024 hb=10", []),
    "rate-10G": ("mode=dirty mib=256 rate=1024 hb=10", ["migrate_set_parameter max-bandwidth 10G"]),
}
FLAT = ("mode=dirty mib=1024 hb=10", [])
# (b): (workload, source commands, destination commands, commands once the first pass is done)
POSTCOPY = ("mode=dirty mib=1024 hb=10", ["migrate_set_capability postcopy-ram on"],
            ["migrate_set_capability postcopy-ram on"], ["migrate_start_postcopy"])


def vmm_cmd(vmm, append, sock, extra):
    if vmm == "jhv":
        return [os.path.join(ROOT, "jhv"), "-kernel", os.path.join(OUT, "testos.bin"), "-append", append,
                "-m", "2048", "-smp", "2", "-display", "none", "-serial", "stdio",
                "-monitor", "unix:%s,server,nowait" % sock] + extra
    return ["qemu-system-x86_64", "-enable-kvm", "-M", "microvm", "-cpu", "qemu64", "-kernel",
            os.path.join(OUT, "testos.elf"), "-append", append, "-m", "2048", "-smp", "2", "-display", "none",
            "-serial", "stdio", "-monitor", "unix:%s,server,nowait" % sock, "-nodefaults", "-no-user-config"] + extra


class Console(threading.Thread):
    """Reads a guest's serial output, stamping each heartbeat line with its arrival time."""

    def __init__(self, p):
        super().__init__(daemon=True)
        self.p = p
        self.stamps = []
        self.text = b""
        self.ready = threading.Event()
        self.start()

    def run(self):
        fd = self.p.stdout.fileno()
        partial = b""
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                return
            now = time.monotonic()
            partial += chunk
            *lines, partial = partial.split(b"\n")
            for line in lines:
                if line.startswith(b"HB "):
                    self.stamps.append(now)
                if b"JHV-GUEST-READY" in line or b"DIRTY cpu=1 pass=1" in line:
                    self.ready.set()
                self.text += line[:200] + b"\n" if len(self.text) < 100000 else b""


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def figure(text, pattern):
    m = re.search(pattern, text)
    return float(m.group(1)) if m else None


def one(vmm, case, params, tmp, port, limit_s=120, cancel_after=None, dst_params=(), on_first_pass=()):
    src_sock = os.path.join(tmp, "%s-src.sock" % vmm)
    dst_sock = os.path.join(tmp, "%s-dst.sock" % vmm)
    for s in (src_sock, dst_sock):
        if os.path.exists(s):
            os.unlink(s)
    src = subprocess.Popen(vmm_cmd(vmm, case, src_sock, []), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                           stdin=subprocess.DEVNULL)
    dst = subprocess.Popen(vmm_cmd(vmm, case, dst_sock, ["-incoming", "tcp:127.0.0.1:%d" % port]),
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        sc, dc = Console(src), Console(dst)
        if not sc.ready.wait(120):
            raise RuntimeError("%s source did not get ready" % vmm)
        ms, md = Monitor(src_sock), Monitor(dst_sock)
        for p in params:
            ms.cmd(p)
        for p in dst_params:
            md.cmd(p)
        first_pass = None
        time.sleep(0.5)  # a second of steady heartbeats before the move, so the gap measures the migration
        cpu0 = cpu_seconds(src.pid)
        t0 = time.monotonic()
        ms.cmd("migrate -d tcp:127.0.0.1:%d" % port)
        info = ""
        while time.monotonic() - t0 < limit_s:
            info = ms.cmd("info migrate")[1]  # (seconds, answer)
            if re.search(r"Migration status: (completed|failed|cancelled)", info):
                break
            if first_pass is None and (figure(info, r"dirty sync count: (\d+)") or 0) >= 2:
                first_pass = (time.monotonic() - t0) * 1000
                for p in on_first_pass:
                    ms.cmd(p)
            if cancel_after is not None and time.monotonic() - t0 > cancel_after:
                break
            time.sleep(0.05)
        cpu = cpu_seconds(src.pid) - cpu0
        if cancel_after is not None:
            ms.cmd("migrate_cancel")
            return {"status": re.search(r"Migration status: (\S+)", info).group(1), "info": info, "cpu": cpu}
        time.sleep(1.0)  # the destination's heartbeats after the move
        stamps = sorted(s for s in sc.stamps + dc.stamps if s >= t0 - 0.2)
        gap = max((b - a for a, b in zip(stamps, stamps[1:])), default=float("nan")) * 1000
        return {
            "status": re.search(r"Migration status: (\S+)", info).group(1),
            "total_ms": figure(info, r"total time: (\d+) ms"),
            "downtime_ms": figure(info, r"\ndowntime: (\d+) ms"),
            "gap_ms": gap,
            "wire_mib": (figure(info, r"transferred ram: (\d+) kbytes") or 0) / 1024,
            "cpu_s": cpu,
            "first_pass_ms": first_pass,
            "postcopy_requests": figure(info, r"postcopy request count: (\d+)"),
            "jhv_downtime": (re.search(r"jhv downtime: (.*)", info) or [None, None])[1],
        }
    finally:
        for p in (src, dst):
            p.kill()
            p.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cases", default=",".join(list(CASES) + ["flat-1G"]))
    ap.add_argument("--flat-seconds", type=float, default=60)
    args = ap.parse_args()
    cases = args.cases.split(",")
    port = 47000
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            for case in cases:
                if case in ("flat-1G", "postcopy"):
                    continue
                for vmm in ("jhv", "qemu"):
                    port += 1
                    r = one(vmm, CASES[case][0], CASES[case][1], tmp, port)
                    results.setdefault((case, vmm), []).append(r)
                    print("run %d %-9s %-4s %s" % (run, case, vmm, r), flush=True)
        if "postcopy" in cases:
            for run in range(args.runs):
                for vmm in ("jhv", "qemu"):
                    port += 1
                    r = one(vmm, POSTCOPY[0], POSTCOPY[1], tmp, port, dst_params=POSTCOPY[2],
                            on_first_pass=POSTCOPY[3])
                    results.setdefault(("postcopy", vmm), []).append(r)
                    ratio = r["total_ms"] / r["first_pass_ms"] if r.get("total_ms") and r["first_pass_ms"] else None
                    print("run %d postcopy  %-4s %s total/first pass %s" % (run, vmm, r, ratio), flush=True)
        if "flat-1G" in cases:
            for vmm in ("jhv", "qemu"):
                port += 1
                r = one(vmm, FLAT[0], FLAT[1], tmp, port, limit_s=args.flat_seconds + 5,
                        cancel_after=args.flat_seconds)
                print("flat-1G %s after %.0f s: status %s, cpu %.1f s\n%s" % (vmm, args.flat_seconds,
                      r["status"], r["cpu"], r["info"]), flush=True)

    print("\nmedians (jhv / qemu = ratio)")
    for case in cases:
        if case == "flat-1G":
            continue
        j, q = results.get((case, "jhv"), []), results.get((case, "qemu"), [])
        line = "%-9s" % case
        for key in ("total_ms", "downtime_ms", "gap_ms", "wire_mib", "cpu_s") + (
                ("first_pass_ms",) if case == "postcopy" else ()):
            jv = [r[key] for r in j if r.get(key) is not None and r["status"] == "completed"]
            qv = [r[key] for r in q if r.get(key) is not None and r["status"] == "completed"]
            if not jv or not qv:
                line += "  %s: n/a" % key
                continue
            jm, qm = statistics.median(jv), statistics.median(qv)
            line += "  %s %.1f / %.1f = %.2f" % (key, jm, qm, jm / qm if qm else float("nan"))
        print(line)


if __name__ == "__main__":
    main()
