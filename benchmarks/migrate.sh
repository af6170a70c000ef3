#!/bin/sh
# Live migration against QEMU on the test guest. See migrate.py.
exec python3 "$(dirname "$0")/migrate.py" "$@"
