#!/bin/sh
# Boot time and peak RSS of jhv against QEMU (pc and microvm) on the test guest. See boot.py.
exec python3 "$(dirname "$0")/boot.py" "$@"
