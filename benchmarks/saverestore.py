#!/usr/bin/env python3
"""Static save/restore: jhv vs QEMU on the same test guest.

The guest (-m 2048) dirties 256 MiB (mode=dirty mib=256), is stopped, then:
  - migrate "exec:cat > FILE": time of the command, and the file's size;
  - -incoming "exec:cat FILE": time from process start until the monitor no longer says inmigrate;
  - savevm / loadvm on a qcow2 drive: time of each command.
QEMU runs the ELF through its microvm machine (PVH), jhv the same kernel as a bzImage. Prints both and the ratio.
"""
import argparse
import os
import select
import socket
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "guest-images", "out")
APPEND = "mode=dirty mib=256 hb=1000"


class Monitor:
    def __init__(self, path):
        deadline = time.time() + 30
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX)
                self.s.connect(path)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        self.read()

    def read(self):
        buf = b""
        while not buf.endswith(b"(qemu) "):
            chunk = self.s.recv(65536)
            if not chunk:
                break
            buf += chunk
        return buf.decode(errors="replace")

    def cmd(self, line):
        t0 = time.monotonic()
        self.s.sendall((line + "\n").encode())
        out = self.read()
        return time.monotonic() - t0, out


def vmm_cmd(vmm, sock, extra):
    if vmm == "jhv":
        return [os.path.join(ROOT, "jhv"), "-kernel", os.path.join(OUT, "testos.bin"), "-append", APPEND,
                "-m", "2048", "-smp", "1", "-display", "none", "-serial", "stdio",
                "-monitor", "unix:%s,server,nowait" % sock] + extra
    return ["qemu-system-x86_64", "-enable-kvm", "-M", "microvm", "-cpu", "qemu64", "-kernel",
            os.path.join(OUT, "testos.elf"), "-append", APPEND, "-m", "2048", "-smp", "1", "-display", "none",
            "-serial", "stdio", "-monitor", "unix:%s,server,nowait" % sock, "-nodefaults", "-no-user-config"] + extra


def wait_for(p, marker, timeout=120):
    """Reads the guest's console until marker shows up, bounded by timeout (select, so a silent guest can't hang us)."""
    deadline = time.monotonic() + timeout
    buf = b""
    fd = p.stdout.fileno()
    while marker not in buf:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise RuntimeError("no %r within %ds; got %s" % (marker, timeout, buf[-500:]))
        chunk = os.read(fd, 65536)
        if not chunk:
            raise RuntimeError("%r exited before %r; got %s" % (p.args[0], marker, buf[-500:]))
        buf += chunk
    return buf


def one(vmm, tmp):
    sock = os.path.join(tmp, vmm + ".sock")
    disk = os.path.join(tmp, vmm + ".qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", disk, "64M"], check=True)
    drive = ["-drive", "file=%s,format=qcow2,if=none,id=disk0" % disk]
    p = subprocess.Popen(vmm_cmd(vmm, sock, drive), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    wait_for(p, b"HB cpu=0 seq=1")  # the first full pass over the 256 MiB is done
    mon = Monitor(sock)
    mon.cmd("stop")
    if vmm == "qemu":
        # QEMU caps migration at 128 MiB/s by default; lift it so both write as fast as they can
        mon.cmd("migrate_set_parameter max-bandwidth 100G")
    f = os.path.join(tmp, vmm + ".bin")
    t_mig, _ = mon.cmd('migrate "exec:cat > %s"' % f)
    size = os.path.getsize(f)
    if vmm == "qemu":
        mon.cmd("cont")  # QEMU leaves the source in postmigrate; savevm needs a live VM
    t_save, out = mon.cmd("savevm bench")
    t_load, out2 = mon.cmd("loadvm bench")
    mon.s.sendall(b"quit\n")
    p.wait(30)
    os.remove(sock) if os.path.exists(sock) else None
    t0 = time.monotonic()
    err = os.path.join(tmp, vmm + ".incoming.err")
    with open(err, "wb") as e:
        q = subprocess.Popen(vmm_cmd(vmm, sock, drive + ["-incoming", "exec:cat %s" % f]), stdout=subprocess.PIPE,
                             stderr=e)
    try:
        # loaded = the monitor no longer says inmigrate. QEMU then stays paused, as the source was when it saved
        # (its stream carries the run state); jhv runs. Either way the guest must then print its heartbeat.
        mon = Monitor(sock)
        while "inmigrate" in mon.cmd("info status")[1]:
            time.sleep(0.005)
        t_in = time.monotonic() - t0
        mon.cmd("cont")
        wait_for(q, b"HB cpu=0")
    except (RuntimeError, OSError):
        q.kill()
        raise RuntimeError("%s -incoming: %s" % (vmm, open(err).read()[-2000:]))
    q.kill()
    q.wait()
    return t_mig, size, t_in, t_save, t_load


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    subprocess.run([os.path.join(ROOT, "scripts", "train-aot")], check=False)
    res = {}
    with tempfile.TemporaryDirectory() as tmp:
        runs = {"jhv": [], "qemu": []}
        # interleaved, so that both see the machine in the same state (QEMU's times drift with it, e.g. its THP faults)
        for _ in range(a.runs):
            for vmm in runs:
                runs[vmm].append(one(vmm, tmp))
        for vmm, rs in runs.items():
            res[vmm] = [sorted(r[i] for r in rs)[len(rs) // 2] for i in range(5)]
    names = ["migrate exec: to file (s)", "stream size (MiB)", "-incoming until loaded (s)", "savevm (s)",
             "loadvm (s)"]
    print("static save/restore, -m 2048, 256 MiB dirtied, medians of %d runs" % a.runs)
    print("%-30s %10s %10s %8s" % ("", "jhv", "qemu", "jhv/qemu"))
    for i, n in enumerate(names):
        j, q = res["jhv"][i], res["qemu"][i]
        if i == 1:
            j, q = j / 2 ** 20, q / 2 ** 20
        print("%-30s %10.3f %10.3f %8.2f" % (n, j, q, j / q if q else float("nan")))


if __name__ == "__main__":
    main()
