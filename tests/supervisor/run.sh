#!/bin/sh
# Supervisor integration suite: discovery, dispatch, crash/timeout/Ctrl-C
# synthesis, protocol errors, renderers.  Logic lives in check.py (decodes
# the event stream with python's msgpack, independent of our codec).
set -eu
cd "$(dirname "$0")"
exec /usr/bin/python3 check.py "$@"
