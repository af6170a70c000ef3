#!/usr/bin/env python3
"""Where jhv's start-up time goes: runs `JHV_TRACE_STARTUP=1 ./jhv` on the test guest N times and prints the
median time of every start-up milestone (ms since ./jhv began), in order, plus when the guest said READY.

  benchmarks/startup-trace.sh [--runs N] [-- extra jhv options]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

from boot import run_to_exit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARK = re.compile(rb"^jhv-startup (\d+) ms \[([^\]]*)\] (.*)$")


def run_once(extra):
    cmd = [os.path.join(ROOT, "jhv"), "-kernel", os.path.join(ROOT, "guest-images", "out", "testos.bin"),
           "-append", "mode=poweroff", "-m", "256", "-display", "none", "-serial", "stdio"] + extra
    r = run_to_exit(cmd, env=dict(os.environ, JHV_TRACE_STARTUP="1"))
    marks = {}
    for line in r.err.splitlines():
        m = MARK.match(line)
        if m:
            marks.setdefault((m.group(2).decode(), m.group(3).decode()), int(m.group(1)))
    if r.ready is None:
        sys.exit("no READY line; stderr:\n" + r.err.decode(errors="replace")[-2000:])
    marks[("guest", "JHV-GUEST-READY seen by the benchmark")] = r.ready * 1000
    return marks


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("extra", nargs="*", help="more jhv options (after --)")
    a = ap.parse_args()
    # jhv as shipped: with its AOT cache, made fresh for the current jar
    subprocess.run([os.path.join(ROOT, "scripts", "train-aot")], check=False)
    run_once(a.extra)  # warm the page cache
    runs = [run_once(a.extra) for _ in range(a.runs)]
    keys = set().union(*runs)
    rows = sorted(((statistics.median(r[k] for r in runs if k in r), k) for k in keys))
    print("jhv start-up milestones, medians of %d runs (ms since ./jhv began)" % a.runs)
    for ms, (thread, what) in rows:
        print("%7.0f  %-18s %s" % (ms, thread, what))


if __name__ == "__main__":
    main()
