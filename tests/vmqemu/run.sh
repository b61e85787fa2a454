#!/bin/sh
# Lua test files against real QEMU guests through `provium`: every agent
# operation family, boot files, workers, console excerpts, a panicking
# kernel, QEMU SIGKILLed mid-test, and no QEMU left behind after a runner
# is SIGKILLed or the supervisor gets Ctrl-C.
set -eu
here=$(pwd)
t=$TMPDIR
fail() { echo "vmqemu: FAIL: $*" >&2; exit 1; }
if ! command -v qemu-system-x86_64 >/dev/null; then
	echo "vmqemu: qemu-system-x86_64 missing; run scripts/install-deps" >&2
	exit 1
fi
export PROVIUM_PSI_DIR="$t/nopsi"; mkdir -p "$PROVIUM_PSI_DIR"
events() { /usr/bin/python3 "$here/events.py" "$@"; }
qemus() { pgrep -f "$t/provium-qemu" || true; }

# 1. operation families, console excerpt, panic, QEMU kill
set +e
"$PROVIUM" -v --save-events "$t/ev1" ops.test.lua console.test.lua \
    panic.test.lua qemukill.test.lua >"$t/out1" 2>&1
rc=$?
set -e
[ "$rc" -eq 1 ] || { cat "$t/out1"; fail "run 1 exit $rc, want 1 (console.test.lua fails on purpose)"; }
grep -q '^PASS ops.test.lua (7 passed, 0 failed, 0 skipped)$' "$t/out1" || { cat "$t/out1"; fail "ops"; }
grep -q '^PASS panic.test.lua (1 passed' "$t/out1" || { cat "$t/out1"; fail "panic"; }
grep -q '^PASS qemukill.test.lua (2 passed' "$t/out1" || { cat "$t/out1"; fail "qemukill"; }
grep -q '^        | marker-from-the-guest-console' "$t/out1" || { cat "$t/out1"; fail "console excerpt not shown"; }
events "$t/ev1" console || fail "console excerpt event"
"$PROVIUM" events check "$t/ev1" >/dev/null || fail "events check run 1"
[ -z "$(qemus)" ] || fail "QEMU left after run 1: $(qemus)"

# 2. runner SIGKILLed with a VM up: crashed, paired events, no QEMU
set +e
"$PROVIUM" --save-events "$t/ev2" runnerkill.test.lua >"$t/out2" 2>&1
rc=$?
set -e
[ "$rc" -eq 1 ] || { cat "$t/out2"; fail "run 2 exit $rc"; }
grep -q 'runner crashed: killed by SIGKILL' "$t/out2" || { cat "$t/out2"; fail "crash cause"; }
"$PROVIUM" events check "$t/ev2" >/dev/null || fail "events check run 2"
sleep 0.5
[ -z "$(qemus)" ] || fail "QEMU left after the runner was SIGKILLed: $(qemus)"

# 3. Ctrl-C of the supervisor while a VM runs a command
rm -f "$t/sleeper-ready"
"$PROVIUM" --save-events "$t/ev3" sleeper.test.lua >"$t/out3" 2>&1 &
pid=$!
i=0; while [ ! -e "$t/sleeper-ready" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
[ -e "$t/sleeper-ready" ] || { kill -KILL $pid; fail "sleeper never got ready"; }
kill -INT $pid
set +e; wait $pid; rc=$?; set -e
[ "$rc" -eq 130 ] || { cat "$t/out3"; fail "Ctrl-C exit $rc, want 130"; }
"$PROVIUM" events check "$t/ev3" >/dev/null || fail "events check run 3"
sleep 0.5
[ -z "$(qemus)" ] || fail "QEMU left after Ctrl-C: $(qemus)"
[ -z "$(ls "$t/provium-qemu" 2>/dev/null | grep '^vm-' || true)" ] || \
    fail "scratch dirs left: $(ls "$t/provium-qemu")"
echo "vmqemu: ok"
