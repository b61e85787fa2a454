#!/bin/sh
# Admission end to end: two files that each hold a VM and then ask for a
# second on a 2-CPU pool deadlock; exactly one request fails at once with
# the verdict (naming provium:claim), the other file then gets its VM,
# both files complete and the pool never over-commits.
set -eu
t=$TMPDIR
fail() { echo "admission: FAIL: $*" >&2; exit 1; }
export PROVIUM_PSI_DIR="$t/nopsi" ADMISSION_DIR="$t/flags"
mkdir -p "$PROVIUM_PSI_DIR" "$ADMISSION_DIR"
start=$(date +%s)
set +e
"$PROVIUM" --vmm local --cpus 2 --mem 4G --timeout 60 --save-events "$t/ev" \
    hold_a.test.lua hold_b.test.lua >"$t/out" 2>&1
rc=$?
set -e
[ "$rc" -eq 0 ] || { cat "$t/out"; fail "exit $rc"; }
[ $(( $(date +%s) - start )) -lt 30 ] || fail "the verdict was not immediate"
n_ref=$(ls "$ADMISSION_DIR" | grep -c '\.refused$' || true)
n_ok=$(ls "$ADMISSION_DIR" | grep -c '\.booted$' || true)
[ "$n_ref" -eq 1 ] && [ "$n_ok" -eq 1 ] || fail "want one refused and one booted: $(ls "$ADMISSION_DIR")"
grep -q "the pool is deadlocked: 2 files hold" "$ADMISSION_DIR"/*.refused || fail "verdict text: $(cat "$ADMISSION_DIR"/*.refused)"
grep -q "provium:claim" "$ADMISSION_DIR"/*.refused || fail "verdict must name provium:claim"
"$PROVIUM" events check "$t/ev" >/dev/null || fail "events check"
/usr/bin/python3 - "$t/ev" <<'PY' || fail "pool over-committed"
import struct, sys, msgpack
d = open(sys.argv[1], 'rb').read(); i = 0
total = None
while i < len(d):
    n = struct.unpack('>I', d[i:i+4])[0]
    e = msgpack.unpackb(d[i+4:i+4+n], raw=False); i += 4 + n
    if e['kind'] == 'pool_state':
        u, a = e['payload']['used'], e['payload']['available']
        assert u['cpus'] <= 2, e
        s = (u['cpus'] + a['cpus'], u['memory_bytes'] + a['memory_bytes'])
        assert total in (None, s), (total, s)
        total = s
PY
echo "admission: ok"
