#!/bin/sh
# The run's records on a failing disk (issue 8 item 5): --junit and
# --save-events to a full disk, a read-only one, a missing directory or a
# directory.  A path that cannot be written is refused before anything
# runs (exit 2, one line naming it); a write that fails at the end leaves
# the run complete (all results printed, the other records whole), says
# so in one line naming the path and the reason, and exits 2 -- also when
# tests failed, so a lost report never passes for a good one.  The full
# and read-only disks are tiny tmpfs mounts in a private mount namespace
# (tmpfs.sh; unshare -m as root, unshare -rm otherwise).
set -u
: "${PROVIUM:?run through scripts/run-suites}"
: "${TMPDIR:=/tmp}"
here=$(pwd)
w=$(mktemp -d "$TMPDIR/records.XXXXXX") || exit 1
trap 'rm -rf "$w"' EXIT
export PROVIUM_RERUN_STATE="$w/rerun.json"
mkdir -p "$w/t" "$w/adir"
fail=0
printf 'test("one", function(t) end)\ntest("two", function(t) end)\n' >"$w/t/pass.test.lua"
printf 'test("bad", function(t) t:assert_eq(1, 2) end)\n' >"$w/t/fail.test.lua"
cd "$w/t" || exit 1

FAIL() { echo "FAIL $*"; fail=1; }
same() { # what want-text file
	printf '%s\n' "$2" >"$w/want"
	diff -u "$w/want" "$3" >"$w/diff" || { FAIL "$1:"; cat "$w/diff"; }
}
rc_is() { [ "$2" -eq "$3" ] || FAIL "$1: exit $2, want $3"; }
events_ok() { # what file
	"$PROVIUM" events check "$2" >"$w/check" 2>&1 || { FAIL "$1: events check"; cat "$w/check"; }
	grep -q ', complete run$' "$w/check" || { FAIL "$1: run not complete"; cat "$w/check"; }
}
summary() { tail -n 1 "$1" | sed 's/; [0-9.]*s$//'; }

# (a) --junit to a full disk (/dev/full): the run completes, the events
# saved alongside are whole, one line names the path and reason, exit 2.
"$PROVIUM" --vmm local --junit /dev/full --save-events "$w/ev1" pass.test.lua \
	>"$w/out" 2>"$w/err"
rc_is full $? 2
same full-stderr "provium: --junit /dev/full: writing failed (No space left on device); the XML written there is incomplete; exit status 2" "$w/err"
summary "$w/out" >"$w/s"
same full-summary "1 file(s); 2 passed, 0 failed, 0 skipped" "$w/s"
events_ok full "$w/ev1"

# (c) failed tests + a lost JUnit file: exit 2 (documented), the failure
# is still printed, and --rerun-failed still learns which file failed.
"$PROVIUM" --vmm local --junit /dev/full pass.test.lua fail.test.lua \
	>"$w/out" 2>"$w/err"
rc_is failed+full $? 2
same failed+full-stderr "provium: --junit /dev/full: writing failed (No space left on device); the XML written there is incomplete; exit status 2" "$w/err"
grep -q '^FAIL fail.test.lua (0 passed, 1 failed, 0 skipped)$' "$w/out" ||
	{ FAIL "failed+full: the failure is not printed"; cat "$w/out"; }
summary "$w/out" >"$w/s"
same failed+full-summary "2 file(s); 2 passed, 1 failed, 0 skipped" "$w/s"
/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1])))' \
	"$PROVIUM_RERUN_STATE" >"$w/rr" 2>&1
same failed+full-rerun "['$w/t/fail.test.lua']" "$w/rr"
# the same failed run with a good --junit: exit 1, nothing on stderr
"$PROVIUM" --vmm local --junit "$w/j.xml" pass.test.lua fail.test.lua >/dev/null 2>"$w/err"
rc_is failed+junit $? 1
[ -s "$w/err" ] && { FAIL "failed+junit: stderr"; cat "$w/err"; }
ls "$w" | grep -q 'j\.xml\.tmp' && FAIL "failed+junit: temporary file left"

# (b) refused before anything runs: exit 2, one line naming the path,
# nothing on stdout, no events file created.
refused() { # what junit-path expected-stderr
	rm -f "$w/ev2"
	"$PROVIUM" --vmm local --junit "$2" --save-events "$w/ev2" pass.test.lua \
		>"$w/out" 2>"$w/err"
	rc_is "$1" $? 2
	same "$1-stderr" "$3" "$w/err"
	[ -s "$w/out" ] && { FAIL "$1: something ran:"; cat "$w/out"; }
	[ -e "$w/ev2" ] && FAIL "$1: the events file was created"
}
refused missing-dir "$w/nope/j.xml" "provium: --junit $w/nope/j.xml: directory $w/nope does not exist"
refused is-dir "$w/adir" "provium: --junit $w/adir: is a directory; give a file name"
refused not-a-dir "$w/t/pass.test.lua/j.xml" "provium: --junit $w/t/pass.test.lua/j.xml: directory $w/t/pass.test.lua does not exist"

# A device or pipe is written in place (no temporary file next to it).
"$PROVIUM" --vmm local --junit /dev/fd/3 pass.test.lua 3>"$w/fd3.xml" >/dev/null 2>"$w/err"
rc_is fd3 $? 0
/usr/bin/python3 - "$w/fd3.xml" <<'PY' || FAIL "fd3: XML"
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
assert r.get('tests') == '2' and r.get('failures') == '0', r.attrib
PY

# `provium events junit` from the saved events: exit 1 with a message.
"$PROVIUM" events junit "$w/ev1" /dev/full >"$w/out" 2>"$w/err"
rc_is events-junit-full $? 1
same events-junit-full "provium events junit: /dev/full: writing failed (No space left on device); the XML written there is incomplete" "$w/err"
"$PROVIUM" events junit "$w/ev1" "$w/adir" >"$w/out" 2>"$w/err"
rc_is events-junit-dir $? 1
same events-junit-dir "provium events junit: $w/adir: is a directory; give a file name" "$w/err"
"$PROVIUM" events junit "$w/ev1" "$w/nope/x.xml" >"$w/out" 2>"$w/err"
rc_is events-junit-missing $? 1
same events-junit-missing "provium events junit: $w/nope/x.xml: directory $w/nope does not exist" "$w/err"
"$PROVIUM" events junit "$w/ev1" "$w/ej.xml" >"$w/out" 2>"$w/err"
rc_is events-junit $? 0
[ -s "$w/ej.xml" ] || FAIL "events junit wrote nothing"

# A real full disk and a read-only one: tmpfs mounts nobody else sees.
if [ "$(id -u)" -eq 0 ]; then ns="unshare -m"; else ns="unshare -rm"; fi
if $ns true 2>/dev/null; then
	W=$w $ns sh "$here/tmpfs.sh" || fail=1
else
	echo "SKIP tmpfs cases: no mount namespace ($ns fails)"
fi

[ $fail -eq 0 ] && echo "records suite: ok"
exit $fail
