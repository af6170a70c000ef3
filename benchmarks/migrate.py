#!/usr/bin/env python3
"""Live migration, jhv to jhv against QEMU to QEMU, on loopback, same guest (testos, -m 2048 -smp 2, hb=10).

Cases (interleaved jhv/QEMU, --runs times, medians printed with the ratio jhv/QEMU):
  idle         mode=idle, default parameters
  idle-10G     mode=idle, max-bandwidth 10G
  rate         256 MiB rewritten at about 8 MiB/s, default parameters
  rate-10G     the same at max-bandwidth 10G
  a-autoconverge  (a) 1 GiB rewritten flat out by both CPUs, default bandwidth, auto-converge on (jhv: its
               per-vCPU throttle, the default; QEMU: its own)
  d-one-writer (d) the same with only CPU 0 writing (cpus=0), auto-converge on: also the idle CPU's heartbeat
               rate, the throttle reached and the writer's passes per second during the migration
  flat-1G      1 GiB rewritten flat out, defaults: expected not to converge within --flat-seconds; reports what
               info migrate says, then cancels (once per VMM)
  xbzrle-1G    (c) 1 GiB rewritten flat out with words=8 (8 words of a page per rewrite), xbzrle on both sides with
               a 1 GiB cache, then the same without xbzrle (expected not to converge: its bytes after
               --flat-seconds are a lower bound); once per VMM, with the bytes ratio
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
    "a-autoconverge": ("mode=dirty mib=1024 hb=10", ["migrate_set_capability auto-converge on"]),
    "d-one-writer": ("mode=dirty mib=1024 hb=10 cpus=0", ["migrate_set_capability auto-converge on"]),
}
# figures only the auto-converge cases report
THROTTLE_KEYS = ("throttle_max", "hb1_per_s", "hb1_before_per_s", "passes_per_s")
FLAT = ("mode=dirty mib=1024 hb=10", [])
XBZRLE_WORKLOAD = "mode=dirty mib=1024 words=8 hb=10"
XBZRLE_ON = ["migrate_set_capability xbzrle on", "migrate_set_parameter xbzrle-cache-size 1G"]
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

    def __init__(self, p, ready=(b"JHV-GUEST-READY", b"DIRTY cpu=1 pass=1")):
        super().__init__(daemon=True)
        self.p = p
        self.markers = ready
        self.stamps = []
        self.hb1 = []      # arrival of CPU 1's heartbeats
        self.passes = []   # (arrival, pass) of CPU 0's DIRTY lines
        self.text = b""
        self.ready = threading.Event()
        self.rewriting = threading.Event()  # a CPU is past its first pass over the region
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
                    if line.startswith(b"HB cpu=1 "):
                        self.hb1.append(now)
                m = re.match(rb"DIRTY cpu=0 pass=(\d+)", line)
                if m:
                    self.passes.append((now, int(m.group(1))))
                if any(m in line for m in self.markers):
                    self.ready.set()
                if re.match(rb"DIRTY cpu=\d+ pass=([2-9]|\d\d+)", line):
                    self.rewriting.set()
                self.text += line[:200] + b"\n" if len(self.text) < 100000 else b""


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def figure(text, pattern):
    m = re.search(pattern, text)
    return float(m.group(1)) if m else None


def rate_before(stamps, t0, window):
    """Events per second in the window before t0 (shortened to the first event seen)."""
    inside = [s for s in stamps if t0 - window <= s < t0]
    return len(inside) / (t0 - inside[0]) if inside and t0 > inside[0] else float("nan")


def passes_per_second(passes, t0, t1):
    """CPU 0's dirtier passes per second between t0 and t1, from the DIRTY lines it printed (at most one a second)."""
    inside = [(t, p) for t, p in passes if t0 <= t <= t1]
    if len(inside) < 2:
        before = [(t, p) for t, p in passes if t < t0]
        after = [(t, p) for t, p in passes if t > t1]
        inside = before[-1:] + inside + after[:1]
    if len(inside) < 2 or inside[-1][0] == inside[0][0]:
        return float("nan")
    return (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0])


def one(vmm, case, params, tmp, port, limit_s=120, cancel_after=None, dst_params=(), rewriting=False, on_first_pass=()):
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
        # a flat-out writer is ready once CPU 0 has written its whole slice twice (touching 1 GiB the first time
        # takes tens of seconds here): else the migration would start on a guest that has not dirtied its RAM yet
        flat = "mode=dirty" in case and "rate=" not in case
        sc, dc = Console(src, (b"DIRTY cpu=0 pass=2",) if flat else Console.__init__.__defaults__[0]), Console(dst)
        if not sc.ready.wait(300 if flat else 120):
            raise RuntimeError("%s source did not get ready" % vmm)
        if rewriting and not sc.rewriting.wait(300):
            raise RuntimeError("%s source never finished its first pass" % vmm)
        deadline = time.monotonic() + 60  # a loaded host starts the destination late
        while not os.path.exists(dst_sock) and time.monotonic() < deadline:
            time.sleep(0.05)
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
        throttle_max = 0
        while time.monotonic() - t0 < limit_s:
            info = ms.cmd("info migrate")[1]  # (seconds, answer)
            throttle_max = max(throttle_max, int(figure(info, r"cpu throttle percentage: (\d+)") or 0))
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
        t1 = time.monotonic()
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
            "xbzrle_pages": figure(info, r"xbzrle pages: (\d+) pages"),
            "xbzrle_mib": (figure(info, r"xbzrle transferred: (\d+) kbytes") or 0) / 1024,
            "throttle_max": throttle_max,
            # on the source, from the migrate command to the end
            "hb1_per_s": sum(1 for s in sc.hb1 if t0 <= s <= t1) / max(t1 - t0, 1e-3),
            # the same in the (up to) 3 s before the migrate command: the idle CPU's own rate on this host now
            "hb1_before_per_s": rate_before(sc.hb1, t0, 3.0),
            "passes_per_s": passes_per_second(sc.passes, t0, t1),
        }
    finally:
        for p in (src, dst):
            p.kill()
            p.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cases", default=",".join(list(CASES) + ["flat-1G", "xbzrle-1G"]))
    ap.add_argument("--flat-seconds", type=float, default=60)
    ap.add_argument("--vmms", default="jhv,qemu", help="which VMMs to run (a rerun of one side)")
    args = ap.parse_args()
    cases = args.cases.split(",")
    port = 42000 + (os.getpid() % 2000) * 8  # apart from other runs of this script on the same host
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            for case in cases:
                if case not in CASES:  # the once-per-VMM cases below
                    continue
                for vmm in args.vmms.split(","):
                    port += 1
                    r = one(vmm, CASES[case][0], CASES[case][1], tmp, port)
                    results.setdefault((case, vmm), []).append(r)
                    print("run %d %-9s %-4s %s" % (run, case, vmm, r), flush=True)
        if "postcopy" in cases:
            for run in range(args.runs):
                for vmm in args.vmms.split(","):
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

        if "xbzrle-1G" in cases:
            xbzrle_case(tmp, port, args.flat_seconds)

    print("\nmedians (jhv / qemu = ratio)")
    for case in cases:
        if case in ("flat-1G", "xbzrle-1G"):
            continue
        j, q = results.get((case, "jhv"), []), results.get((case, "qemu"), [])
        line = "%-9s" % case
        keys = ("total_ms", "downtime_ms", "gap_ms", "wire_mib", "cpu_s") + (("first_pass_ms",) if case == "postcopy" else ())
        for key in keys + (THROTTLE_KEYS if case in ("a-autoconverge", "d-one-writer") else ()):
            jv = [r[key] for r in j if r.get(key) is not None and r["status"] == "completed"]
            qv = [r[key] for r in q if r.get(key) is not None and r["status"] == "completed"]
            if not jv or not qv:
                line += "  %s: n/a" % key
                continue
            jm, qm = statistics.median(jv), statistics.median(qv)
            line += "  %s %.1f / %.1f = %.2f" % (key, jm, qm, jm / qm if qm else float("nan"))
        print(line)


def xbzrle_case(tmp, port, limit_s):
    """(c): per VMM, the migration with XBZRLE (until completed or limit_s), then the same without it."""
    for vmm in ("jhv", "qemu"):
        port += 1
        on = one(vmm, XBZRLE_WORKLOAD, XBZRLE_ON, tmp, port, limit_s=limit_s, dst_params=XBZRLE_ON[:1],
                 rewriting=True)
        port += 1
        off = one(vmm, XBZRLE_WORKLOAD, [], tmp, port, limit_s=limit_s, rewriting=True)
        print("xbzrle-1G %s with xbzrle: %s" % (vmm, on), flush=True)
        print("xbzrle-1G %s without:     %s" % (vmm, off), flush=True)
        ratio = on["wire_mib"] / off["wire_mib"] if off["wire_mib"] else float("nan")
        print("xbzrle-1G %s: %s in %s ms (downtime %s ms) with %.0f MiB on the wire; without xbzrle %s after %s ms "
              "with %.0f MiB%s: bytes ratio %.3f" % (vmm, on["status"], on["total_ms"], on["downtime_ms"],
                                                     on["wire_mib"], off["status"], off["total_ms"], off["wire_mib"],
                                                     "" if off["status"] == "completed" else " (a lower bound)",
                                                     ratio), flush=True)


if __name__ == "__main__":
    main()
