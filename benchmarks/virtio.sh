#!/bin/sh
# virtio-blk throughput and IOPS of jhv against QEMU from inside the test guest (testos mode=vblk), the issue's
# cases at cache=none, interleaved runs, medians and ratios. See vblk.py.
exec python3 "$(dirname "$0")/vblk.py" "$@"
