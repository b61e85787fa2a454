#!/bin/sh
# CLI suite for issue 9: --fail-fast, --rerun-failed, --since, --shard,
# events merge, --watch (socket clients kept across runs), lsp-setup,
# console --print-command, repl, --help against docs/cli.md.
set -eu
cd "$(dirname "$0")"
exec /usr/bin/python3 check.py "$@"
