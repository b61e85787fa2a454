#!/bin/sh
# Faults (issue 8 item 5) through the real `provium`: broken test files and
# a corrupt provium.toml give clear errors naming the file, the other files
# are unaffected, the saved events pass `events check`, and the exit code
# says what happened.  Needs PROVIUM (scripts/run-suites sets it).
set -u
: "${PROVIUM:?run through scripts/run-suites}"
: "${TMPDIR:=/tmp}"
work=$(mktemp -d "$TMPDIR/faults.XXXXXX") || exit 1
trap 'chmod -R u+rwx "$work"; rm -rf "$work"' EXIT
fail=0
t=$work/tests
mkdir -p "$t/dir.test.lua"
cd "$t" || exit 1
printf 'test("ok", function(t) end)\n' >good.test.lua
# A directory named like a test file is a directory: its tests are found.
cp good.test.lua dir.test.lua/inner.test.lua
cp good.test.lua unreadable.test.lua
chmod 000 unreadable.test.lua
{ printf 'test("big", function(t) end)\n'
  head -c 10485760 /dev/zero | tr '\0' '-' | fold -w 99 | sed 's/^/-- /'; } >big.test.lua
printf 'test("a\\0b", function(t) end)\ntest("fine", function(t) end)\n' >nulname.test.lua
mkfifo fifo.test.lua    # not a regular file: never opened, never hangs

check() { # name expected-file actual-file
	if ! diff -u "$2" "$3"; then echo "FAIL $1 (above)"; fail=1; fi
}

timeout 120 "$PROVIUM" --vmm local --save-events "$work/ev.bin" . \
	>"$work/out" 2>"$work/err"
rc=$?
[ $rc -eq 1 ] || { echo "FAIL files: exit $rc, want 1"; cat "$work/err"; fail=1; }
sed 's/; [0-9.]*s$/; Ts/' "$work/out" >"$work/out.t"
cat >"$work/want" <<'OUT'
PASS big.test.lua (1 passed, 0 failed, 0 skipped)
PASS dir.test.lua/inner.test.lua (1 passed, 0 failed, 0 skipped)
PASS good.test.lua (1 passed, 0 failed, 0 skipped)
FAIL nulname.test.lua
  chunk_error: nulname.test.lua:1: test: name `a\0...` contains a NUL byte
FAIL unreadable.test.lua
  chunk_error: cannot open unreadable.test.lua: Permission denied

5 file(s); 3 passed, 0 failed, 0 skipped, 2 file(s) errored; Ts
OUT
check files "$work/want" "$work/out.t"
[ -s "$work/err" ] && { echo "FAIL files: stderr:"; cat "$work/err"; fail=1; }
"$PROVIUM" events check "$work/ev.bin" >"$work/check" 2>&1 ||
	{ echo "FAIL files: events check"; cat "$work/check"; fail=1; }
grep -q "complete run" "$work/check" ||
	{ echo "FAIL files: run not complete"; cat "$work/check"; fail=1; }

# A corrupt provium.toml: one line naming file and line, exit 2, no run.
rm -f fifo.test.lua
printf '[provium\nroots = 5\n' >provium.toml
"$PROVIUM" --vmm local . >"$work/out2" 2>"$work/err2"
rc=$?
[ $rc -eq 2 ] || { echo "FAIL toml: exit $rc, want 2"; fail=1; }
echo 'provium: provium.toml:1: bad table header: expected `]`' >"$work/want2"
check toml "$work/want2" "$work/err2"
[ -s "$work/out2" ] && { echo "FAIL toml: stdout:"; cat "$work/out2"; fail=1; }
printf 'a = "\377"\n' >provium.toml
"$PROVIUM" --vmm local . >/dev/null 2>"$work/err3"
echo 'provium: provium.toml:1: invalid UTF-8 (byte 0xFF); is this a text file?' >"$work/want3"
check toml-utf8 "$work/want3" "$work/err3"
rm provium.toml; mkdir provium.toml
"$PROVIUM" --vmm local . >/dev/null 2>"$work/err4"
echo 'provium: provium.toml: is a directory, not a TOML file (check --config)' >"$work/want4"
check toml-dir "$work/want4" "$work/err4"

# Chatty tests: 200 tests x 1 MiB of t:log.  The supervisor keeps 16 MiB
# of a file's logs for its report (RF_LOG_KEEP_MAX), then a marker, so its
# peak RSS stays flat (it grew by the full 200 MiB before).
mkdir "$work/flood" && cd "$work/flood" || exit 1
cat >flood.test.lua <<'LUA'
local kib = string.rep("x", 1000)
for i = 1, 200 do
  test("t" .. i, function(t) for j = 1, 1000 do t:log(kib) end end)
end
LUA
/usr/bin/time -f "%M" -o "$work/rss" "$PROVIUM" --vmm local --json . \
	>"$work/flood.json" 2>"$work/flood.err" ||
	{ echo "FAIL flood: provium failed"; cat "$work/flood.err"; fail=1; }
/usr/bin/python3 - "$work/flood.json" <<'PY' >"$work/flood.out"
import json, sys
t = json.loads(open(sys.argv[1]).readline())["tests"]
kept = [len(x["log"]) for x in t if len(x["log"]) == 1000]
print(len(t), "tests;", len(kept), "logs kept whole; last:", t[-1]["log"])
PY
cat >"$work/flood.want" <<'OUT'
200 tests; 16 logs kept whole; last: ["(log not kept: this file's logs passed 16 MiB)"]
OUT
check flood "$work/flood.want" "$work/flood.out"
rss=$(cat "$work/rss")
echo "flood: supervisor peak RSS ${rss} KiB for 200 MiB of t:log"
if [ "${SAN:-0}" = 0 ] && [ "$rss" -gt 131072 ]; then
	echo "FAIL flood: peak RSS ${rss} KiB over 128 MiB"; fail=1
fi

[ $fail -eq 0 ] && echo "faults suite: ok"
exit $fail
