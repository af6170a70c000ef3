#!/usr/bin/env python3
"""UDP throughput between host and guest over a tap device, jhv against QEMU, same guest (testos mode=vnet).

The guest (booted from disk.qcow2 by SeaBIOS, virtio-net-pci on -netdev tap) echoes UDP datagrams sent to its
port 7. A host socket in a network namespace the script makes keeps --window datagrams of --size bytes in flight
for --seconds and counts the echoes: the figure is echoed payload MB/s (each byte crossed the NIC twice) and
datagrams per second. Runs are interleaved (jhv, QEMU, jhv, ...); medians and jhv's ratio to QEMU are printed
(above 1: jhv is faster). Needs root (netns, tap).

    benchmarks/udp.py [--vmm ./jhv --vmm qemu-system-x86_64] [--runs 3] [--size 1400] [--window 32]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOOT = os.path.join(ROOT, "guest-images", "out", "disk.qcow2")
NS = "jhv-udp-bench"
GUEST = "10.79.0.15"

# the client runs inside the namespace; it prints "bytes datagrams seconds lost"
CLIENT = r"""
import select, socket, sys, time
size, window, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.connect((sys.argv[4], 7))
payload = b"x" * size
# warm up: one echo must come back before the clock starts
s.settimeout(10)
s.send(payload); s.recv(65536)
s.setblocking(False)
got = sent = 0
t0 = time.monotonic(); end = t0 + seconds; last = t0
while True:
    now = time.monotonic()
    if now >= end:
        break
    while sent - got < window:
        try:
            s.send(payload); sent += 1
        except BlockingIOError:
            break
    r, _, _ = select.select([s], [], [], 0.05)
    if r:
        while True:
            try:
                s.recv(65536); got += 1; last = time.monotonic()
            except BlockingIOError:
                break
    elif time.monotonic() - last > 0.2:
        sent = got  # a datagram was lost (UDP may drop): refill the window
print(got * size, got, time.monotonic() - t0, 0)
"""


def sh(*cmd, check=True):
    return subprocess.run(cmd, check=check, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout


def netns_up():
    sh("ip", "netns", "del", NS, check=False)
    sh("ip", "netns", "add", NS)
    sh("ip", "netns", "exec", NS, "ip", "link", "set", "lo", "up")
    sh("ip", "netns", "exec", NS, "ip", "tuntap", "add", "dev", "ut0", "mode", "tap", "vnet_hdr")
    sh("ip", "netns", "exec", NS, "ip", "addr", "add", "10.79.0.1/24", "dev", "ut0")
    sh("ip", "netns", "exec", NS, "ip", "link", "set", "ut0", "up")


def run(vmm, a):
    cmd = ["ip", "netns", "exec", NS, vmm, "-enable-kvm", "-M", "pc", "-m", "256", "-display", "none",
           "-serial", "stdio", "-monitor", "none", "-drive", f"file={BOOT},if=virtio,snapshot=on",
           "-netdev", "tap,id=n0,ifname=ut0,script=no,downscript=no", "-device", "virtio-net-pci,netdev=n0",
           "-fw_cfg", f"name=opt/testos/cmdline,string=mode=vnet poll=spin ip={GUEST}/24"]
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    buf, t0 = b"", time.monotonic()
    try:
        while b"VNET READY" not in buf:
            if time.monotonic() - t0 > 120:
                sys.exit(f"{vmm}: no VNET READY line; output ends: {buf[-300:]!r}")
            chunk = p.stdout.read1(4096)
            if not chunk:
                sys.exit(f"{vmm}: exited before VNET READY; output ends: {buf[-300:]!r}")
            buf += chunk
        out = sh("ip", "netns", "exec", NS, sys.executable, "-c", CLIENT, str(a.size), str(a.window),
                 str(a.seconds), GUEST)
        m = re.search(r"^(\d+) (\d+) ([\d.]+)", out, re.M)
        if not m:
            sys.exit(f"{vmm}: the client said {out!r}")
        secs = float(m.group(3))
        return int(m.group(1)) / secs / 1e6, int(m.group(2)) / secs
    finally:
        p.kill()
        p.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vmm", action="append", help="a VMM with QEMU's command line (repeatable)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--size", type=int, default=1400, help="UDP payload bytes")
    ap.add_argument("--window", type=int, default=32, help="datagrams in flight")
    ap.add_argument("--seconds", type=float, default=5)
    a = ap.parse_args()
    vmms = a.vmm or [os.path.join(ROOT, "jhv"), "qemu-system-x86_64"]
    netns_up()
    try:
        figs = {v: [] for v in vmms}
        for _ in range(a.runs):
            for v in vmms:
                figs[v].append(run(v, a))
                print(f"  {os.path.basename(v)}: {figs[v][-1][0]:.1f} MB/s {figs[v][-1][1]:.0f} datagrams/s",
                      flush=True)
        line = f"udp-echo-{a.size}B-w{a.window}"
        medians = []
        for v in vmms:
            mb = statistics.median(f[0] for f in figs[v])
            medians.append(mb)
            line += f"  {os.path.basename(v)}: MBps={mb:.1f} pps={statistics.median(f[1] for f in figs[v]):.0f}"
        if len(vmms) == 2 and medians[1]:
            line += f"  ratio={medians[0] / medians[1]:.2f}"
        print(line, flush=True)
    finally:
        sh("ip", "netns", "del", NS, check=False)


if __name__ == "__main__":
    main()
