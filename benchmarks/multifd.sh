#!/bin/sh
# multifd and TLS migration figures on the test guest. See multifd.py.
exec python3 "$(dirname "$0")/multifd.py" "$@"
