#!/bin/sh
# Static save/restore against QEMU on the test guest. See saverestore.py.
exec python3 "$(dirname "$0")/saverestore.py" "$@"
