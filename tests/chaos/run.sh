#!/bin/sh
# Bounded chaos slice for `make check`: 8 iterations (the last one with real
# QEMU guests), each under its own seed; `make chaos` runs the full 200.
# A failure prints the seed and the replay command.
set -eu
: "${PROVIUM:?}" "${PROVIUM_AGENT:?}" "${TMPDIR:?}"
if ! command -v qemu-system-x86_64 >/dev/null; then
	echo "chaos: qemu-system-x86_64 missing; run scripts/install-deps" >&2
	exit 1
fi
exec /usr/bin/python3 ./chaos --iterations "${CHAOS_ITERATIONS:-8}" --qemu-every 8
