#!/bin/sh
# Median time of each jhv start-up milestone (JHV_TRACE_STARTUP=1). See startup-trace.py.
exec python3 "$(dirname "$0")/startup-trace.py" "$@"
