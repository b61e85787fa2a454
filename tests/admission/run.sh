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

# A pool with room for two runners and 60 files: the supervisor offers the
# pool a bounded window of files (SUP_ADMIT_WINDOW = 32), so no more than
# 32 files are ever blocked-but-not-dispatched; every file still runs, in
# input order, and each blocked file is dispatched later.
mkdir -p "$t/many"
i=0
while [ $i -lt 60 ]; do
    printf 'test("t", function(t) t:assert_eq(1, 1) end)\n' \
        >"$t/many/f$(printf %02d $i).test.lua"
    i=$((i + 1))
done
"$PROVIUM" --mem 100M --save-events "$t/ev2" "$t/many" >"$t/out2" 2>&1 ||
    { cat "$t/out2"; fail "60 files on a 2-runner pool: exit $?"; }
"$PROVIUM" events check "$t/ev2" >/dev/null || fail "events check (60 files)"
/usr/bin/python3 - "$t/ev2" <<'PY' || fail "admission window"
import struct, sys, msgpack
d = open(sys.argv[1], 'rb').read(); i = 0
blocked, dispatched, completed, peak, running, peak_run = set(), [], 0, 0, 0, 0
while i < len(d):
    n = struct.unpack('>I', d[i:i+4])[0]
    e = msgpack.unpackb(d[i+4:i+4+n], raw=False); i += 4 + n
    k, p = e['kind'], e['payload']
    if k == 'file_blocked' and p['reason'] == 'pool_full':
        blocked.add(p['path'])
        peak = max(peak, len(blocked))
    elif k == 'file_dispatched':
        blocked.discard(p['path'])
        dispatched.append(p['path'])
        running += 1
        peak_run = max(peak_run, running)
    elif k == 'file_completed':
        assert p['status'] == 'passed', e
        completed += 1
        running -= 1
assert completed == 60 and len(dispatched) == 60, (completed, len(dispatched))
assert dispatched == sorted(dispatched), "dispatch not in input order"
assert 1 <= peak <= 32, f"{peak} files blocked at once (window is 32)"
assert peak_run <= 2, f"{peak_run} runners at once on a 2-runner pool"
PY
echo "admission: ok"
