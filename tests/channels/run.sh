#!/bin/sh
# The output channels wired into `provium`: --coverage (report printed,
# scratch file removed, also on Ctrl-C), --junit (valid XML, atomic),
# --events-socket (a live client and a late one both get the whole run,
# the socket is removed at exit), and `provium events check` on the result.
set -eu
here=$(pwd)
t=$TMPDIR
fail() { echo "channels: FAIL: $*" >&2; exit 1; }
export PROVIUM_PSI_DIR="$t/nopsi"; mkdir -p "$PROVIUM_PSI_DIR"

# --coverage + --junit + --save-events in one run
set +e
TMPDIR=$t "$PROVIUM" --coverage --junit "$t/j.xml" --save-events "$t/ev.msgpack" \
    "$here/pass.test.lua" >"$t/out" 2>"$t/err"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "--coverage run exit $rc, want 1"
grep -q '^coverage by `spec`:$' "$t/out" || fail "no coverage report: $(cat "$t/out")"
grep -q '^  1.3: 1 tests (0 passed, 1 failed, 0 skipped)$' "$t/out" || fail "coverage bucket"
ls "$t" | grep -q provium-coverage && fail "coverage scratch file left behind"
/usr/bin/python3 - "$t/j.xml" <<'PY' || fail "junit"
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
assert r.tag == 'testsuites' and r.get('tests') == '2' and r.get('failures') == '1', r.attrib
cases = r.findall('./testsuite/testcase')
assert [c.get('name') for c in cases] == ['one', 'two']
assert cases[1].find('failure') is not None
PY
"$PROVIUM" events check "$t/ev.msgpack" >/dev/null || fail "events check on the saved run"

# coverage scratch file is removed on Ctrl-C too
TMPDIR=$t "$PROVIUM" --coverage "$here/slow.test.lua" >/dev/null 2>&1 &
pid=$!
sleep 0.7
ls "$t" | grep -q 'provium-coverage-.*\.msgpack' || fail "no coverage scratch file during the run"
kill -INT $pid
set +e; wait $pid; rc=$?; set -e
[ "$rc" -eq 130 ] || fail "interrupted --coverage run exit $rc, want 130"
ls "$t" | grep -q provium-coverage && fail "coverage scratch file left after SIGINT"

# events socket: one client from the start, one late, both see it all
sock=$t/sock/ev.sock
"$PROVIUM" --events-socket "$sock" "$here/slow.test.lua" "$here/pass.test.lua" \
    >/dev/null 2>&1 &
pid=$!
i=0; while [ ! -S "$sock" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
[ -S "$sock" ] || fail "socket never appeared"
[ "$(stat -c %a "$sock")" = 600 ] || fail "socket mode $(stat -c %a "$sock")"
"$PROVIUM_COVERAGE" --from-socket "$sock" --json >"$t/early.json" &
early=$!
sleep 1
"$PROVIUM_COVERAGE" --from-socket "$sock" --json >"$t/late.json"
wait $early
set +e; wait $pid; set -e
[ -e "$sock" ] && fail "socket file left at exit"
cmp -s "$t/early.json" "$t/late.json" || fail "early and late clients disagree"
/usr/bin/python3 - "$t/late.json" <<'PY' || fail "socket client report"
import json, sys
d = json.load(open(sys.argv[1]))
b = d['buckets']
assert b['2']['passed'] == 1 and b['1.3']['failed'] == 1, d
assert d.get('complete', True), d
PY
# a full disk under --save-events: the run completes, stderr names the
# first lost frame, and the exit status is 2 so CI cannot miss it
set +e
"$PROVIUM" --save-events /dev/full "$here/pass.test.lua" >"$t/out" 2>"$t/err"
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "--save-events to a full disk: exit $rc, want 2"
grep -q 'write failed at frame 0 (No space left on device); events from frame 0 on are lost' "$t/err" ||
	fail "full disk message: $(cat "$t/err")"
grep -q '^1 file(s); 1 passed, 1 failed' "$t/out" || fail "the run did not complete: $(cat "$t/out")"

echo "channels: ok"
