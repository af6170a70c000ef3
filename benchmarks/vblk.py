#!/usr/bin/env python3
"""virtio-blk figures from inside the test guest (testos mode=vblk), for any VMM with QEMU's command line.

The issue's cases: 4 KiB random reads at depth 1 and 32, 1 MiB sequential reads and writes, on a raw
scratch disk (the second virtio disk, dev=1, cache=none) next to the boot disk.  Each case boots the
guest once per run and reads the `VBLK OK ... MBps= iops=` line; prints the median per case.

    benchmarks/vblk.py [--vmm ./jhv --vmm qemu-system-x86_64] [--runs 3] [--mib 512]

By default jhv and QEMU run interleaved (jhv, QEMU, jhv, ...) on the same scratch file and each case prints both
medians and jhv's ratio to QEMU (above 1: jhv is faster).  The guest's MBps is 10^6 bytes/s.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOOT = os.path.join(ROOT, "guest-images", "out", "disk.qcow2")
OK = re.compile(rb"VBLK OK .* ms=(\d+) MBps=(\d+) iops=(\d+)")
BAD = re.compile(rb"(VBLK|VIRTIO) (FAIL|ERROR|NEEDS_RESET)[^\r\n]*")


def cases(sectors):
    rand = f"lba=0 sectors={sectors} count=8 pattern=rand"
    seq = f"lba=0 sectors={sectors} bs=1048576"
    return [
        ("4k-randread-qd1", f"op=read {rand} depth=1 ios=20000"),
        ("4k-randread-qd32", f"op=read {rand} depth=32 ios=100000"),
        ("1m-seqread-qd4", f"op=read {seq} depth=4"),
        ("1m-seqwrite-qd4", f"op=write {seq} depth=4"),
    ]


def run(vmm, scratch, keys, timeout=300):
    cmd = [vmm, "-enable-kvm", "-M", "pc", "-m", "256", "-display", "none", "-serial", "stdio", "-monitor", "none",
           "-nic", "none", "-drive", f"file={BOOT},if=virtio,snapshot=on",
           "-drive", f"file={scratch},if=virtio,format=raw,cache=none",
           "-fw_cfg", f"name=opt/testos/cmdline,string=mode=vblk dev=1 {keys}"]
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    buf, t0 = b"", time.monotonic()
    try:
        while time.monotonic() - t0 < timeout:
            chunk = p.stdout.read1(4096)
            if not chunk:
                break
            buf += chunk
            m, bad = OK.search(buf), BAD.search(buf)
            if bad:
                sys.exit(f"{vmm}: {bad.group(0).decode()}")
            if m and buf[m.end():].find(b"\n") >= 0:
                return int(m.group(2)), int(m.group(3))
        sys.exit(f"{vmm}: no VBLK OK line; output ends: {buf[-300:]!r}")
    finally:
        p.kill()
        p.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vmm", action="append", help="a VMM with QEMU's command line (repeatable)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--mib", type=int, default=512, help="scratch disk size (the region read and written)")
    a = ap.parse_args()
    vmms = a.vmm or [os.path.join(ROOT, "jhv"), "qemu-system-x86_64"]
    # not in /tmp: O_DIRECT (cache=none) needs a file system that has it, which tmpfs is not
    with tempfile.TemporaryDirectory(dir=os.path.join(ROOT, "benchmarks")) as tmp:
        scratch = os.path.join(tmp, "scratch.img")
        with open(scratch, "wb") as f:
            f.truncate(a.mib << 20)
        # fill it once so that reads hit allocated blocks
        run(vmms[-1], scratch, f"op=write lba=0 sectors={a.mib * 2048} bs=1048576 depth=4")
        for name, keys in cases(a.mib * 2048):
            figs = {v: [] for v in vmms}
            for _ in range(a.runs):
                for v in vmms:
                    figs[v].append(run(v, scratch, keys))
            line = f"{name:18}"
            medians = []
            for v in vmms:
                mb = statistics.median(f[0] for f in figs[v])
                io = statistics.median(f[1] for f in figs[v])
                medians.append(io)
                line += f"  {os.path.basename(v)}: MBps={mb:.0f} iops={io:.0f}"
            if len(vmms) == 2 and medians[1]:
                line += f"  ratio={medians[0] / medians[1]:.2f}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
