#!/usr/bin/env python3
"""multifd and TLS, jhv to jhv on loopback: a 1 GiB guest rewriting 512 MiB (testos mode=dirty mib=512
rate=20000, -m 1024 -smp 2; migrated once both CPUs have written their part once) at max-bandwidth 10G, over the main channel alone and with multifd 1 and 4 channels,
each without and with TLS (certificates made with openssl). One run per case (--runs for more), figures as
info migrate reports them: total time, downtime, transferred and multifd bytes, throughput, the source's CPU time.
"""
import argparse
import os
import subprocess
import tempfile
import time

from migrate import Console, Monitor, cpu_seconds, figure, ROOT, OUT

# 20000 pages/s per CPU: the 512 MiB are written once in a few seconds, then rewritten at about 156 MiB/s
GUEST = "mode=dirty mib=512 rate=20000 hb=10"


def certificates(tmp):
    """A CA, server credentials in tmp/server and client credentials in tmp/client (QEMU's file names)."""
    def ssl(*args, cwd=tmp):
        subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)
    ssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca-key.pem",
        "-out", "ca-cert.pem", "-days", "2", "-subj", "/CN=bench-ca")
    with open(os.path.join(tmp, "ext.cnf"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    for who in ("server", "client"):
        d = os.path.join(tmp, who)
        os.makedirs(d)
        subprocess.run(["cp", os.path.join(tmp, "ca-cert.pem"), d], check=True)
        ssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "%s/%s-key.pem" % (d, who))
        ssl("req", "-new", "-key", "%s/%s-key.pem" % (d, who), "-out", who + ".csr", "-subj", "/CN=localhost")
        ssl("x509", "-req", "-in", who + ".csr", "-CA", "ca-cert.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
            "-out", "%s/%s-cert.pem" % (d, who), "-days", "2", "-extfile", "ext.cnf")


def jhv(sock, extra):
    return [os.path.join(ROOT, "jhv"), "-kernel", os.path.join(OUT, "testos.bin"), "-append", GUEST, "-m", "1024",
            "-smp", "2", "-display", "none", "-serial", "stdio", "-monitor", "unix:%s,server,nowait" % sock] + extra


def one(tmp, port, channels, tls):
    src_sock, dst_sock = os.path.join(tmp, "src.sock"), os.path.join(tmp, "dst.sock")
    for s in (src_sock, dst_sock):
        if os.path.exists(s):
            os.unlink(s)
    src_extra, dst_extra, src_cmds, dst_cmds = [], [], ["migrate_set_parameter max-bandwidth 10G"], []
    if tls:
        src_extra = ["-object", "tls-creds-x509,id=tls0,dir=%s/client,endpoint=client" % tmp]
        dst_extra = ["-object", "tls-creds-x509,id=tls0,dir=%s/server,endpoint=server" % tmp]
        src_cmds.append("migrate_set_parameter tls-creds tls0")
        dst_cmds.append("migrate_set_parameter tls-creds tls0")
    if channels:
        src_cmds += ["migrate_set_capability multifd on", "migrate_set_parameter multifd-channels %d" % channels]
        dst_cmds.append("migrate_set_capability multifd on")
    src = subprocess.Popen(jhv(src_sock, src_extra), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                           stdin=subprocess.DEVNULL)
    dst = subprocess.Popen(jhv(dst_sock, dst_extra + ["-incoming", "tcp:127.0.0.1:%d" % port]),
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        sc = Console(src)
        Console(dst)
        deadline = time.monotonic() + 120
        while not all(b"DIRTY cpu=%d pass=1" % c in sc.text for c in (0, 1)):
            if time.monotonic() > deadline:
                raise RuntimeError("the source did not write its memory once")
            time.sleep(0.1)
        ms, md = Monitor(src_sock), Monitor(dst_sock)
        for c in src_cmds:
            ms.cmd(c)
        for c in dst_cmds:
            md.cmd(c)
        cpu0 = cpu_seconds(src.pid)
        t0 = time.monotonic()
        ms.cmd("migrate -d tcp:127.0.0.1:%d" % port)
        info = ""
        while time.monotonic() - t0 < 300:
            info = ms.cmd("info migrate")[1]
            if "Migration status: completed" in info or "Migration status: failed" in info:
                break
            time.sleep(0.05)
        return {
            "status": "completed" if "completed" in info else [l for l in info.splitlines() if "status" in l],
            "total_ms": figure(info, r"total time: (\d+) ms"),
            "downtime_ms": figure(info, r"\ndowntime: (\d+) ms"),
            "wire_mib": (figure(info, r"transferred ram: (\d+) kbytes") or 0) / 1024,
            "multifd_mib": (figure(info, r"multifd bytes: (\d+) kbytes") or 0) / 1024,
            "mbps": figure(info, r"throughput: ([\d.]+) mbps"),
            "cpu_s": cpu_seconds(src.pid) - cpu0,
        }
    finally:
        for p in (src, dst):
            p.kill()
            p.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--port", type=int, default=47311)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        certificates(tmp)
        print("%-22s %8s %9s %9s %11s %9s %7s" % ("case", "total ms", "downtime", "wire MiB", "multifd MiB",
                                                  "mbps", "cpu s"))
        for _ in range(args.runs):
            for tls in (False, True):
                for channels in (0, 1, 4):
                    name = ("main only" if not channels else "multifd %d" % channels) + (" + TLS" if tls else "")
                    r = one(tmp, args.port, channels, tls)
                    if r["status"] != "completed":
                        print("%-22s %s" % (name, r["status"]))
                        continue
                    print("%-22s %8.0f %9.0f %9.1f %11.1f %9.0f %7.1f" % (
                        name, r["total_ms"], r["downtime_ms"] or -1, r["wire_mib"], r["multifd_mib"], r["mbps"] or 0,
                        r["cpu_s"]), flush=True)


if __name__ == "__main__":
    main()
